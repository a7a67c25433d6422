"""target-dynamics-fo: Gusto payrolls -> F&O journals; people -> workers; contractors -> AP."""

from __future__ import annotations

import sys
from functools import cached_property
from typing import Any

from gd_vault.faultpoints import hit
from singer_sdk import typing as th
from singer_sdk.exceptions import InvalidRecord, RecordsWithoutSchemaException
from singer_sdk.sinks import Sink
from singer_sdk.target_base import Target

from target_dynamics_fo.audit import DEFAULT_AUDIT_DB, AuditStore
from target_dynamics_fo.client import DEFAULT_DEADLINE_SECONDS, DEFAULT_MAX_RETRIES
from target_dynamics_fo.mapping import load_mapping
from target_dynamics_fo.payables import PayablesSync
from target_dynamics_fo.people import PeopleSync
from target_dynamics_fo.processor import PayrollProcessor
from target_dynamics_fo.settings import build_client
from target_dynamics_fo.sinks import SINKS, IgnoredSink


class Runtime:
    """Mapping, audit store, Dynamics client and processor, created on first use."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    @cached_property
    def audit(self) -> AuditStore:
        return AuditStore(self.config.get("audit_db") or DEFAULT_AUDIT_DB)

    @cached_property
    def processor(self) -> PayrollProcessor:
        mapping = load_mapping(self.config["mapping_file"])
        client = build_client(self.config, self.audit)
        return PayrollProcessor(
            mapping,
            self.audit,
            client,
            dry_run=bool(self.config.get("dry_run")),
            dry_run_output=self.config.get("dry_run_output"),
        )

    @cached_property
    def people(self) -> PeopleSync:
        p = self.processor
        return PeopleSync(p.mapping, p.audit, p.client, lambda: p.reference, dry_run=p.dry_run)

    @cached_property
    def payables(self) -> PayablesSync:
        p = self.processor
        return PayablesSync(p.mapping, p.audit, p.client, lambda: p.reference, dry_run=p.dry_run)

    def started(self, name: str) -> bool:
        return name in self.__dict__


class TargetDynamicsFO(Target):
    name = "target-dynamics-fo"
    default_sink_class = IgnoredSink
    # One Dynamics user, one journal at a time: parallel drains would only earn 429s and make
    # the order of postings (and of the audit trail) unpredictable.
    max_parallelism = 1

    config_jsonschema = th.PropertiesList(
        th.Property(
            "environment_url",
            th.StringType,
            description="F&O environment URL, e.g. https://contoso.operations.dynamics.com "
            "(optional when in the credential store).",
        ),
        th.Property("tenant_id", th.StringType, description="Microsoft Entra tenant id or domain."),
        th.Property(
            "client_id", th.StringType, description="Entra application (client) id.", secret=True
        ),
        th.Property(
            "client_secret",
            th.StringType,
            secret=True,
            description="Entra client secret (prefer the credential store).",
        ),
        th.Property(
            "certificate_path",
            th.StringType,
            description="PEM file with the certificate and private key, instead of a secret.",
        ),
        th.Property(
            "certificate_thumbprint",
            th.StringType,
            description="SHA-1 thumbprint of that certificate.",
        ),
        th.Property(
            "authority_host",
            th.StringType,
            # No schema default: it would hide the authority host stored by `connect dynamics`.
            description="Entra authority host (default https://login.microsoftonline.com).",
        ),
        th.Property(
            "ca_bundle",
            th.StringType,
            description="Extra CA bundle to trust (the local sandbox's self-signed certificate).",
        ),
        th.Property(
            "credentials_store",
            th.StringType,
            description="Encrypted credential store holding the Dynamics credentials.",
        ),
        th.Property(
            "dynamics_environment",
            th.StringType,
            description="Name of the Dynamics environment in the credential store.",
        ),
        th.Property(
            "mapping_file",
            th.StringType,
            required=True,
            description="YAML mapping of Gusto companies and pay components to legal entities, "
            "main accounts and financial dimensions.",
        ),
        th.Property(
            "audit_db",
            th.StringType,
            default=DEFAULT_AUDIT_DB,
            description="SQLite audit trail (records, journals, requests, outcomes; for replay).",
        ),
        th.Property(
            "dry_run",
            th.BooleanType,
            default=False,
            description="Build and validate every journal against Dynamics, write CSV and a "
            "summary, post nothing.",
        ),
        th.Property(
            "dry_run_output",
            th.StringType,
            default="output/dry-run",
            description="Folder for the dry-run CSV and summary.",
        ),
        th.Property(
            "request_deadline_seconds",
            th.IntegerType,
            default=DEFAULT_DEADLINE_SECONDS,
            description="How long one Dynamics call may keep retrying (429, 5xx, dropped "
            "connections).",
        ),
        th.Property(
            "max_retries",
            th.IntegerType,
            default=DEFAULT_MAX_RETRIES,
            description="Most attempts for one Dynamics call.",
        ),
    ).to_dict()

    @cached_property
    def runtime(self) -> Runtime:
        return Runtime(dict(self.config))

    def _write_state_message(self, state: dict[str, Any]) -> None:
        hit("target.state.before")
        super()._write_state_message(state)
        hit("target.state.after")

    def _process_record_message(self, message_dict: dict[str, Any]) -> None:
        # The SDK's messages name the stream and field; add what the person running us can do.
        # The exception types stay the SDK's own (its standard target tests expect them).
        stream = message_dict.get("stream")
        try:
            super()._process_record_message(message_dict)
        except RecordsWithoutSchemaException as exc:
            raise RecordsWithoutSchemaException(
                f"{exc} Fix: the tap must send a SCHEMA message for stream {stream!r} before "
                "its records (this target expects the streams of tap-gusto, docs/CONTRACTS.md "
                "section 4). Payrolls already posted stay posted and are recognised on the rerun."
            ) from exc
        except InvalidRecord as exc:
            raise InvalidRecord(
                f"a {stream!r} record does not match its SCHEMA: {exc.error_message}. Fix: "
                "correct the tap's output (or its schema) for that stream and rerun; payrolls "
                "already posted stay posted and are recognised on the rerun.",
                exc.record,
            ) from exc

    def get_sink_class(self, stream_name: str) -> type[Sink]:
        return SINKS.get(stream_name, IgnoredSink)

    def process_endofpipe(self) -> None:
        """Drain (post) and write state, sync workers, log the summaries; exit 1 on a failure.

        A refused payroll or contractor payment, or a worker or vendor that could not be
        synchronised, exits 1 after everything else was posted and the state written, so a
        scheduler alerts without losing the work that succeeded.
        """
        super().process_endofpipe()
        runtime = self.runtime
        if not runtime.started("processor"):
            return
        # Full-table streams, so after the STATE: vendors of contractors without payments in
        # this run, then workers, once every payroll and payment of the run is in Dynamics.
        if runtime.started("payables"):
            runtime.payables.sync_vendors()
        if runtime.started("people"):
            runtime.people.sync_pending()
        runtime.processor.finish()
        failures = len(runtime.processor.summary.failures)
        syncs: list[PeopleSync | PayablesSync] = []
        if runtime.started("people"):
            syncs.append(runtime.people)
        if runtime.started("payables"):
            syncs.append(runtime.payables)
        for sync in syncs:
            sync.finish()
            failures += len(sync.summary.failures)
        if failures:
            self.logger.error(
                "%d payroll(s), people or payment(s) need attention; see "
                "`target-dynamics-fo-audit failures`.",
                failures,
            )
            sys.stdout.flush()
            sys.exit(1)


if __name__ == "__main__":
    TargetDynamicsFO.cli()
