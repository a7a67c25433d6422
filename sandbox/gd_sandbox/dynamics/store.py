"""In-memory tables with an undo log, so a ``$batch`` changeset can be rolled back as a unit."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .entities import ENTITY_DEFS, EntityDef
from .odata import key_tuple

Key = tuple[Any, ...]
_UndoEntry = tuple[str, Key, dict[str, Any] | None, int | None]


class Store:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tables: dict[str, dict[Key, dict[str, Any]]] = {name: {} for name in ENTITY_DEFS}
        self._versions: dict[tuple[str, Key], int] = {}
        self._next_recid = 5637144576
        self._undo: list[_UndoEntry] | None = None

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
            table = self.tables[set_name]
            if old_row is None:
                table.pop(key, None)
                self._versions.pop((set_name, key), None)
            else:
                table[key] = old_row
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

    def put(self, set_name: str, row: dict[str, Any]) -> None:
        key = self.key_of(set_name, row)
        with self.lock:
            self._record(set_name, key)
            self.tables[set_name][key] = row
            self._versions[(set_name, key)] = self._bump()

    def delete(self, set_name: str, values: dict[str, Any]) -> None:
        key = self.key_of(set_name, values)
        with self.lock:
            self._record(set_name, key)
            self.tables[set_name].pop(key, None)
            self._versions.pop((set_name, key), None)

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
