"""`make demo`: start both sandboxes, connect them, run the real Meltano pipeline, show the result.

Everything happens on 127.0.0.1; no account anywhere is needed. The demo is re-runnable: each
run starts fresh sandboxes, a fresh credential store and a fresh audit trail under
`.gusto-dynamics/sandbox/`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
STATE_DIR = ROOT / ".sandbox"
WORK = ROOT / ".gusto-dynamics" / "sandbox"
STATE_ID = "sandbox:tap-gusto-to-target-dynamics-fo"
JOURNAL_PREFIX = "GUS"  # journal_number_prefix in config/mapping.yml
LEGAL_ENTITIES = ("rsc", "sbc")  # legal_entity of the companies in config/mapping.yml


def step(title: str) -> None:
    print(f"\n==> {title}", flush=True)


def run(
    args: list[str], env: dict[str, str], *, stdin: str | None = None, quiet: bool = False
) -> str:
    result = subprocess.run(
        args, cwd=ROOT, env=env, input=stdin, text=True, capture_output=True, check=False
    )
    if result.returncode != 0:
        sys.stderr.write(result.stdout + result.stderr)
        raise SystemExit(f"demo: `{' '.join(args[:3])} ...` failed (exit {result.returncode})")
    if not quiet and result.stdout.strip():
        print(result.stdout.rstrip())
    return result.stdout


def start_sandboxes(env: dict[str, str]) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    endpoints_file = STATE_DIR / "endpoints.json"
    endpoints_file.unlink(missing_ok=True)
    log = (WORK / "sandbox.log").open("w")
    proc = subprocess.Popen(
        [str(BIN / "python"), "-m", "gd_sandbox", "up", "--state-dir", str(STATE_DIR)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not endpoints_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"demo: the sandbox did not start; see {WORK / 'sandbox.log'}")
        time.sleep(0.2)
    time.sleep(0.2)
    return proc, json.loads(endpoints_file.read_text())


def main() -> int:
    # The demo's files (Meltano's system database, logs, the audit trail) hold payroll data.
    os.umask(0o077)
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["GUSTO_DYNAMICS_VAULT"] = str(WORK / "vault.enc")
    env["GUSTO_DYNAMICS_VAULT_KEY_FILE"] = str(WORK / "vault.key")
    env["MELTANO_ENVIRONMENT"] = "sandbox"

    step("Starting the Gusto and Dynamics 365 F&O sandboxes on 127.0.0.1")
    proc, ep = start_sandboxes(env)
    try:
        gusto, dyn = ep["gusto"], ep["dynamics"]
        print(f"Gusto API:     {gusto['url']}")
        print(f"Dynamics F&O:  {dyn['url']}  (Entra ID on the same host, self-signed TLS)")

        step("Creating an encrypted credential store (key file with mode 0600)")
        run(
            ["gusto-dynamics", "key", "generate", "--file", env["GUSTO_DYNAMICS_VAULT_KEY_FILE"]],
            env,
        )

        step(
            "Connecting each Gusto company "
            "(OAuth authorization-code grant, one token set per company)"
        )
        for company in gusto["companies"]:
            run(
                [
                    "gusto-dynamics",
                    "connect",
                    "gusto",
                    "--api-url",
                    gusto["url"],
                    "--client-id",
                    gusto["client_id"],
                    "--client-secret-stdin",
                    "--browser",
                    "http",
                    "--company",
                    company["uuid"],
                ],
                env,
                stdin=gusto["client_secret"] + "\n",
            )

        step("Connecting Dynamics 365 F&O (Entra ID client credentials)")
        run(
            [
                "gusto-dynamics",
                "connect",
                "dynamics",
                "--name",
                "sandbox",
                "--environment-url",
                dyn["url"],
                "--tenant-id",
                dyn["tenant_id"],
                "--client-id",
                dyn["client_id"],
                "--client-secret-stdin",
                "--authority-host",
                dyn["url"],
                "--ca-bundle",
                dyn["ca_bundle"],
            ],
            env,
            stdin=dyn["client_secret"] + "\n",
        )
        run(["gusto-dynamics", "status"], env)

        env["TAP_GUSTO_API_URL"] = gusto["url"]
        step("Installing the Meltano plugins (first time only)")
        install_plugins(env)
        subprocess.run(
            [str(BIN / "meltano"), "state", "clear", "--force", STATE_ID],
            cwd=ROOT,
            env=env,
            capture_output=True,
            check=False,
        )

        step("meltano run tap-gusto target-dynamics-fo")
        started = time.monotonic()
        run([str(BIN / "meltano"), "run", "tap-gusto", "target-dynamics-fo"], env, quiet=True)
        print(f"pipeline finished in {time.monotonic() - started:.1f} s")

        step("Checking F&O against Gusto: one journal for every processed payroll in range")
        if not ledger_agrees_with_gusto(gusto, dyn):
            raise SystemExit("demo: the ledger does not agree with Gusto (see above)")

        audit_env = dict(env)
        step("What the target received from tap-gusto and what became of each payroll")
        run(
            ["target-dynamics-fo-audit", "--audit-db", str(WORK / "audit.sqlite"), "summary"],
            audit_env,
        )

        step("Journals posted to Dynamics (read back from the audit trail)")
        run(
            ["target-dynamics-fo-audit", "--audit-db", str(WORK / "audit.sqlite"), "journals"],
            audit_env,
        )

        step("Workers and employments (leavers end on their last day), vendors, AP invoices")
        for what in ("workers", "vendors", "invoices"):
            lines = run(
                ["target-dynamics-fo-audit", "--audit-db", str(WORK / "audit.sqlite"), what],
                audit_env,
                quiet=True,
            ).splitlines()
            ended = [line for line in lines if "ending" in line or "end employment" in line][:4]
            shown = lines[:6] + ([*ended, "  ..."] if len(lines) > 7 else []) + lines[-1:]
            print("\n".join(dict.fromkeys(shown)))

        step(
            "Running the pipeline again from scratch (--full-refresh): "
            "exactly once, nothing new is posted"
        )
        run(
            [str(BIN / "meltano"), "run", "--full-refresh", "tap-gusto", "target-dynamics-fo"],
            env,
            quiet=True,
        )
        run(
            ["target-dynamics-fo-audit", "--audit-db", str(WORK / "audit.sqlite"), "summary"],
            audit_env,
        )

        step("Month-end close: F&O's Post journals job runs, then gusto-dynamics reconcile")
        period = last_month(gusto["url"])
        for legal_entity in LEGAL_ENTITIES:
            posted = requests.post(
                f"{dyn['url']}/_sandbox/journals/{legal_entity}/post",
                verify=dyn["ca_bundle"],
                timeout=120,
            )
            posted.raise_for_status()
        reports = WORK / "reports"
        run(
            [
                "gusto-dynamics",
                "reconcile",
                "--period",
                period,
                "--audit-db",
                str(WORK / "audit.sqlite"),
                "--out",
                str(reports),
            ],
            env,
        )
        print(f"HTML report: {reports / f'reconcile-{period}.html'}")

        print(f"\nAudit trail: {WORK / 'audit.sqlite'}")
        print(
            "Try: target-dynamics-fo-audit --audit-db .gusto-dynamics/sandbox/audit.sqlite failures"
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0


def install_plugins(env: dict[str, str]) -> None:
    """`meltano install`, unless what it installs is unchanged since it last ran here.

    The plugins are installed editable, so code changes need no reinstall; only meltano.yml or
    a package's dependencies (its pyproject.toml) do. Saves ~12 s of CPU on every later demo.
    """
    inputs = [ROOT / "meltano.yml", *sorted(ROOT.glob("*/pyproject.toml"))]
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in inputs)).hexdigest()
    stamp = ROOT / ".meltano" / "gusto-dynamics-installed.sha256"
    executables = [
        ROOT / ".meltano" / "extractors" / "tap-gusto" / "venv" / "bin" / "tap-gusto",
        ROOT
        / ".meltano"
        / "loaders"
        / "target-dynamics-fo"
        / "venv"
        / "bin"
        / "target-dynamics-fo",
    ]
    if stamp.exists() and stamp.read_text() == digest and all(p.exists() for p in executables):
        print("already installed (meltano.yml and the packages' dependencies are unchanged)")
        return
    run([str(BIN / "meltano"), "install"], env, quiet=True)
    stamp.write_text(digest)


def last_month(gusto_url: str) -> str:
    """The month before Gusto's today (YYYY-MM): the period a month-end close reconciles."""
    info = requests.get(f"{gusto_url}/_sandbox/info", timeout=30).json()
    first = dt.date.fromisoformat(info["today"]).replace(day=1)
    return f"{first - dt.timedelta(days=1):%Y-%m}"


def ledger_agrees_with_gusto(gusto: dict[str, Any], dyn: dict[str, Any]) -> bool:
    """Compare Gusto's own payroll list with the journal headers read back from F&O.

    Independent of the pipeline: Gusto's list comes from the sandbox's admin view, the journals
    from F&O over OData, and the expected batch number from each payroll's ids.
    """
    # Imported here: only this check needs the target's OData client.
    from target_dynamics_fo.fo import EntraTokenProvider, ODataClient  # noqa: PLC0415
    from target_dynamics_fo.ledger import journal_batch_number  # noqa: PLC0415

    info = requests.get(f"{gusto['url']}/_sandbox/info", timeout=30).json()
    # The tap's default start_date: payrolls paid in the year before Gusto's today.
    start = (dt.date.fromisoformat(info["today"]) - dt.timedelta(days=365)).isoformat()
    expected = {
        journal_batch_number(JOURNAL_PREFIX, company["uuid"], payroll["uuid"]): (
            company["name"],
            payroll,
        )
        for company in info["companies"]
        for payroll in company["payrolls"]
        if payroll["processed"] and payroll["check_date"] >= start
    }
    provider = EntraTokenProvider(
        dyn["url"],
        dyn["tenant_id"],
        dyn["client_id"],
        client_secret=dyn["client_secret"],
        authority_host=dyn["url"],
        ca_bundle=dyn["ca_bundle"],
    )
    client = ODataClient(dyn["url"], provider, ca_bundle=dyn["ca_bundle"])
    headers = client.get_all(
        "LedgerJournalHeaders", cross_company=True, select=["JournalBatchNumber", "dataAreaId"]
    )
    posted = Counter(
        str(h["JournalBatchNumber"])
        for h in headers
        if str(h["JournalBatchNumber"]).startswith(f"{JOURNAL_PREFIX}-")
    )
    missing = sorted(set(expected) - set(posted))
    twice = sorted(number for number, count in posted.items() if count > 1)
    unknown = sorted(set(posted) - set(expected))
    for number in missing:
        name, payroll = expected[number]
        print(
            f"MISSING  {name}: payroll {payroll['uuid']} (check date {payroll['check_date']}) "
            f"has no journal {number}"
        )
    for number in twice:
        print(f"TWICE    journal {number} is in F&O {posted[number]} times")
    for number in unknown:
        print(f"UNKNOWN  journal {number} matches no processed Gusto payroll since {start}")
    if missing or twice or unknown:
        return False
    print(
        f"Agreed: Gusto processed {len(expected)} payroll(s) with a check date on or after "
        f"{start}, and F&O holds exactly one journal for each ({sum(posted.values())} in all)."
    )
    return True


if __name__ == "__main__":
    raise SystemExit(main())
