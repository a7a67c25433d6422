"""tap-gusto: Gusto payroll, people and reference data as Singer streams."""

from __future__ import annotations

import datetime as dt
from contextvars import ContextVar
from functools import cached_property
from importlib.metadata import PackageNotFoundError, version
from typing import Any, ClassVar

from gd_vault.redact import run_cli
from singer_sdk import Tap
from singer_sdk import typing as th
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities, TapCapabilities
from singer_sdk.io_base import SingerWriter
from singer_sdk.singerlib import Message, StateMessage
from singer_sdk.streams import Stream

from tap_gusto.auth import CompanyConnection, ConnectionRegistry, resolve_api_url
from tap_gusto.client import DEFAULT_API_VERSION, MAX_PAGE_SIZE, GustoStream
from tap_gusto.dates import parse_date
from tap_gusto.errors import GustoAuthError, IncompleteExtractionError
from tap_gusto.faults import hit
from tap_gusto.limiter import RateLimiter
from tap_gusto.plain_store import PlainTokenStore
from tap_gusto.run_status import record_runs, status_path
from tap_gusto.streams import AUTO, DEFAULT_SPLIT_ABOVE, SPLIT, STREAM_TYPES, WHOLE
from tap_gusto.tokens import TokenManager, now_iso, resolve_app_credentials

DEFAULT_LOOKBACK_DAYS = 31
# Payrolls are amended or cancelled within weeks of their check date (docs/accounting.md).
DEFAULT_CORRECTION_WINDOW_DAYS = 60
DEFAULT_MAX_REQUESTS_PER_MINUTE = 190
try:
    # The one version source is the package metadata (setuptools-scm, from the git tag).
    VERSION = version("tap-gusto")
except PackageNotFoundError:  # pragma: no cover - running from a source tree never installed
    VERSION = "0.0.0"
STATUS_MESSAGE_LIMIT = 600
# The taps ``TapGusto.invoke`` builds (through the SDK's ``Tap.invoke``), to note their outcome.
_BUILT_BY_INVOKE: ContextVar[list[TapGusto] | None] = ContextVar("tap_gusto_invoked", default=None)


class KillPointWriter(SingerWriter):
    """The SDK's message writer with kill points on both sides of each STATE message.

    Plugged in through the public ``Tap.message_writer_class``; every message still goes out
    through the SDK's own serialisation.
    """

    def write_message(self, message: Message) -> None:
        if isinstance(message, StateMessage):
            hit("tap.state.before")
            super().write_message(message)
            hit("tap.state.after")
        else:
            super().write_message(message)


class TapGusto(Tap):
    """Singer tap for the Gusto API (one partition per connected company)."""

    name = "tap-gusto"
    package_name = "tap-gusto"
    message_writer_class = KillPointWriter
    # The SDK's defaults less BATCH (its files skip the target's per-record checks, and the
    # payroll stream's own paging is not batch-aware) and ACTIVATE_VERSION (the target never
    # deletes journals); --about then lists neither nor batch_config.
    capabilities: ClassVar[list[CapabilitiesEnum]] = [
        TapCapabilities.CATALOG,
        TapCapabilities.STATE,
        TapCapabilities.DISCOVER,
        PluginCapabilities.ABOUT,
        PluginCapabilities.STREAM_MAPS,
        PluginCapabilities.FLATTENING,
        PluginCapabilities.STRUCTURED_LOGGING,
    ]

    config_jsonschema = th.PropertiesList(
        th.Property(
            "api_url",
            th.StringType,
            description=(
                "Gusto API base URL: https://api.gusto.com (production), "
                "https://api.gusto-demo.com (demo) or a local sandbox. Default: the URL stored "
                "with each company in the credential store, else https://api.gusto.com."
            ),
        ),
        th.Property(
            "api_version",
            th.StringType,
            default=DEFAULT_API_VERSION,
            description="Value of the X-Gusto-API-Version header sent with every request.",
        ),
        th.Property(
            "client_id",
            th.StringType,
            secret=True,
            description=(
                "Gusto application client id, used to refresh tokens. Default: gusto.app "
                "in the credential store."
            ),
        ),
        th.Property(
            "client_secret",
            th.StringType,
            secret=True,
            description=(
                "Gusto application client secret. Default: gusto.app in the credential store."
            ),
        ),
        th.Property(
            "refresh_token",
            th.StringType,
            secret=True,
            description=(
                "Gusto OAuth refresh token of the one company in company_ids, when the "
                "encrypted credential store is not used (any secret manager can supply it). "
                "Single-use: the rotated token is written to refresh_token_path, which then "
                "wins over this value."
            ),
        ),
        th.Property(
            "refresh_token_path",
            th.StringType,
            description=(
                "File (JSON, mode 0600) that keeps the rotated refresh token and the current "
                "access token when the credential store is not used; written atomically before "
                "the new access token is first used, so a crash never loses the grant. Required "
                "with refresh_token. Keep it out of version control."
            ),
        ),
        th.Property(
            "credentials_store",
            th.StringType,
            description=(
                "Path of the encrypted credential store (gd_vault) holding one access/refresh "
                "token set per Gusto company, instead of refresh_token. Default: "
                "$GUSTO_DYNAMICS_VAULT, else ~/.gusto-dynamics/vault.enc. Its key comes from "
                "$GUSTO_DYNAMICS_VAULT_KEY or $GUSTO_DYNAMICS_VAULT_KEY_FILE, never from this "
                "config."
            ),
        ),
        th.Property(
            "status_file",
            th.StringType,
            description=(
                "Non-secret JSON file where each run's outcome per company is noted for "
                "`gusto-dynamics status`. Default: $GUSTO_DYNAMICS_STATUS_FILE, else "
                ".gusto-dynamics/run-status.json in the working directory."
            ),
        ),
        th.Property(
            "company_ids",
            th.ArrayType(th.StringType),
            description=(
                "Gusto company UUIDs to extract, one state partition each. Default: every "
                "company connected in the credential store."
            ),
        ),
        th.Property(
            "start_date",
            th.DateType,
            description=(
                "Earliest payroll check date read (also the earliest pay-period check date "
                "and contractor payment date). Applies to every run, first or incremental. "
                "Default: one year before Gusto's today."
            ),
        ),
        th.Property(
            "payroll_lookback_days",
            th.IntegerType(minimum=0),
            default=DEFAULT_LOOKBACK_DAYS,
            description=(
                "Days before the payroll bookmark that each run lists again, to catch "
                "payrolls processed late. Payrolls already emitted are not fetched again "
                "unless their totals changed (correction_window_days)."
            ),
        ),
        th.Property(
            "correction_window_days",
            th.IntegerType(minimum=0),
            default=DEFAULT_CORRECTION_WINDOW_DAYS,
            description=(
                "Payrolls paid in the last N days (by check date) are checked on every run "
                "for amendments and cancellations after they were emitted: their listed totals "
                "are compared with a fingerprint kept in the state; a changed payroll is read "
                "and emitted again, one no longer processed is emitted with cancelled: true. "
                "0 turns the check off."
            ),
        ),
        th.Property(
            "reread_payroll_uuids",
            th.ArrayType(th.StringType),
            description=(
                "Payroll UUIDs to read and emit again on this run whatever the correction "
                "window's fingerprints say (set by the webhook receiver for payroll.updated / "
                "payroll.cancelled / payroll.deleted events, as TAP_GUSTO_REREAD_PAYROLL_UUIDS)."
            ),
        ),
        th.Property(
            "employees_refresh",
            th.StringType(allowed_values=["daily", "always"]),
            default="daily",
            description=(
                "daily: read a company's employees on its first run, once per Gusto day, and "
                "before any payroll is emitted (an incremental run with nothing new then skips "
                "them); always: on every run. See docs/extraction.md."
            ),
        ),
        th.Property(
            "include_unprocessed",
            th.BooleanType,
            default=False,
            description=(
                "Also emit unprocessed (not yet final) payrolls, on every run. They never "
                "move the bookmark."
            ),
        ),
        th.Property(
            "payroll_record_shape",
            th.StringType(allowed_values=[WHOLE, SPLIT, AUTO]),
            default=WHOLE,
            description=(
                "whole: one payrolls record per payroll holding every employee compensation. "
                "split: each page of compensations is emitted as it is read, as "
                "payroll_compensations records (one per employee, with the read's fetch_id), "
                "then the payrolls record without them, with employee_compensations_count and "
                "fetch_id; memory no longer grows with head count. auto: whole for payrolls of "
                "at most payroll_split_above employees, split for larger ones. The target must "
                "support split before split or auto is used. See docs/extraction.md."
            ),
        ),
        th.Property(
            "payroll_split_above",
            th.IntegerType(minimum=0),
            default=DEFAULT_SPLIT_ABOVE,
            description=(
                "With payroll_record_shape auto: payrolls of more employee compensations than "
                "this are emitted split, smaller ones whole (memory is bounded by it)."
            ),
        ),
        th.Property(
            "page_size",
            th.IntegerType(minimum=1, maximum=MAX_PAGE_SIZE),
            default=MAX_PAGE_SIZE,
            description="Records per page (per); Gusto caps payroll endpoints at 100.",
        ),
        th.Property(
            "max_requests_per_minute",
            th.IntegerType(minimum=1),
            default=DEFAULT_MAX_REQUESTS_PER_MINUTE,
            description=(
                "Client-side limit per company grant over a sliding 60-second window, shared "
                "by all streams (Gusto allows 200 per rolling minute)."
            ),
        ),
        th.Property(
            "backoff_max_tries",
            th.IntegerType(minimum=1),
            default=5,
            description=(
                "Attempts per request on 5xx and dropped connections (exponential backoff) "
                "before the run fails. 429s do not count: see throttle_deadline_seconds."
            ),
        ),
        th.Property(
            "throttle_deadline_seconds",
            th.NumberType(minimum=0),
            default=150,
            description=(
                "Seconds of waiting on 429s (each exactly Retry-After, else X-RateLimit-Reset) "
                "one request may add up before the run fails; the default covers two of "
                "Gusto's 60-second windows."
            ),
        ),
        th.Property(
            "user_agent",
            th.StringType,
            description="User-Agent header. Default: tap-gusto/<installed version>.",
        ),
    ).to_dict()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # (HTTP status or None for connection errors, seconds waited) of every retry.
        self.retry_waits: list[tuple[int | None, float]] = []
        self.version_mismatch_logged = False
        # company uuid -> why its partition of a stream failed (the other companies go on).
        self.partition_failures: dict[str, str] = {}
        self.compensations_warned = False
        built = _BUILT_BY_INVOKE.get()
        if built is not None:
            built.append(self)

    @classmethod
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        """The SDK's sync from the command line, its outcome noted per company (``extract``).

        ``Tap.invoke`` builds the tap and runs ``sync_all``; the taps it builds are collected
        (``__init__``) so that the outcome is noted without changing the SDK's loop.
        """
        built: list[TapGusto] = []
        token = _BUILT_BY_INVOKE.set(built)
        try:
            super().invoke(*args, **kwargs)
        except Exception as exc:
            for tap in built:
                tap.note_outcome(exc)
            raise
        finally:
            _BUILT_BY_INVOKE.reset(token)
        for tap in built:
            tap.note_outcome(None)

    def extract(self) -> None:
        """``sync_all``, then the outcome noted as ``tap-gusto`` does (in-process runs)."""
        try:
            self.sync_all()
        except Exception as exc:
            self.note_outcome(exc)
            raise
        self.note_outcome(None)

    def note_outcome(self, error: Exception | None) -> None:
        """Note the run for `gusto-dynamics status`; a failed company partition fails the run."""
        if error is not None:
            self._record_run(
                ok=False, message=f"extraction failed: {type(error).__name__}: {error}"
            )
            return
        self._record_run(ok=True, message="extraction completed")
        if self.partition_failures:
            raise IncompleteExtractionError(
                "Extraction incomplete for "
                + "; ".join(
                    f"company {company}: {why}"
                    for company, why in sorted(self.partition_failures.items())
                )
            )

    def fail_partition(self, company: str, stream: str, message: str) -> None:
        """Stop one company's stream without stopping the others; the run then exits non-zero."""
        self.logger.error("Stream %s, company %s: %s", stream, company, message)
        self.partition_failures.setdefault(company, f"{stream}: {message}")

    def _record_run(self, *, ok: bool, message: str) -> None:
        """Note the run per company in the run-status file, for `gusto-dynamics status`."""
        if "connections" not in self.__dict__:
            return  # never reached Gusto (e.g. no company connected): nothing to record
        finished_at = now_iso()
        entries: dict[str, dict[str, Any]] = {}
        for company in self.company_ids:
            failure = self.partition_failures.get(company)
            entries[f"gusto:{company}"] = {
                "last_run_at": finished_at,
                "last_run_ok": ok and failure is None,
                # Long enough for the fix, which Gusto errors name last.
                "last_run_message": (f"extraction incomplete: {failure}" if failure else message)[
                    :STATUS_MESSAGE_LIMIT
                ],
            }
        path = status_path(self.config.get("status_file"))
        try:
            record_runs(path, entries)
        except Exception as exc:  # the extraction result matters more than this note
            self.logger.warning("Could not record the run in %s: %s", path, exc)

    def discover_streams(self) -> list[GustoStream]:
        return [stream_type(self) for stream_type in STREAM_TYPES]

    @property
    def streams(self) -> dict[str, Stream]:
        # The SDK sorts streams by name, which sends contractor_payments before contractors: a
        # target that creates a vendor from the contractors stream would then meet payments to
        # vendors it has not created yet. Sync in STREAM_TYPES order (reference data, people,
        # payrolls, contractors, their payments) instead.
        # Only the public property is overridden; the reordered mapping (same stream objects)
        # is cached here, rebuilt if the SDK's own mapping ever changes.
        loaded = super().streams
        cached = self.__dict__.get("_gusto_stream_order")
        if cached is not None and cached[0] is loaded and len(cached[1]) == len(loaded):
            ordered_cache: dict[str, Stream] = cached[1]
            return ordered_cache
        order: dict[type[Stream], int] = {kind: index for index, kind in enumerate(STREAM_TYPES)}
        ordered = sorted(loaded.values(), key=lambda s: order.get(type(s), len(order)))
        reordered = {stream.name: stream for stream in ordered}
        self.__dict__["_gusto_stream_order"] = (loaded, reordered)
        return reordered

    # -- settings helpers ------------------------------------------------------------

    def start_date(self) -> dt.date | None:
        """The configured earliest check date; None means one year before Gusto's today."""
        configured = self.config.get("start_date")
        return parse_date(str(configured), "start_date") if configured else None

    def payroll_lookback_days(self) -> int:
        value = self.config.get("payroll_lookback_days")
        return DEFAULT_LOOKBACK_DAYS if value is None else max(int(value), 0)

    def correction_window_days(self) -> int:
        value = self.config.get("correction_window_days")
        return DEFAULT_CORRECTION_WINDOW_DAYS if value is None else max(int(value), 0)

    def employees_refresh(self) -> str:
        return str(self.config.get("employees_refresh") or "daily")

    def payroll_record_shape(self) -> str:
        return str(self.config.get("payroll_record_shape") or WHOLE)

    def payroll_split_above(self) -> int:
        value = self.config.get("payroll_split_above")
        return DEFAULT_SPLIT_ABOVE if value is None else max(int(value), 0)

    def include_unprocessed(self) -> bool:
        return bool(self.config.get("include_unprocessed"))

    @property
    def user_agent(self) -> str:
        return str(self.config.get("user_agent") or f"tap-gusto/{VERSION}")

    # -- credentials and connections ------------------------------------------------------

    @property
    def uses_plain_settings(self) -> bool:
        """Tokens from settings + refresh_token_path instead of the encrypted store."""
        return bool(self.config.get("refresh_token") or self.config.get("refresh_token_path"))

    @cached_property
    def vault(self) -> Any:
        if self.uses_plain_settings:
            return self._plain_store()
        # Imported lazily: --about/--discover must work without a store or its key.
        from gd_vault import Vault  # noqa: PLC0415

        return Vault.open(self.config.get("credentials_store"))

    def _plain_store(self) -> PlainTokenStore:
        companies = [str(company) for company in self.config.get("company_ids") or []]
        if len(companies) != 1:
            raise GustoAuthError(
                "With refresh_token (no credential store) the tap reads one Gusto company: set "
                "company_ids to that company's UUID. For several companies use one tap per "
                "company (Meltano inherit_from) or the credential store."
            )
        path = self.config.get("refresh_token_path")
        if not path:
            # Without it the rotated token would exist only in memory: the next run would
            # present a spent token and the company would have to be reconnected.
            raise GustoAuthError(
                "refresh_token is set but refresh_token_path is not. Gusto rotates the refresh "
                "token on every refresh; set refresh_token_path to a file the tap may write "
                "(mode 0600, e.g. .gusto-dynamics/gusto-tokens.json) so the new token is kept."
            )
        return PlainTokenStore(path, companies[0], self.config.get("refresh_token"))

    @cached_property
    def company_ids(self) -> list[str]:
        configured = self.config.get("company_ids")
        if configured:
            return [str(company) for company in configured]
        if self.uses_plain_settings:
            raise GustoAuthError("refresh_token needs company_ids (the company it belongs to).")
        companies = self.vault.read().get("gusto", {}).get("companies", {}) or {}
        if not companies:
            raise GustoAuthError(
                f"No Gusto company is connected in the credential store {self.vault.path}. "
                "Connect one with `gusto-dynamics connect gusto` (or `tap-gusto-tokens "
                "import`), or list company_ids."
            )
        return sorted(companies)

    @cached_property
    def connections(self) -> ConnectionRegistry:
        data: Any = self.vault.read()
        app = resolve_app_credentials(
            data, self.config.get("client_id"), self.config.get("client_secret")
        )
        per_minute = int(
            self.config.get("max_requests_per_minute") or DEFAULT_MAX_REQUESTS_PER_MINUTE
        )

        def build(company_uuid: str) -> CompanyConnection:
            api_url = resolve_api_url(self.config.get("api_url"), data, company_uuid)
            tokens = TokenManager(
                self.vault, company_uuid, app, api_url, user_agent=self.user_agent
            )
            return CompanyConnection(company_uuid, api_url, tokens, RateLimiter(per_minute))

        return ConnectionRegistry(build)


def main() -> None:
    """The tap-gusto command: the SDK's command line, errors as one line (``run_cli``)."""
    run_cli("tap-gusto", TapGusto.cli)


if __name__ == "__main__":
    main()
