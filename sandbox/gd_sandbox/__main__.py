"""`python -m gd_sandbox up|info`: run the local Gusto (and Dynamics, if present) sandboxes.

`up` writes `<state-dir>/endpoints.json` (mode 0600: it holds the sandboxes' client secrets) and
runs until SIGTERM/SIGINT. `info` prints that file.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import signal
import sys
import threading
from datetime import UTC, date, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from gd_sandbox.gusto import DEFAULT_API_VERSION, SUPPORTED_API_VERSIONS, GustoSandbox
from gd_sandbox.gusto.app import WINDOW_RULES

ENDPOINTS_FILE = "endpoints.json"


def _write_private(path: Path, text: str) -> None:
    """Atomic write with mode 0600, so readers polling for the file never see half of it."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _start_dynamics(port: int, state_dir: Path) -> tuple[Any, dict[str, Any]] | None:
    try:
        module = importlib.import_module("gd_sandbox.dynamics")
    except ImportError:
        return None
    factory = getattr(module, "DynamicsSandbox", None)
    if factory is None:
        return None
    dyn = factory(port=port).start()
    ca_copy = state_dir / "dynamics-ca.pem"
    shutil.copyfile(dyn.ca_bundle, ca_copy)
    info: dict[str, Any] = {
        "url": dyn.url,
        "environment_url": dyn.url,
        "authority_host": dyn.url,
        "tenant_id": dyn.tenant_id,
        "client_id": dyn.client_id,
        "client_secret": dyn.client_secret,
        "ca_bundle": str(ca_copy.resolve()),
    }
    cert = getattr(dyn, "certificate", None)
    if cert is not None:
        cert_file = state_dir / "dynamics-client-cert.pem"
        _write_private(cert_file, cert.private_key_pem + cert.certificate_pem)
        info["certificate_file"] = str(cert_file.resolve())
        info["certificate_thumbprint"] = cert.sha1_thumbprint
    return dyn, info


def _gusto_info(gusto: GustoSandbox) -> dict[str, Any]:
    companies = [
        {"uuid": c.uuid, "name": c.name, "employees": len(c.employees)} for c in gusto.companies
    ]
    return {
        "url": gusto.url,
        "client_id": gusto.client_id,
        "client_secret": gusto.client_secret,
        "redirect_uris": gusto.redirect_uris,
        "today": gusto.today.isoformat(),
        "company_uuids": gusto.company_uuids,
        "companies": companies,
        "supported_api_versions": list(SUPPORTED_API_VERSIONS),
        "default_api_version": DEFAULT_API_VERSION,
        "admin_url": f"{gusto.url}/_sandbox",
    }


def cmd_up(args: argparse.Namespace) -> int:
    state_dir = Path(args.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    endpoints_path = state_dir / ENDPOINTS_FILE
    endpoints_path.unlink(missing_ok=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    gusto = GustoSandbox(
        port=args.gusto_port,
        seed=args.seed,
        token_lifetime=args.token_lifetime,
        rate_limit_per_minute=args.rate_limit,
        large_company_employees=args.large_company_employees,
        today=args.today or datetime.now(UTC).date(),
        window_rule=args.window_rule,
    ).start()
    dynamics = None
    try:
        endpoints: dict[str, Any] = {"gusto": _gusto_info(gusto)}
        started = _start_dynamics(args.dynamics_port, state_dir)
        if started is not None:
            dynamics, endpoints["dynamics"] = started
        _write_private(endpoints_path, json.dumps(endpoints, indent=2) + "\n")
        summary = f"gd_sandbox up: gusto {gusto.url} ({len(gusto.company_uuids)} companies)"
        if dynamics is not None:
            summary += f", dynamics {endpoints['dynamics']['url']}"
        sys.stdout.write(f"{summary}; endpoints in {endpoints_path}\n")
        sys.stdout.flush()
        stop.wait()
    finally:
        if dynamics is not None:
            dynamics.stop()
        gusto.stop()
        endpoints_path.unlink(missing_ok=True)
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    path = Path(args.state_dir) / ENDPOINTS_FILE
    if not path.exists():
        sys.stderr.write(
            f"No sandbox is running for {args.state_dir}: {path} does not exist. Start one "
            f"with `python -m gd_sandbox up --state-dir {args.state_dir}`.\n"
        )
        return 1
    sys.stdout.write(path.read_text())
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gd_sandbox", description="Local Gusto and Dynamics 365 F&O sandboxes"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the sandboxes and run until SIGTERM/SIGINT")
    up.add_argument("--state-dir", default=".sandbox")
    up.add_argument("--gusto-port", type=int, default=0)
    up.add_argument("--dynamics-port", type=int, default=0)
    up.add_argument("--large-company-employees", type=int, default=0)
    up.add_argument(
        "--token-lifetime", type=int, default=7200, help="Gusto access token lifetime in seconds"
    )
    up.add_argument(
        "--rate-limit",
        type=int,
        default=200,
        help="Gusto requests per rolling 60 s per OAuth grant",
    )
    up.add_argument("--seed", default="demo")
    up.add_argument(
        "--today",
        type=date.fromisoformat,
        default=None,
        help="the Gusto sandbox's calendar day (YYYY-MM-DD); default: today's UTC date",
    )
    up.add_argument(
        "--window-rule",
        choices=WINDOW_RULES,
        default="contained",
        help="how payroll/pay-period list windows select periods: Gusto's documented rule "
        "(whole period inside, default) or the lenient period-end rule",
    )
    up.set_defaults(func=cmd_up)
    info = sub.add_parser("info", help="print the endpoints file of a running sandbox")
    info.add_argument("--state-dir", default=".sandbox")
    info.set_defaults(func=cmd_info)
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    raise SystemExit(main())
