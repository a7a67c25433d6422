"""Benchmark: what finding amended and cancelled payrolls costs a scheduled run (not a test).

Runs tap-gusto's payrolls stream in-process against the Gusto sandbox ("demo" seed, both
companies): a first run, then incremental runs from its state with the correction check off
(``correction_window_days: 0``) and on (default 60 days), then after amending one payroll and
cancelling another, and a run told by a webhook to re-read one payroll. Prints, per run,
the payroll requests per company (list pages, pay-period pages and single-payroll pages) and
the payrolls emitted.

    .venv/bin/python bench/corrections_detect.py
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import tempfile
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

# A fixed day keeps runs comparable: the seed's calendar counts from it.
BENCH_TODAY = dt.date(2026, 12, 3)


def main() -> None:
    from gd_sandbox.gusto import GustoSandbox  # noqa: PLC0415
    from gd_vault import Vault, generate_key  # noqa: PLC0415

    key = generate_key()
    os.environ["GUSTO_DYNAMICS_VAULT_KEY"] = key.decode() if isinstance(key, bytes) else key
    store = Path(tempfile.mkdtemp(prefix="corrections-bench-")) / "vault.enc"
    with GustoSandbox(
        port=0, seed="demo", today=BENCH_TODAY, rate_limit_per_minute=100_000
    ) as gusto:

        def write(data: dict[str, Any]) -> None:
            data["gusto"] = {
                "app": {"client_id": gusto.client_id, "client_secret": gusto.client_secret},
                "companies": {
                    uuid: {
                        "company_uuid": uuid,
                        "refresh_token": gusto.mint_refresh_token(uuid),
                        "access_token": None,
                        "expires_at": 0,
                        "api_url": gusto.url,
                    }
                    for uuid in gusto.company_uuids
                },
            }

        Vault.open(store).update(write)
        config = {
            "credentials_store": str(store),
            "start_date": (BENCH_TODAY - dt.timedelta(days=120)).isoformat(),
            "max_requests_per_minute": 100_000,
        }
        names = {c["uuid"]: c["name"] for c in gusto.info()["companies"]}
        state = sync(gusto, config, {}, "first run (no state)", names)
        sync(gusto, {**config, "correction_window_days": 0}, state, "incremental, check off", names)
        state = sync(gusto, config, state, "incremental, check on (60 days)", names)
        recent = [
            p["uuid"]
            for c in gusto.info()["companies"]
            for p in sorted(c["payrolls"], key=lambda p: p["check_date"])
            if p["processed"]
            and p["check_date"] >= (BENCH_TODAY - dt.timedelta(days=45)).isoformat()
        ]
        gusto.amend_payroll(recent[-1], Decimal("25.00"))
        gusto.cancel_payroll(recent[0])
        state = sync(gusto, config, state, "after 1 amendment + 1 cancellation", names)
        state = sync(gusto, config, state, "incremental again", names)
        # A webhook (payroll.updated) names one payroll: read again even with the check off.
        sync(
            gusto,
            {**config, "correction_window_days": 0, "reread_payroll_uuids": [recent[-2]]},
            state,
            "webhook names 1 payroll, check off",
            names,
        )


def sync(
    gusto: Any, config: dict[str, Any], state: dict[str, Any], label: str, names: dict[str, str]
) -> dict[str, Any]:
    from tap_gusto.tap import TapGusto  # noqa: PLC0415

    gusto.stats.reset()
    tap = TapGusto(config=config, state=state, parse_env_config=False)
    for name, stream in tap.streams.items():
        stream.selected = name == "payrolls"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        tap.extract()
    messages = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    emitted = Counter(
        m["record"]["company_uuid"]
        for m in messages
        if m["type"] == "RECORD" and m["stream"] == "payrolls"
    )
    print(f"{label}:")
    for uuid, name in names.items():
        paths = {p: n for p, n in gusto.stats.per_path.items() if f"/companies/{uuid}/" in p}
        kinds: Counter[str] = Counter()
        for path, count in paths.items():
            tail = path.split(f"/companies/{uuid}/", 1)[1]
            kinds["list" if tail == "payrolls" else tail.split("/")[0]] += count
        print(
            f"  {name:32} requests {sum(paths.values()):3} "
            f"({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}); "
            f"payrolls emitted {emitted.get(uuid, 0)}"
        )
    return [m["value"] for m in messages if m["type"] == "STATE"][-1]


if __name__ == "__main__":
    main()
