"""People: every decision the target made about a Gusto person in Dynamics (worker, employment,
vendor), kept so a run can say what changed and a person can see why."""

from __future__ import annotations

import sqlite3

from target_dynamics_fo.audit.base import Repository
from target_dynamics_fo.audit.codec import now as _now


class PeopleRepository(Repository):
    """Table ``people_decisions``."""

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
