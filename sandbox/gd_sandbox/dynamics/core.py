"""State every part of the F&O service shares: the store, number sequences, row completion and
the checks all entities make (company exists, required fields)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import seed
from .entities import EntityDef
from .odata import coerce_value, write_error
from .store import Store

ZERO = Decimal(0)


@dataclass
class Sequences:
    counters: dict[str, int] = field(default_factory=dict)

    def next(self, name: str, start: int) -> int:
        value = self.counters.get(name, start) + 1
        self.counters[name] = value
        return value


class ServiceCore:
    """The store, the number sequences and the company default every part of the service
    reads and writes."""

    def __init__(self, store: Store, *, page_size: int = 10000) -> None:
        self.store = store
        self.page_size = page_size
        self.default_company = seed.DEFAULT_COMPANY
        self._seq = Sequences()
        self._seq_lock = threading.Lock()
        self._defaults: dict[str, dict[str, Any]] = {}

    def complete_row(
        self, entity: EntityDef, partial: dict[str, Any], *, coerced: bool = False
    ) -> dict[str, Any]:
        defaults = self._defaults.get(entity.set_name)
        if defaults is None:
            defaults = {name: entity.default_for(name) for name in entity.fields}
            self._defaults[entity.set_name] = defaults
        row = dict(defaults)
        for name, value in partial.items():
            if value is not None:
                row[name] = value if coerced else coerce_value(entity, name, value)
        if entity.company_scoped:
            row["dataAreaId"] = str(row["dataAreaId"] or self.default_company).lower()
        return row

    def _next_free(  # noqa: PLR0917
        self,
        set_name: str,
        row: dict[str, Any],
        field_name: str,
        seq: str,
        fmt: str,
        start: int,
    ) -> str:
        with self._seq_lock:
            while True:
                candidate = fmt.format(self._seq.next(seq, start))
                if self.store.get(set_name, {**row, field_name: candidate}) is None:
                    return candidate

    def _lines_of(self, line_set: str, journal: dict[str, Any]) -> list[dict[str, Any]]:
        return self.store.journal_rows(
            line_set, journal["dataAreaId"], str(journal["JournalBatchNumber"])
        )

    def _header_for(self, line_set: str, line: dict[str, Any]) -> dict[str, Any] | None:
        return self.store.get(
            line_set.replace("Lines", "Headers"),
            {"dataAreaId": line["dataAreaId"], "JournalBatchNumber": line["JournalBatchNumber"]},
        )

    def _company_exists(self, company: str) -> bool:
        return self.store.get("LegalEntities", {"LegalEntityId": company}) is not None

    def _require(self, aot: str, row: dict[str, Any], *names: str) -> None:
        missing = [n for n in names if row.get(n) in (None, "")]
        if missing:
            raise write_error(aot, *(f"Error: Field '{n}' must be filled in." for n in missing))

    def _check_company(self, aot: str, company: str) -> None:
        if not self._company_exists(company):
            raise write_error(aot, f"Error: Company '{company}' does not exist.")
