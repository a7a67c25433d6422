"""Gusto webhook events: which ones start a run, and the ledger that dedupes deliveries.

Gusto delivers at least once, retries up to 16 times and out of order; nothing time-bound is
signed, so the event ``uuid`` is the only replay protection. The ledger is a SQLite file next to
the credential store so a restarted receiver still recognises earlier deliveries and picks up
events it accepted but never finished.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from gusto_dynamics.runner import KIND_PAYROLL, KIND_PEOPLE, is_uuid

# Events after which a payroll's journal has to be (re)posted or reversed. Earlier lifecycle
# events (created, calculated, submitted, processing_failed) describe payrolls that are not final.
# payroll.updated and payroll.deleted (reference notes: Gusto App Integrations event list) can
# concern a payroll already posted: the run corrects it (docs/accounting.md, "Corrections").
PAYROLL_EVENTS = frozenset(
    {
        "payroll.processed",
        "payroll.paid",
        "payroll.updated",
        "payroll.reversed",
        "payroll.partially_reversed",
        "payroll.cancelled",
        "payroll.deleted",
    }
)
# Events saying a payroll changed or went away: the run they start re-reads that payroll
# whatever tap-gusto's correction-window fingerprints say (TAP_GUSTO_REREAD_PAYROLL_UUIDS).
REREAD_EVENTS = frozenset(
    {
        "payroll.updated",
        "payroll.reversed",
        "payroll.partially_reversed",
        "payroll.cancelled",
        "payroll.deleted",
    }
)
# Contractor payments are money: they go through the payroll pipeline (which carries the
# contractor_payments stream), not the people sync.
PAYMENT_PREFIXES = ("contractor_payment.",)
PEOPLE_PREFIXES = ("employee.", "contractor.")


class EventError(ValueError):
    """A signed body that is not a usable Gusto event."""


@dataclass(frozen=True)
class Event:
    uuid: str
    event_type: str
    company_uuid: str
    entity_type: str | None
    entity_uuid: str | None
    timestamp: int | None


def parse_event(payload: Any) -> Event:
    if not isinstance(payload, dict):
        raise EventError("event body is not a JSON object")
    uuid = payload.get("uuid")
    if not is_uuid(uuid):
        raise EventError(f"event has no valid 'uuid' (got {uuid!r}); it cannot be deduplicated")
    event_type = payload.get("event_type")
    if not isinstance(event_type, str) or not event_type:
        raise EventError(f"event {uuid} has no 'event_type'")
    resource_type = payload.get("resource_type", "Company")
    company_uuid = payload.get("resource_uuid")
    if resource_type != "Company" or not is_uuid(company_uuid):
        raise EventError(
            f"event {uuid} ({event_type}) does not name a company "
            f"(resource_type={resource_type!r}, resource_uuid={company_uuid!r})"
        )
    timestamp = payload.get("timestamp")
    entity_uuid = payload.get("entity_uuid")
    entity_type = payload.get("entity_type")
    return Event(
        uuid=str(uuid),
        event_type=event_type,
        company_uuid=str(company_uuid),
        entity_type=entity_type if isinstance(entity_type, str) else None,
        entity_uuid=entity_uuid if isinstance(entity_uuid, str) else None,
        timestamp=timestamp if isinstance(timestamp, int) else None,
    )


def run_kind(event_type: str) -> str | None:
    """The run an event calls for, or None when it changes nothing the connector posts."""
    if event_type in PAYROLL_EVENTS or event_type.startswith(PAYMENT_PREFIXES):
        return KIND_PAYROLL
    if event_type.startswith(PEOPLE_PREFIXES):
        return KIND_PEOPLE
    return None


STATUS_IGNORED = "ignored"
STATUS_QUEUED = "queued"
STATUS_DONE = "done"
STATUS_FAILED = "failed"


class EventLedger:
    """Thread-safe SQLite record of every accepted event (no secrets, no payload beyond ids)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # Created owner-only before SQLite opens it: its -wal/-shm files copy these permissions.
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        path.chmod(0o600)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.execute(
            """CREATE TABLE IF NOT EXISTS webhook_events (
                 uuid TEXT PRIMARY KEY,
                 event_type TEXT NOT NULL,
                 company_uuid TEXT NOT NULL,
                 entity_type TEXT,
                 entity_uuid TEXT,
                 event_timestamp INTEGER,
                 subscription_uuid TEXT,
                 received_at TEXT NOT NULL,
                 deliveries INTEGER NOT NULL DEFAULT 1,
                 status TEXT NOT NULL,
                 run_kind TEXT,
                 finished_at TEXT,
                 outcome TEXT
               )"""
        )

    @contextmanager
    def _locked(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._conn

    def close(self) -> None:
        with self._locked() as conn:
            conn.close()

    def record(self, event: Event, subscription_uuid: str, kind: str | None) -> bool:
        """Store a first delivery; False (and a delivery count bump) for a duplicate."""
        now = datetime.now(UTC).isoformat()
        status = STATUS_QUEUED if kind is not None else STATUS_IGNORED
        with self._locked() as conn:
            cursor = conn.execute(
                """INSERT OR IGNORE INTO webhook_events
                   (uuid, event_type, company_uuid, entity_type, entity_uuid, event_timestamp,
                    subscription_uuid, received_at, status, run_kind)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    event.uuid,
                    event.event_type,
                    event.company_uuid,
                    event.entity_type,
                    event.entity_uuid,
                    event.timestamp,
                    subscription_uuid,
                    now,
                    status,
                    kind,
                ),
            )
            if cursor.rowcount == 1:
                return True
            conn.execute(
                "UPDATE webhook_events SET deliveries = deliveries + 1 WHERE uuid = ?",
                (event.uuid,),
            )
            return False

    def prune(self, keep_days: int = 90) -> int:
        """Forget finished events older than ``keep_days`` (Gusto stops retrying within days)."""
        cutoff = (datetime.now(UTC) - timedelta(days=keep_days)).isoformat()
        with self._locked() as conn:
            cursor = conn.execute(
                "DELETE FROM webhook_events WHERE received_at < ? AND status != ?",
                (cutoff, STATUS_QUEUED),
            )
            return int(cursor.rowcount)

    def finish(self, event_uuids: tuple[str, ...], ok: bool, outcome: str) -> None:
        now = datetime.now(UTC).isoformat()
        with self._locked() as conn:
            conn.executemany(
                "UPDATE webhook_events SET status = ?, finished_at = ?, outcome = ? WHERE uuid = ?",
                [(STATUS_DONE if ok else STATUS_FAILED, now, outcome, u) for u in event_uuids],
            )

    def unfinished(self) -> list[tuple[str, str, str]]:
        """(event uuid, company uuid, run kind) accepted but never finished, oldest first."""
        with self._locked() as conn:
            rows = conn.execute(
                "SELECT uuid, company_uuid, run_kind FROM webhook_events "
                "WHERE status = ? ORDER BY received_at",
                (STATUS_QUEUED,),
            ).fetchall()
        return [(str(a), str(b), str(c)) for a, b, c in rows]

    def payrolls_to_reread(self, company_uuid: str) -> list[str]:
        """Payrolls of a company that accepted, unfinished (or failed) update/cancel events name.

        Read when a run starts, so a run covers every such event that arrived before it; a
        failed run's events are still named by the retry.
        """
        kinds = sorted(REREAD_EVENTS)
        with self._locked() as conn:
            rows = conn.execute(
                "SELECT DISTINCT entity_uuid FROM webhook_events WHERE company_uuid = ? AND "  # noqa: S608 - placeholders only
                f"status IN (?, ?) AND event_type IN ({', '.join('?' * len(kinds))}) "
                "AND entity_uuid IS NOT NULL ORDER BY entity_uuid",
                (company_uuid, STATUS_QUEUED, STATUS_FAILED, *kinds),
            ).fetchall()
        return [str(r[0]) for r in rows if is_uuid(r[0])]

    def get(self, event_uuid: str) -> dict[str, Any] | None:
        with self._locked() as conn:
            cursor = conn.execute("SELECT * FROM webhook_events WHERE uuid = ?", (event_uuid,))
            row = cursor.fetchone()
            if row is None:
                return None
            names = [d[0] for d in cursor.description]
        return dict(zip(names, row, strict=True))

    def counts(self) -> dict[str, int]:
        with self._locked() as conn:
            rows = conn.execute(
                "SELECT status, COUNT(*) FROM webhook_events GROUP BY status"
            ).fetchall()
        return {str(status): int(n) for status, n in rows}
