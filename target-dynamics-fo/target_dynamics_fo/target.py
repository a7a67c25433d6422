"""target-dynamics-fo: Gusto payrolls -> F&O journals; people -> workers; contractors -> AP."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from types import FrameType
from typing import Any

from gd_vault.redact import run_cli
from singer_sdk import typing as th
from singer_sdk.exceptions import InvalidRecord, RecordsWithoutSchemaException
from singer_sdk.sinks import Sink
from singer_sdk.target_base import Target

from target_dynamics_fo.audit import DEFAULT_AUDIT_DB
from target_dynamics_fo.faults import hit
from target_dynamics_fo.fo import (
    DEFAULT_DEADLINE_SECONDS,
    DEFAULT_MAX_RETRIES,
    DynamicsAuthError,
    ODataError,
)
from target_dynamics_fo.gcpause import keep_start_up_out_of_gc
from target_dynamics_fo.interrupt import (
    STOP_SIGNALS,
    Progress,
    StopGate,
    exit_status,
    signal_name,
)
from target_dynamics_fo.ledger import dumps
from target_dynamics_fo.payables import PayablesSync
from target_dynamics_fo.reader import Callback, PayrollInputReader
from target_dynamics_fo.runtime import Runtime, SinkWork, StreamUse
from target_dynamics_fo.sinks import SINKS, IgnoredSink, TargetSink
from target_dynamics_fo.summary import Summary
from target_dynamics_fo.workers import PeopleSync

# Settings every SDK target gets that mean nothing to a journal poster: it never loads a table
# (load_method), adds no _sdc_ columns to Dynamics (add_record_metadata), and posts one payroll
# per document whatever the batch size (batch_size_rows). Dropped from --about and the schema.
NOT_APPLICABLE_SETTINGS = ("load_method", "add_record_metadata", "batch_size_rows")

# What can keep a stored payroll or payment from being settled now (Dynamics unreachable or
# refusing our credentials); anything else is a bug and stops the run as usual.
SETTLE_ERRORS = (ODataError, DynamicsAuthError)


LOGGER = logging.getLogger("target-dynamics-fo")


class RunNeedsAttentionError(Exception):
    """The run ended, everything that could be posted is posted and the STATE is written, but
    something needs a person (a refused payroll or payment, a worker or vendor not written, or
    only unused streams arrived). ``main`` turns it into exit status 1 with its message as the
    last line, so a scheduler alerts; a caller driving the target in process gets it raised."""


def _choice(name: str, values: Sequence[str], description: str) -> th.Property[str]:
    """A text setting that takes one of ``values``, the first by default."""
    return th.Property(
        name, th.StringType, default=values[0], allowed_values=list(values), description=description
    )


class TargetDynamicsFO(Target):
    """Posts Gusto payrolls to Dynamics 365 F&O as balanced journals, exactly once."""

    name = "target-dynamics-fo"
    package_name = "target-dynamics-fo"
    default_sink_class = IgnoredSink
    message_reader_class = PayrollInputReader
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
        th.Property(
            "stream_names",
            th.ObjectType(additional_properties=th.StringType),
            description="Incoming stream name -> the tap-gusto stream it carries, for taps or "
            'stream maps that name them otherwise, e.g. {"gusto_payrolls": "payrolls"}. '
            f"Streams this target uses: {', '.join(sorted(SINKS))}.",
        ),
        th.Property(
            "allow_only_unused_streams",
            th.BooleanType,
            default=False,
            description="End normally when every record belongs to a stream this target does "
            "not use. Off by default: such a run usually means misnamed streams "
            "(see stream_names), and it exits non-zero.",
        ),
        _choice(
            "corrections_approval",
            ("manual", "automatic"),
            "A payroll changed or cancelled in Gusto after it was posted: 'manual' "
            "stages its correction in the audit store for a person (list with "
            "`target-dynamics-fo-audit corrections`, approve with `... corrections approve "
            "<payroll uuid>`); 'automatic' posts it in the run that finds it.",
        ),
        _choice(
            "correction_date",
            ("check_date", "first_open_day"),
            "Date of correction journals: 'check_date' = the payroll's check date "
            "(Dynamics refuses it when that fiscal period is closed; the run says so); "
            "'first_open_day' = the check date if its period is open, else the first day of "
            "the first open period after it.",
        ),
    ).to_dict()

    @classmethod
    def append_builtin_config(cls, config_jsonschema: dict[str, Any]) -> None:
        # The SDK's documented way to drop built-in settings that do not apply.
        super().append_builtin_config(config_jsonschema)
        for name in NOT_APPLICABLE_SETTINGS:
            config_jsonschema["properties"].pop(name, None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = StopGate(self._stop)
        self.progress = Progress()
        self._state_written: dict[str, Any] | None = None
        # The latest STATE read; this target writes STATE itself (see on_state).
        self._state_received: dict[str, Any] | None = None
        if isinstance(self.message_reader, PayrollInputReader):
            self.message_reader.hooks = self
        self.streams = StreamUse()
        self._install_stop_handlers()
        self._settle_unfinished()

    @cached_property
    def runtime(self) -> Runtime:
        return Runtime(dict(self.config), self.gate)

    # -- stopping on SIGTERM / SIGINT (target_dynamics_fo.interrupt) ------------------------

    def _install_stop_handlers(self) -> None:
        # Installed over the SDK's own handler (which drains, prints the latest STATE and
        # exits 0): with the stdlib call, not by overriding the SDK's private method, so an
        # SDK upgrade cannot silently bring that behaviour back.
        if threading.current_thread() is not threading.main_thread():
            return
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_stop_signal)

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        self.logger.warning(
            "%s received: taking no more input; %s",
            signal_name(signum),
            "finishing the document in flight (a second signal abandons it)"
            if self.gate.in_document
            else "nothing is in flight",
        )
        self.gate.request(signum)

    def _stop(self, signum: int) -> None:
        """Write the STATE that covers only settled documents, log the summary, exit 128+n."""
        # A signal during the stop itself must not start a second one.
        for each in STOP_SIGNALS:
            signal.signal(each, signal.SIG_IGN)
        state = self.progress.safe_state()
        if state is not None and state != self._state_written:
            self._emit_state(state)
        waiting = self.progress.unsettled
        self.logger.warning(
            "Stopped by %s. The STATE written covers only payrolls and payments with a final "
            "outcome; %d received in this run have none yet: they stay in the audit store and "
            "the next run settles them first (looked up in Dynamics, posted at most once).",
            signal_name(signum),
            waiting,
        )
        runtime = self.runtime
        if runtime.started("processor"):
            runtime.processor.finish()
        if runtime.started("payables"):
            runtime.payables.finish()
        sys.stdout.flush()
        sys.stderr.flush()
        # SystemExit, deliberately: the stop runs on the main thread at a safe point (the gate
        # calls it between documents), and the status must be the shell's 128+n for the
        # signal. SystemExit is no Exception, so no `except Exception` on the way out (the
        # SDK's, run_cli's, ours) can swallow the stop or turn it into exit 1, while `finally`
        # blocks and context managers still run (the audit store closes); os._exit would skip
        # them, and re-raising the signal with the default handler would skip them too.
        sys.exit(exit_status(signum))

    # -- STATE: read by the reader hook, written by this target --------------------------------
    #
    # STATE messages are not handed to the SDK: it would write the latest one after every full
    # drain with stdlib json (which cannot write Decimal, meltano/sdk#3787) and through a private
    # method. This target writes the latest STATE that covers only settled documents
    # (interrupt.Progress) after each posted batch and at the end of input, inside a document so
    # a stop signal cannot cut the line in half, with kill points on both sides.

    def on_state(self, message: dict[str, Any], handle: Callback) -> None:
        value = message.get("value")
        if not isinstance(value, dict):
            handle(message)  # the SDK's own error for a malformed STATE message
            return
        if value != self._state_received:
            self._state_received = value
            self.progress.state(value)

    def checkpoint(self) -> None:
        """Write the newest safe STATE if it moved (called after each posted batch)."""
        state = self.progress.safe_state()
        if state is not None and state != self._state_written:
            with self.gate.document():
                self._emit_state(state)

    def _emit_state(self, state: dict[str, Any]) -> None:
        # What the STATE covers is in the audit store before the STATE is written.
        if self.runtime.started("audit"):
            self.runtime.audit.flush_deferred()
        hit("target.state.before")
        # Bookmarks keep their exact digits (stdlib json cannot write Decimal).
        sys.stdout.write(dumps(state, compact=False) + "\n")
        sys.stdout.flush()
        self._state_written = state
        hit("target.state.after")

    def on_record(self, message: dict[str, Any], handle: Callback) -> None:
        # The SDK's messages name the stream and field; add what the person running us can do.
        # The exception types stay the SDK's own (its standard target tests expect them).
        stream = message.get("stream")
        try:
            handle(message)
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

    # -- documents an earlier run left without an outcome -----------------------------------

    def _settle_unfinished(self) -> None:
        """Settle every payroll and payment stored by an earlier run with no final outcome.

        Each is looked up in Dynamics first (found: already posted) and otherwise posted once
        from the stored record, exactly as ``target-dynamics-fo-audit replay`` does. One that
        cannot be settled now stays marked and is listed by ``failures`` with its fix.
        """
        if not Path(self.config.get("audit_db") or DEFAULT_AUDIT_DB).exists():
            return
        runtime = self.runtime
        payrolls = runtime.audit.awaiting_payrolls()
        payments = runtime.audit.awaiting_payments()
        if not payrolls and not payments:
            return
        if runtime.dry_run:
            self.logger.warning(
                "%d payroll(s) and %d contractor payment(s) were stored by an earlier run "
                "without a final outcome; a dry run leaves them for the next real run.",
                len(payrolls),
                len(payments),
            )
            return
        self.logger.warning(
            "%d payroll(s) and %d contractor payment(s) were stored by an earlier run without "
            "a final outcome; settling them first (looked up in Dynamics, posted at most once).",
            len(payrolls),
            len(payments),
        )
        processor = runtime.processor
        for row in payrolls:
            uuid = str(row["payroll_uuid"])
            with self.gate.document():
                try:
                    processor.summary.resumed.append(processor.replay(uuid))
                except SETTLE_ERRORS as exc:
                    processor.summary.unsettled(uuid, str(exc))
        if payments:
            self._settle_payments(runtime, payments)

    def _settle_payments(self, runtime: Runtime, rows: list[Any]) -> None:
        payables = runtime.payables
        # Their vendors first: the earlier run may have stopped before creating them.
        for row in rows:
            contractor = runtime.audit.contractor(
                str(row["company_uuid"]), str(row["contractor_uuid"] or "")
            )
            if contractor is not None:
                payables.remember_contractor(contractor)
        payables.sync_vendors()
        for row in rows:
            uuid = str(row["payment_uuid"])
            with self.gate.document():
                try:
                    result = payables.replay(uuid)
                except SETTLE_ERRORS as exc:
                    payables.unsettled(uuid, str(exc))
                else:
                    payables.summary.bump(f"payments settled from an earlier run: {result.outcome}")

    def get_sink_class(self, stream_name: str) -> type[Sink]:
        return SINKS.get(self.stream_role(stream_name), IgnoredSink)

    def get_sink(
        self,
        stream_name: str,
        *,
        record: dict[str, Any] | None = None,
        schema: dict[str, Any] | None = None,
        key_properties: Sequence[str] | None = None,
    ) -> Sink:
        """The SDK's sink for the stream, handed its collaborators when it is new.

        Every sink the SDK creates passes through this public hook, so no sink reaches back
        into the target for what it works with.
        """
        sink = super().get_sink(
            stream_name, record=record, schema=schema, key_properties=key_properties
        )
        if isinstance(sink, TargetSink) and sink.unwired:
            sink.wire(self.sink_work)
        return sink

    @cached_property
    def sink_work(self) -> SinkWork:
        return SinkWork.of(self.runtime, self.progress, self.streams, self.checkpoint)

    def stream_role(self, stream_name: str) -> str:
        """Which tap-gusto stream ``stream_name`` carries (the stream_names setting)."""
        return str((self.config.get("stream_names") or {}).get(stream_name, stream_name))

    def _check_something_was_usable(self) -> None:
        """Records arrived, but none of a stream this target posts: say so, exit non-zero."""
        if self.config.get("allow_only_unused_streams"):
            return
        if self.streams.ignored and not self.streams.used:
            ignored = sorted(self.streams.ignored)
            raise RunNeedsAttentionError(
                f"Records arrived for {', '.join(ignored)} but for no stream this target posts "
                f"({', '.join(sorted(SINKS))}). If they carry tap-gusto's streams under other "
                "names, map them with the stream_names setting, e.g. "
                f'{{"{ignored[0]}": "payrolls"}}; nothing was posted.'
            )

    def process_endofpipe(self) -> None:
        """Drain (post) and write state, sync workers, log the summaries.

        A refused payroll or contractor payment, or a worker or vendor that could not be
        synchronised, raises :class:`RunNeedsAttentionError` after everything else was posted
        and the state written, so a scheduler alerts without losing the work that succeeded.
        """
        super().process_endofpipe()
        self.checkpoint()
        self._check_something_was_usable()
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
        summaries: list[Summary] = [runtime.processor.summary]
        syncs: list[PeopleSync | PayablesSync] = []
        if runtime.started("people"):
            syncs.append(runtime.people)
        if runtime.started("payables"):
            syncs.append(runtime.payables)
        for sync in syncs:
            sync.finish()
            summaries.append(sync.summary)
        failures = sum(summary.needing_attention for summary in summaries)
        if failures:
            raise RunNeedsAttentionError(
                f"{failures} payroll(s), people or payment(s) need attention; see "
                "`target-dynamics-fo-audit failures`."
            )


def main() -> None:
    """The target-dynamics-fo command: the SDK's command line, errors as one line."""
    run_cli("target-dynamics-fo", _cli)


def _cli() -> None:
    keep_start_up_out_of_gc()
    try:
        TargetDynamicsFO.cli()
    except RunNeedsAttentionError as exc:
        # An expected end, not a crash: the message as an error line, no traceback hint.
        LOGGER.error("%s", exc)
        sys.stdout.flush()
        sys.exit(1)


if __name__ == "__main__":
    main()
