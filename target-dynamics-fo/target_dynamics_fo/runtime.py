"""What the target's sinks work with, created on first use, and handed to each sink explicitly.

The mapping, the audit store, the Dynamics client and the processors are built only when a
record needs them: a run whose streams are all unused never opens Dynamics, and a bad mapping
file is reported when a payroll arrives, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from target_dynamics_fo.audit import DEFAULT_AUDIT_DB, AuditStore
from target_dynamics_fo.interrupt import Progress, StopGate
from target_dynamics_fo.mapping import load_mapping
from target_dynamics_fo.payables import PayablesSync
from target_dynamics_fo.payrolls import CompensationIntake, PayrollProcessor
from target_dynamics_fo.settings import build_client, correction_policy
from target_dynamics_fo.workers import PeopleSync

SyncT = TypeVar("SyncT")


class Runtime:
    """Mapping, audit store, Dynamics client and processors, created on first use."""

    def __init__(self, config: dict[str, Any], gate: StopGate) -> None:
        self.config = config
        self.gate = gate

    @property
    def dry_run(self) -> bool:
        return bool(self.config.get("dry_run"))

    @cached_property
    def audit(self) -> AuditStore:
        return AuditStore(self.config.get("audit_db") or DEFAULT_AUDIT_DB)

    @cached_property
    def compensations(self) -> CompensationIntake:
        return CompensationIntake(self.audit)

    @cached_property
    def processor(self) -> PayrollProcessor:
        mapping = load_mapping(self.config["mapping_file"])
        client = build_client(self.config, self.audit)
        return PayrollProcessor(
            mapping,
            self.audit,
            client,
            dry_run=self.dry_run,
            dry_run_output=self.config.get("dry_run_output"),
            corrections=correction_policy(self.config),
        )

    @cached_property
    def people(self) -> PeopleSync:
        return self._sync(PeopleSync)

    @cached_property
    def payables(self) -> PayablesSync:
        return self._sync(PayablesSync)

    def _sync(self, make: Callable[..., SyncT]) -> SyncT:
        """A master-data sync sharing the processor's mapping, store, client and reference."""
        p = self.processor
        return make(
            p.mapping,
            p.audit,
            p.client,
            lambda: p.reference,
            dry_run=p.dry_run,
            # Each vendor or worker is one document for a stop signal.
            document=self.gate.document,
        )

    def started(self, name: str) -> bool:
        return name in self.__dict__


@dataclass
class StreamUse:
    """Streams whose records arrived, by whether this target uses them."""

    used: set[str] = field(default_factory=set)
    ignored: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class SinkWork:
    """A sink's collaborators, given to it by the target when the SDK creates it.

    The heavy ones are providers, called when a record needs them (see the module docstring).
    """

    audit: Callable[[], AuditStore]
    compensations: Callable[[], CompensationIntake]
    processor: Callable[[], PayrollProcessor]
    people: Callable[[], PeopleSync]
    payables: Callable[[], PayablesSync]
    dry_run: bool
    progress: Progress
    gate: StopGate
    streams: StreamUse
    # Writes the newest safe STATE after a posted batch (the target owns STATE).
    checkpoint: Callable[[], None]

    @classmethod
    def of(
        cls,
        runtime: Runtime,
        progress: Progress,
        streams: StreamUse,
        checkpoint: Callable[[], None],
    ) -> SinkWork:
        return cls(
            audit=lambda: runtime.audit,
            compensations=lambda: runtime.compensations,
            processor=lambda: runtime.processor,
            people=lambda: runtime.people,
            payables=lambda: runtime.payables,
            dry_run=runtime.dry_run,
            progress=progress,
            gate=runtime.gate,
            streams=streams,
            checkpoint=checkpoint,
        )
