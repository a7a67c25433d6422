"""In-memory tables with an undo log, so a ``$batch`` changeset can be rolled back as a unit."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from .entities import ENTITY_DEFS, EntityDef
from .odata import key_tuple

Key = tuple[Any, ...]
_UndoEntry = tuple[str, Key, dict[str, Any] | None, int | None]
# Journal line sets get a secondary index by (company, journal): payroll journals have thousands
# of lines and every line write recomputes its header's totals.
_LINE_SETS = ("LedgerJournalLines", "VendInvoiceJournalLines")
_JournalKey = tuple[str, str, str]


def _journal_key(set_name: str, row: dict[str, Any]) -> _JournalKey:
    return (set_name, str(row["dataAreaId"]), str(row["JournalBatchNumber"]).casefold())


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tables: dict[str, dict[Key, dict[str, Any]]] = {name: {} for name in ENTITY_DEFS}
        self._versions: dict[tuple[str, Key], int] = {}
        self._next_recid = 5637144576
        self._undo: list[_UndoEntry] | None = None
        self._by_journal: dict[_JournalKey, dict[Key, None]] = {}
        # Running balance per general-journal voucher (lines without an offset account), kept in
        # step by every put/delete/rollback so voucher allocation stays O(1) per line.
        self._voucher_balance: dict[tuple[str, str, str], Decimal] = {}

    # ---------------------------------------------------------------- transactions

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing scope; nested scopes join the outer one."""
        with self.lock:
            if self._undo is not None:
                yield
                return
            self._undo = []
            try:
                yield
            except BaseException:
                self._rollback()
                raise
            finally:
                self._undo = None

    def _rollback(self) -> None:
        assert self._undo is not None
        for set_name, key, old_row, old_version in reversed(self._undo):
            self._unindex(set_name, key)
            table = self.tables[set_name]
            if old_row is None:
                table.pop(key, None)
                self._versions.pop((set_name, key), None)
            else:
                table[key] = old_row
                self._index(set_name, key, old_row)
                if old_version is not None:
                    self._versions[(set_name, key)] = old_version

    def _record(self, set_name: str, key: Key) -> None:
        if self._undo is not None:
            old = self.tables[set_name].get(key)
            self._undo.append(
                (
                    set_name,
                    key,
                    dict(old) if old is not None else None,
                    self._versions.get((set_name, key)),
                )
            )

    # ---------------------------------------------------------------- rows

    def entity(self, set_name: str) -> EntityDef:
        return ENTITY_DEFS[set_name]

    def key_of(self, set_name: str, row: dict[str, Any]) -> Key:
        return key_tuple(ENTITY_DEFS[set_name], row)

    def get(self, set_name: str, values: dict[str, Any]) -> dict[str, Any] | None:
        return self.tables[set_name].get(self.key_of(set_name, values))

    def rows(self, set_name: str) -> list[dict[str, Any]]:
        return list(self.tables[set_name].values())

    def journal_rows(
        self, set_name: str, data_area_id: str, journal_batch_number: str
    ) -> list[dict[str, Any]]:
        """Rows of one journal of a line set, via the secondary index."""
        keys = self._by_journal.get((set_name, data_area_id, journal_batch_number.casefold()), {})
        table = self.tables[set_name]
        return [table[k] for k in keys]

    def put(self, set_name: str, row: dict[str, Any]) -> None:
        key = self.key_of(set_name, row)
        with self.lock:
            self._record(set_name, key)
            self._unindex(set_name, key)
            self.tables[set_name][key] = row
            self._index(set_name, key, row)
            self._versions[(set_name, key)] = self._bump()

    def delete(self, set_name: str, values: dict[str, Any]) -> None:
        key = self.key_of(set_name, values)
        with self.lock:
            self._record(set_name, key)
            self._unindex(set_name, key)
            self.tables[set_name].pop(key, None)
            self._versions.pop((set_name, key), None)

    def clear(self) -> None:
        with self.lock:
            for table in self.tables.values():
                table.clear()
            self._versions.clear()
            self._by_journal.clear()
            self._voucher_balance.clear()

    def voucher_balance(
        self, data_area_id: str, journal_batch_number: str, voucher: str
    ) -> Decimal:
        return self._voucher_balance.get(
            (data_area_id, journal_batch_number.casefold(), voucher), Decimal(0)
        )

    def _index(self, set_name: str, key: Key, row: dict[str, Any]) -> None:
        if set_name in _LINE_SETS:
            self._by_journal.setdefault(_journal_key(set_name, row), {})[key] = None
            if set_name == "LedgerJournalLines":
                self._add_to_voucher(row, 1)

    def _unindex(self, set_name: str, key: Key) -> None:
        if set_name in _LINE_SETS:
            old = self.tables[set_name].get(key)
            if old is not None:
                bucket = self._by_journal.get(_journal_key(set_name, old))
                if bucket is not None:
                    bucket.pop(key, None)
                if set_name == "LedgerJournalLines":
                    self._add_to_voucher(old, -1)

    def _add_to_voucher(self, row: dict[str, Any], sign: int) -> None:
        if row["OffsetAccountDisplayValue"]:
            return
        vkey = (str(row["dataAreaId"]), str(row["JournalBatchNumber"]).casefold(), row["Voucher"])
        amount = row["DebitAmount"] - row["CreditAmount"]
        self._voucher_balance[vkey] = self._voucher_balance.get(vkey, Decimal(0)) + sign * amount

    def next_recid(self) -> int:
        return self._bump()

    def _bump(self) -> int:
        self._next_recid += 1
        return self._next_recid

    def etag(self, set_name: str, row: dict[str, Any]) -> str:
        version = self._versions.get((set_name, self.key_of(set_name, row)), 0)
        raw = base64.b64encode(f"'1,{version}'".encode()).decode()
        return f'W/"{raw}"'

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        with self.lock:
            return {name: [dict(r) for r in t.values()] for name, t in self.tables.items()}
