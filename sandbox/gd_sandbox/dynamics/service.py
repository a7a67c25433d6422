"""F&O business behaviour behind the OData routes: reads with query options, writes with
company scoping, key assignment and the per-entity validation of ``journals`` and ``parties``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import seed
from .core import ZERO, Sequences
from .entities import ENTITY_DEFS, NAMESPACE, EntityDef
from .journals import JournalRules
from .odata import ODataError, coerce_value, key_predicate, write_error
from .parties import PartyRules
from .posting import JournalPosting
from .query import compile_filter, order_rows, project, select_fields
from .store import Store

_QUERY_OPTIONS = {"$filter", "$select", "$top", "$skip", "$count", "$orderby", "$format"}


@dataclass
class QueryResult:
    rows: list[dict[str, Any]]
    count: int | None
    next_skip: int | None
    next_top: int | None


class FnoService(JournalRules, JournalPosting, PartyRules):
    """The F&O service. Each base is one job (set-up and account checks, journals, posting,
    parties) over one shared ``ServiceCore``; ``create``/``update`` find an entity's checks
    as ``_validate_<EntitySet>`` on whichever base defines them."""

    def __init__(self, store: Store, *, page_size: int = 10000) -> None:
        super().__init__(store, page_size=page_size)
        self.reseed()

    def reseed(self) -> None:
        with self.store.lock:
            self.store.clear()
            self._seq = Sequences()
            for set_name, rows in seed.seed_rows().items():
                entity = ENTITY_DEFS[set_name]
                for partial in rows:
                    self.store.put(set_name, self.complete_row(entity, partial))

    def parse_body(
        self, entity: EntityDef, body: Any, *, quoted_decimals: bool = False
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ODataError(400, "The request body must be a JSON object.")
        values: dict[str, Any] = {}
        for name, value in body.items():
            if name.startswith("@odata."):
                continue
            if name not in entity.fields:
                raise ODataError(
                    400,
                    f"The property '{name}' does not exist on type "
                    f"'{NAMESPACE}.{entity.type_name}'. Make sure to only use property names "
                    "that are defined by the type.",
                )
            values[name] = coerce_value(entity, name, value, from_json=not quoted_decimals)
        return values

    def visible(self, entity: EntityDef, row: dict[str, Any], cross_company: bool) -> bool:
        if not entity.company_scoped or cross_company:
            return True
        return bool(row["dataAreaId"] == self.default_company)

    # ---------------------------------------------------------------- reads

    def query(
        self, set_name: str, params: dict[str, str], *, page_size: int | None = None
    ) -> QueryResult:
        entity = ENTITY_DEFS[set_name]
        unknown = [k for k in params if k.startswith("$") and k not in _QUERY_OPTIONS]
        if unknown:
            raise ODataError(
                400,
                f"The query option(s) {', '.join(unknown)} are not supported on '{set_name}' "
                f"(supported: {', '.join(sorted(_QUERY_OPTIONS))}; entities here have no "
                "navigation properties to $expand).",
            )
        cross = params.get("cross-company", "").lower() == "true"
        predicate = compile_filter(entity, params["$filter"]) if params.get("$filter") else None
        names = select_fields(entity, params.get("$select"))
        try:
            top = int(params["$top"]) if "$top" in params else None
            skip = int(params.get("$skip", "0"))
        except ValueError as exc:
            raise ODataError(400, "$top and $skip must be non-negative integers.") from exc
        if (top is not None and top < 0) or skip < 0:
            raise ODataError(400, "$top and $skip must be non-negative integers.")
        with self.store.lock:
            rows = [
                r
                for r in self.store.rows(set_name)
                if self.visible(entity, r, cross) and (predicate is None or predicate(r))
            ]
            if params.get("$orderby"):
                rows = order_rows(entity, rows, params["$orderby"])
            total = len(rows)
            window = rows[skip:]
            if top is not None:
                window = window[:top]
            page = window[: self.page_size if page_size is None else page_size]
            more = len(window) > len(page)
            out = [self._decorate(set_name, r, names) for r in page]
        count = total if params.get("$count", "").lower() == "true" else None
        next_skip = skip + len(page) if more else None
        next_top = (top - len(page)) if (more and top is not None) else None
        return QueryResult(out, count, next_skip, next_top)

    def count(self, set_name: str, params: dict[str, str]) -> int:
        stripped = {k: v for k, v in params.items() if k not in ("$top", "$skip", "$select")}
        stripped["$count"] = "true"
        result = self.query(set_name, stripped, page_size=0)
        assert result.count is not None
        return result.count

    def get(self, set_name: str, keys: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        entity = ENTITY_DEFS[set_name]
        cross = params.get("cross-company", "").lower() == "true"
        names = select_fields(entity, params.get("$select"))
        with self.store.lock:
            row = self.store.get(set_name, keys)
            if row is None or not self.visible(entity, row, cross):
                raise ODataError(
                    404,
                    f"Resource not found for the segment '{set_name}'.",
                )
            return self._decorate(set_name, row, names)

    def _decorate(
        self, set_name: str, row: dict[str, Any], names: list[str] | None
    ) -> dict[str, Any]:
        return {"@odata.etag": self.store.etag(set_name, row), **project(row, names)}

    def etag(self, set_name: str, row: dict[str, Any]) -> str:
        return self.store.etag(set_name, row)

    def location(self, set_name: str, row: dict[str, Any]) -> str:
        return f"{set_name}({key_predicate(ENTITY_DEFS[set_name], row)})"

    # ---------------------------------------------------------------- writes

    def create(self, set_name: str, body: Any, *, quoted_decimals: bool = False) -> dict[str, Any]:
        entity = ENTITY_DEFS[set_name]
        self._writable(entity)
        values = self.parse_body(entity, body, quoted_decimals=quoted_decimals)
        with self.store.transaction():
            row = self.complete_row(entity, values, coerced=True)
            self._assign_keys(entity, row, values)
            if entity.company_scoped:
                self._check_company(entity.aot_name, row["dataAreaId"])
            if self.store.get(set_name, row) is not None:
                raise write_error(entity.aot_name, *self._duplicate_infolog(entity, row))
            validator = getattr(self, f"_validate_{set_name}", None)
            if validator is not None:
                validator(row, None, values)
            self.store.put(set_name, row)
            self._after_write(set_name, row, None)
            return row

    def update(
        self,
        set_name: str,
        keys: dict[str, Any],
        body: Any,
        if_match: str | None,
        *,
        quoted_decimals: bool = False,
    ) -> dict[str, Any]:
        entity = ENTITY_DEFS[set_name]
        self._writable(entity)
        values = self.parse_body(entity, body, quoted_decimals=quoted_decimals)
        with self.store.transaction():
            old = self.store.get(set_name, keys)
            if old is None:
                raise ODataError(400, "No resources were found when selecting for update.")
            if if_match and if_match != "*" and if_match != self.store.etag(set_name, old):
                raise ODataError(
                    412,
                    "The ETag value in the request header does not match the current ETag "
                    "value of the object.",
                )
            rekey = self._key_change(entity, old, values)
            row = {**old, **values}
            validator = getattr(self, f"_validate_{set_name}", None)
            if validator is not None:
                validator(row, old, values)
            if rekey:
                self.store.delete(set_name, old)
                if self.store.get(set_name, row) is not None:
                    raise write_error(entity.aot_name, *self._duplicate_infolog(entity, row))
            self.store.put(set_name, row)
            self._after_write(set_name, row, old)
            return row

    def delete(self, set_name: str, keys: dict[str, Any]) -> None:
        entity = ENTITY_DEFS[set_name]
        self._writable(entity)
        with self.store.transaction():
            old = self.store.get(set_name, keys)
            if old is None:
                raise ODataError(404, f"Resource not found for the segment '{set_name}'.")
            if set_name in ("LedgerJournalHeaders", "VendInvoiceJournalHeaders"):
                if old["IsPosted"] == "Yes":
                    raise write_error(
                        entity.aot_name,
                        f"Error: Journal {old['JournalBatchNumber']} has been posted and "
                        "cannot be deleted.",
                    )
                line_set = set_name.replace("Headers", "Lines")
                for line in self._lines_of(line_set, old):
                    self.store.delete(line_set, line)
            if set_name in ("LedgerJournalLines", "VendInvoiceJournalLines"):
                header = self._header_for(set_name, old)
                if header is not None and header["IsPosted"] == "Yes":
                    raise write_error(
                        entity.aot_name,
                        f"Error: Journal {old['JournalBatchNumber']} has been posted and "
                        "cannot be changed.",
                    )
            self.store.delete(set_name, old)
            self._after_write(set_name, None, old)

    def _writable(self, entity: EntityDef) -> None:
        if entity.read_only:
            raise ODataError(
                405,
                f"The entity set '{entity.set_name}' is read-only: posted ledger entries "
                "cannot be created, changed or deleted. Correct them with a new journal.",
            )

    def _key_change(self, entity: EntityDef, old: dict[str, Any], values: dict[str, Any]) -> bool:
        changed = [
            k
            for k in entity.keys
            if k in values
            and self.store.key_of(entity.set_name, {**old, k: values[k]})
            != self.store.key_of(entity.set_name, old)
        ]
        if not changed:
            return False
        # Employments are date-effective: ending an employment = moving its end date, which F&O
        # exposes as part of the key. The sandbox allows exactly that change (see README).
        if entity.set_name == "Employments" and changed == ["EmploymentEndDate"]:
            return True
        raise ODataError(
            400,
            f"Key properties cannot be changed with PATCH ({', '.join(changed)}). "
            "Delete and re-create the record instead.",
        )

    @staticmethod
    def _duplicate_infolog(entity: EntityDef, row: dict[str, Any]) -> tuple[str, ...]:
        keys = ", ".join(str(row[k]) for k in entity.keys if k != "dataAreaId")
        return (
            f"Info: Cannot create a record in {entity.type_name} ({entity.aot_name}). "
            f"{entity.type_name}: {keys}.\nThe record already exists.",
        )

    def _assign_keys(self, entity: EntityDef, row: dict[str, Any], given: dict[str, Any]) -> None:
        name = entity.set_name
        if name in ("LedgerJournalHeaders", "VendInvoiceJournalHeaders") and not given.get(
            "JournalBatchNumber"
        ):
            row["JournalBatchNumber"] = self._next_free(
                name, row, "JournalBatchNumber", f"jbn:{row['dataAreaId']}", "{:05d}", 600
            )
        elif name in ("LedgerJournalLines", "VendInvoiceJournalLines") and not given.get(
            "LineNumber"
        ):
            numbers = [r["LineNumber"] for r in self._lines_of(name, row)]
            row["LineNumber"] = max(numbers, default=ZERO) + 1
        elif name == "VendorsV2" and not given.get("VendorAccountNumber"):
            row["VendorAccountNumber"] = self._next_free(
                name, row, "VendorAccountNumber", f"vend:{row['dataAreaId']}", "V{:05d}", 1
            )
        elif name == "Workers" and not given.get("PersonnelNumber"):
            row["PersonnelNumber"] = self._next_free(
                name, row, "PersonnelNumber", "worker", "{:06d}", 200
            )

    def _after_write(
        self, set_name: str, new: dict[str, Any] | None, old: dict[str, Any] | None
    ) -> None:
        row = new if new is not None else old
        assert row is not None
        if set_name == "Employments":
            self._update_worker_status(row)
        if set_name == "LedgerJournalLines":
            self._update_journal_totals(set_name, new, old)
