"""People: every decision the target made about a Gusto person in Dynamics (worker, employment,
vendor), kept so a run can say what changed and a person can see why.

Also the run's scratch space for master data, so that memory does not grow with head count: the
records queued for synchronisation and the run's copy of what Dynamics holds live in TEMP tables
of the store's connection (SQLite keeps them in a temporary file of their own, never in the
audit file, and drops them when the connection closes), not in lists and dicts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from itertools import islice

from target_dynamics_fo.audit.base import Repository
from target_dynamics_fo.audit.codec import now as _now

# Rows written per statement when the scratch tables are filled from a stream.
SCRATCH_BATCH = 1000
_SCRATCH_TABLES = (
    "CREATE TEMP TABLE IF NOT EXISTS master_queue "
    "(id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, record_json TEXT NOT NULL)",
    "CREATE TEMP TABLE IF NOT EXISTS master_held "
    "(kind TEXT NOT NULL, key TEXT NOT NULL, row_json TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS temp.master_held_key ON master_held(kind, key)",
)


class PeopleRepository(Repository):
    """Table ``people_decisions``, and the TEMP tables ``master_queue`` and ``master_held``."""

    _scratch_ready = False

    def record_people_decision(  # noqa: PLR0917 - one column each
        self,
        company_uuid: str,
        kind: str,
        gusto_uuid: str,
        dynamics_key: str,
        legal_entity: str | None,
        action: str,
        outcome: str,
        detail: str | None = None,
        fix: str | None = None,
    ) -> None:
        self._insert(
            "people_decisions",
            {
                "at": _now(),
                "company_uuid": company_uuid,
                "kind": kind,
                "gusto_uuid": gusto_uuid,
                "dynamics_key": dynamics_key,
                "legal_entity": legal_entity,
                "action": action,
                "outcome": outcome,
                "detail": detail,
                "fix": fix,
            },
        )

    def people_decisions(self, kind: str | None = None) -> list[sqlite3.Row]:
        if kind is None:
            return self._rows("SELECT * FROM people_decisions ORDER BY id")
        return self._rows("SELECT * FROM people_decisions WHERE kind=? ORDER BY id", (kind,))

    def latest_people_decisions(self, kind: str) -> list[sqlite3.Row]:
        """The last decision about each Gusto person of one kind (worker, employment, vendor)."""
        return self._rows(
            "SELECT d.* FROM people_decisions d JOIN (SELECT gusto_uuid, dynamics_key, "
            "MAX(id) AS id FROM people_decisions WHERE kind=? AND outcome != 'unchanged' "
            "GROUP BY gusto_uuid, "
            "dynamics_key) last ON d.id = last.id ORDER BY d.company_uuid, d.dynamics_key",
            (kind,),
        )

    # -- the run's scratch space (TEMP tables) ------------------------------------------

    def _scratch(self) -> sqlite3.Connection:
        if not self._scratch_ready:
            with self._tx() as db:
                for statement in _SCRATCH_TABLES:
                    db.execute(statement)
            self._scratch_ready = True
        return self._db

    def queue_master_records(self, kind: str, texts: Sequence[str]) -> None:
        """Append records (their JSON) to the queue of ``kind`` ("workers and employments")."""
        self._scratch()
        with self._tx() as db:
            db.executemany(
                "INSERT INTO master_queue (kind, record_json) VALUES (?, ?)",
                [(kind, text) for text in texts],
            )

    def master_queue_end(self, kind: str) -> int:
        """The id of the last record queued for ``kind`` (0: none)."""
        self._scratch()
        rows = self._rows("SELECT MAX(id) FROM master_queue WHERE kind=?", (kind,))
        return int(rows[0][0] or 0)

    def queued_master_records(
        self, kind: str, after: int, upto: int, limit: int
    ) -> list[tuple[int, str]]:
        """Up to ``limit`` queued records of ``kind`` with ids in (after, upto], in order."""
        self._scratch()
        rows = self._rows(
            "SELECT id, record_json FROM master_queue WHERE kind=? AND id>? AND id<=? "
            "ORDER BY id LIMIT ?",
            (kind, after, upto, limit),
        )
        return [(int(row[0]), str(row[1])) for row in rows]

    def unqueue_master_records(self, kind: str, upto: int) -> None:
        """Forget the queued records of ``kind`` up to id ``upto``."""
        self._scratch()
        with self._tx() as db:
            db.execute("DELETE FROM master_queue WHERE kind=? AND id<=?", (kind, upto))

    def hold_master_rows(self, kind: str, rows: Iterable[tuple[str, str]]) -> None:
        """Add (key, row JSON) pairs to the run's copy of Dynamics, consuming ``rows`` in
        batches so a stream of any length is never held whole."""
        self._scratch()
        it = iter(rows)
        while batch := list(islice(it, SCRATCH_BATCH)):
            with self._tx() as db:
                db.executemany(
                    "INSERT INTO master_held (kind, key, row_json) VALUES (?, ?, ?)",
                    [(kind, key, text) for key, text in batch],
                )

    def held_master_rows(self, kind: str, key: str) -> list[str]:
        """The rows held under ``key``, in the order they were added."""
        self._scratch()
        rows = self._rows(
            "SELECT row_json FROM master_held WHERE kind=? AND key=? ORDER BY rowid",
            (kind, key),
        )
        return [str(row[0]) for row in rows]

    def replace_master_rows(self, kind: str, key: str, texts: Sequence[str]) -> None:
        """What Dynamics holds under ``key`` is now ``texts`` (none: nothing)."""
        self._scratch()
        with self._tx() as db:
            db.execute("DELETE FROM master_held WHERE kind=? AND key=?", (kind, key))
            db.executemany(
                "INSERT INTO master_held (kind, key, row_json) VALUES (?, ?, ?)",
                [(kind, key, text) for text in texts],
            )

    def drop_master_rows(self, kind: str) -> None:
        """Forget the run's copy of Dynamics for ``kind``."""
        self._scratch()
        with self._tx() as db:
            db.execute("DELETE FROM master_held WHERE kind=?", (kind,))
