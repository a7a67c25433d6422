"""`status`: what is connected, from the store alone, without ever showing a secret.

The store's ``status`` section is free-form per component. Keys this command understands:
``gusto:<company_uuid>`` and ``dynamics:<environment name>`` (fields such as ``last_run_at``,
``last_run_ok``, ``last_run_message``, ``last_check_at``, ``last_check_ok``,
``last_check_message``); every other entry is listed under "other" as it is, redacted.
``record_status`` is the one way to write an entry.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import stat
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from gd_vault import KEY_FILE_ENV, Vault, redact
from tap_gusto.run_status import STATUS_FILE_ENV, read_status, status_path
from target_dynamics_fo.audit import DEFAULT_AUDIT_DB

from gusto_dynamics.cli import EXIT_OK, emit, open_vault

# The target's audit_db setting as Meltano passes it.
AUDIT_DB_ENV = "TARGET_DYNAMICS_FO_AUDIT_DB"
# The target's default dry_run_output.
DRY_RUN_OUTPUT = "output/dry-run"
OTHERS_ACCESS = stat.S_IRWXG | stat.S_IRWXO


def gusto_status_key(company_uuid: str) -> str:
    return f"gusto:{company_uuid}"


def dynamics_status_key(name: str) -> str:
    return f"dynamics:{name}"


def record_status(vault: Vault, key: str, fields: Mapping[str, Any]) -> None:
    """Merge ``fields`` into ``status[key]`` (e.g. key ``gusto:<uuid>``, fields last_run_*)."""

    def write(data: dict[str, Any]) -> None:
        data.setdefault("status", {}).setdefault(key, {}).update(fields)

    vault.update(write)


def _iso(epoch: Any) -> str | None:
    if not isinstance(epoch, int | float) or isinstance(epoch, bool):
        return None
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="seconds")


def _remaining(epoch: Any, now: float) -> str:
    if not isinstance(epoch, int | float) or isinstance(epoch, bool):
        return "unknown"
    seconds = int(epoch - now)
    if seconds <= 0:
        return "expired (refreshed on the next run)"
    hours, rest = divmod(seconds, 3600)
    return f"valid for {hours}h{rest // 60:02d}m"


def merged_status(
    stored: Mapping[str, Any], runs: Mapping[str, Any] | None
) -> dict[str, dict[str, Any]]:
    """The store's status entries with the tap's run-status file over them, field by field.

    Runs are noted in the non-secret run-status file (tap_gusto.run_status); entries an older
    tap wrote into the store still show until a newer run replaces them.
    """
    merged: dict[str, dict[str, Any]] = {
        key: dict(value) for key, value in stored.items() if isinstance(value, Mapping)
    }
    for key, value in (runs or {}).items():
        if isinstance(value, Mapping):
            merged.setdefault(key, {}).update(value)
    return merged


def collect(
    data: Mapping[str, Any], now: float | None = None, runs: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The status document: only non-secret fields, picked explicitly (not redacted copies)."""
    current = time.time() if now is None else now
    status: Mapping[str, Any] = merged_status(data.get("status", {}) or {}, runs)
    gusto: Mapping[str, Any] = data.get("gusto", {}) or {}
    app: Mapping[str, Any] = gusto.get("app", {}) or {}
    companies = []
    for company_uuid, record in sorted((gusto.get("companies", {}) or {}).items()):
        run = status.get(gusto_status_key(company_uuid), {}) or {}
        companies.append(
            {
                "company_uuid": company_uuid,
                "company_name": record.get("company_name"),
                "api_url": record.get("api_url") or app.get("api_url"),
                "access_token_expires_at": _iso(record.get("expires_at")),
                "access_token_state": _remaining(record.get("expires_at"), current),
                "has_refresh_token": bool(record.get("refresh_token")),
                "connected_at": record.get("connected_at"),
                "last_refresh_at": record.get("last_refresh_at"),
                "last_run_at": run.get("last_run_at"),
                "last_run_ok": run.get("last_run_ok"),
                "last_run_message": run.get("last_run_message"),
            }
        )
    environments = []
    dynamics: Mapping[str, Any] = data.get("dynamics", {}) or {}
    for name, env in sorted((dynamics.get("environments", {}) or {}).items()):
        check = status.get(dynamics_status_key(name), {}) or {}
        if env.get("certificate_pem"):
            credential = f"certificate (thumbprint {env.get('certificate_thumbprint')})"
        elif env.get("client_secret"):
            credential = "client secret (stored)"
        else:
            credential = "none stored"
        environments.append(
            {
                "name": name,
                "environment_url": env.get("environment_url"),
                "tenant_id": env.get("tenant_id"),
                "client_id": env.get("client_id"),
                "credential": credential,
                "authority_host": env.get("authority_host"),
                "last_check_at": check.get("last_check_at"),
                "last_check_ok": check.get("last_check_ok"),
                "last_check_message": check.get("last_check_message"),
            }
        )
    known = {gusto_status_key(c["company_uuid"]) for c in companies} | {
        dynamics_status_key(e["name"]) for e in environments
    }
    other = {key: redact(value) for key, value in status.items() if key not in known}
    return {
        "gusto_app": {"client_id": app.get("client_id"), "api_url": app.get("api_url")}
        if app
        else None,
        "gusto_companies": companies,
        "dynamics_environments": environments,
        "other": other,
    }


def _outcome(ok: Any, at: Any, message: Any) -> str:
    if at is None:
        return "never"
    word = "OK" if ok else "FAILED"
    return f"{word} at {at}" + (f": {message}" if message else "")


def _print_text(report: Mapping[str, Any], vault: Vault) -> None:
    emit(f"Credential store: {vault.path}")
    app = report["gusto_app"]
    emit("")
    emit("Gusto" + (f" (app {app['client_id']} at {app['api_url']})" if app else ""))
    if not report["gusto_companies"]:
        emit("  no company connected (gusto-dynamics connect gusto)")
    for company in report["gusto_companies"]:
        emit(f"  {company['company_name']} ({company['company_uuid']})")
        emit(
            f"    access token: {company['access_token_state']}, expires "
            f"{company['access_token_expires_at']}"
        )
        emit(f"    connected: {company['connected_at']}")
        emit(f"    last refresh: {company['last_refresh_at'] or 'never'}")
        emit(
            "    last run: "
            + _outcome(company["last_run_ok"], company["last_run_at"], company["last_run_message"])
        )
    emit("")
    emit("Dynamics 365 F&O")
    if not report["dynamics_environments"]:
        emit("  no environment connected (gusto-dynamics connect dynamics)")
    for env in report["dynamics_environments"]:
        emit(f"  {env['name']}: {env['environment_url']}")
        emit(f"    tenant: {env['tenant_id']}  client id: {env['client_id']}")
        emit(f"    credential: {env['credential']}")
        emit(
            "    last check: "
            + _outcome(env["last_check_ok"], env["last_check_at"], env["last_check_message"])
        )
    unsettled = report.get("without_outcome")
    if unsettled:
        emit("")
        emit(f"Audit trail: {unsettled['audit_db']}")
        left = unsettled["payrolls"] + unsettled["contractor_payments"]
        emit(
            f"  left without an outcome: {unsettled['payrolls']} payroll(s), "
            f"{unsettled['contractor_payments']} contractor payment(s)"
            + (
                " (an interrupted run; the next run settles them, or see "
                "`target-dynamics-fo-audit failures`)"
                if left
                else ""
            )
        )
        waiting = unsettled.get("corrections_waiting", 0)
        if waiting:
            emit(
                f"  corrections staged, not yet posted: {waiting} (review with "
                "`target-dynamics-fo-audit corrections`, approve with `... corrections approve`)"
            )
    if report.get("exposed_files"):
        emit("")
        emit("WARNING: readable by other users (they hold payroll data or secrets):")
        for line in report["exposed_files"]:
            emit(f"  {line}")
        emit("  fix: chmod 600 each file (and chmod 700 its folder)")
    if report["other"]:
        emit("")
        emit("Other components")
        for key, value in sorted(report["other"].items()):
            emit(f"  {key}: {json.dumps(value, sort_keys=True, default=str)}")


def exposed_files(paths: Iterable[Path]) -> list[str]:
    """Files among ``paths`` (folders: the files directly in them) that users other than the
    owner can read or write, as ``"path (mode 0644)"``.

    The connector writes them 0600, but a file copied in, restored from a backup or written by
    an older release keeps whatever mode it had, and it holds payroll lines or secrets.
    """
    seen: set[Path] = set()
    exposed: list[str] = []
    for path in paths:
        candidates = sorted(path.iterdir()) if path.is_dir() else [path]
        for candidate in candidates:
            if candidate in seen or not candidate.is_file():
                continue
            seen.add(candidate)
            mode = stat.S_IMODE(candidate.stat().st_mode)
            if mode & OTHERS_ACCESS:
                exposed.append(f"{candidate} (mode {mode:04o})")
    return exposed


def files_to_check(vault: Vault, audit_db: Path, run_status: Path) -> list[Path]:
    """The files the connector writes by default: store and key, the audit trail's folder,
    the run-status file, the dry-run output and Meltano's folder (state and run logs)."""
    paths = [vault.path, audit_db.parent, run_status, Path(DRY_RUN_OUTPUT), Path(".meltano")]
    key_file = os.environ.get(KEY_FILE_ENV)
    if key_file:
        paths.append(Path(key_file))
    return [p.expanduser() for p in paths if p.expanduser().exists()]


def unsettled_documents(audit_db: Path) -> dict[str, int] | None:
    """Payrolls and payments received but left without a final outcome (an interrupted run);
    None when there is no audit trail at that path."""
    if not audit_db.exists():
        return None
    # Imported here: the rest of `status` needs nothing of the target.
    from target_dynamics_fo.audit import AuditStore  # noqa: PLC0415

    store = AuditStore(audit_db)
    try:
        return {
            "payrolls": len(store.awaiting_payrolls()),
            "contractor_payments": len(store.awaiting_payments()),
            "corrections_waiting": len(store.open_corrections()),
        }
    finally:
        store.close()


def _status(args: argparse.Namespace) -> int:
    vault = open_vault(args)
    run_status = status_path(args.status_file)
    report = collect(vault.read(), runs=read_status(run_status))
    audit_db = Path(args.audit_db or os.environ.get(AUDIT_DB_ENV) or DEFAULT_AUDIT_DB).expanduser()
    # Before the audit trail is opened: opening it tightens its mode.
    report["exposed_files"] = exposed_files(files_to_check(vault, audit_db, run_status))
    unsettled = unsettled_documents(audit_db)
    if unsettled is not None:
        report["without_outcome"] = {"audit_db": str(audit_db), **unsettled}
    if args.json:
        emit(json.dumps({"store": str(vault.path), **report}, indent=2, sort_keys=True))
    else:
        _print_text(report, vault)
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = subparsers.add_parser("status", help="show connected companies and environments")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.add_argument(
        "--audit-db",
        help=f"the target's audit trail, to count documents left without an outcome (default "
        f"${AUDIT_DB_ENV}, else {DEFAULT_AUDIT_DB})",
    )
    status.add_argument(
        "--status-file",
        help=f"the tap's run-status file (its status_file setting; default ${STATUS_FILE_ENV}, "
        "else .gusto-dynamics/run-status.json here)",
    )
    status.set_defaults(handler=_status)
