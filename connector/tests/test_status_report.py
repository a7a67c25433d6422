from __future__ import annotations

import json
from pathlib import Path

import pytest
from gd_vault import KEY_ENV, KEY_FILE_ENV, PATH_ENV, Vault, generate_key
from gusto_dynamics.cli import main
from gusto_dynamics.status import collect, record_status

SECRETS = [
    "acc-SECRET-1",
    "ref-SECRET-1",
    "app-SECRET",
    "dyn-SECRET",
    "-----BEGIN PRIVATE KEY-----",
]


def _document() -> dict[str, object]:
    return {
        "gusto": {
            "app": {"client_id": "app-id", "client_secret": "app-SECRET", "api_url": "http://g"},
            "companies": {
                "c-1": {
                    "company_uuid": "c-1",
                    "company_name": "Summit Bakery Co",
                    "access_token": "acc-SECRET-1",
                    "refresh_token": "ref-SECRET-1",
                    "expires_at": 1_000_7200,
                    "api_url": "http://g",
                    "connected_at": "2026-11-28T10:00:00+00:00",
                    "last_refresh_at": None,
                }
            },
        },
        "dynamics": {
            "environments": {
                "prod": {
                    "environment_url": "https://x.operations.dynamics.com",
                    "tenant_id": "t-1",
                    "client_id": "d-1",
                    "client_secret": "dyn-SECRET",
                    "certificate_pem": None,
                },
                "cert": {
                    "environment_url": "https://y.operations.dynamics.com",
                    "tenant_id": "t-2",
                    "client_id": "d-2",
                    "client_secret": None,
                    "certificate_pem": "-----BEGIN PRIVATE KEY-----\nabc",
                    "certificate_thumbprint": "AB12",
                },
            }
        },
        "status": {
            "gusto:c-1": {"last_run_at": "2026-11-28T11:00:00+00:00", "last_run_ok": True},
            "webhooks": {"verification_token": "whk-SECRET", "events_seen": 3},
        },
    }


def test_collect_picks_only_safe_fields() -> None:
    report = collect(_document(), now=10_000_000.0)
    text = json.dumps(report)
    for secret in [*SECRETS, "whk-SECRET"]:
        assert secret not in text
    company = report["gusto_companies"][0]
    assert company["company_name"] == "Summit Bakery Co"
    assert company["access_token_state"] == "valid for 2h00m"
    assert company["last_run_ok"] is True
    envs = {env["name"]: env for env in report["dynamics_environments"]}
    assert envs["prod"]["credential"] == "client secret (stored)"
    assert envs["cert"]["credential"] == "certificate (thumbprint AB12)"
    assert report["other"]["webhooks"] == {"verification_token": "***", "events_seen": 3}


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Vault:
    monkeypatch.setenv(KEY_ENV, generate_key().decode())
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    monkeypatch.setenv(PATH_ENV, str(tmp_path / "vault.enc"))
    vault = Vault.open()
    vault.update(lambda data: data.update(_document()))
    return vault


def test_status_text_and_json(store: Vault, capsys: pytest.CaptureFixture[str]) -> None:
    record_status(store, "dynamics:prod", {"last_check_at": "T", "last_check_ok": False})
    assert main(["status"]) == 0
    text = capsys.readouterr().out
    assert "Summit Bakery Co (c-1)" in text
    assert "last check: FAILED at T" in text
    assert "https://y.operations.dynamics.com" in text
    assert main(["status", "--json"]) == 0
    as_json = capsys.readouterr().out
    assert json.loads(as_json)["gusto_companies"][0]["company_uuid"] == "c-1"
    for output in (text, as_json):
        for secret in [*SECRETS, "whk-SECRET"]:
            assert secret not in output


def test_status_empty_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(KEY_ENV, generate_key().decode())
    assert main(["--vault", str(tmp_path / "none.enc"), "status"]) == 0
    out = capsys.readouterr().out
    assert "no company connected" in out and "no environment connected" in out


def test_status_counts_documents_left_without_an_outcome(
    store: Vault, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 18: an interrupted run's payrolls and payments show up in `status`."""
    from target_dynamics_fo.audit import AuditStore  # noqa: PLC0415 - the target's own store

    audit_db = tmp_path / "audit.sqlite"
    audit = AuditStore(audit_db)
    audit.store_payment({"uuid": "p-1", "company_uuid": "c-1", "contractor_uuid": "k-1"})
    audit.close()
    assert main(["status", "--audit-db", str(audit_db)]) == 0
    text = capsys.readouterr().out
    assert "left without an outcome: 0 payroll(s), 1 contractor payment(s)" in text
    assert "the next run settles them" in text
    assert main(["status", "--json", "--audit-db", str(audit_db)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["without_outcome"]["contractor_payments"] == 1


def test_status_warns_about_files_other_users_can_read(
    store: Vault,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 17: an audit trail restored from a backup with mode 0644 is named, with the fix."""
    from target_dynamics_fo.audit import AuditStore  # noqa: PLC0415 - the target's own store

    monkeypatch.chdir(tmp_path)
    audit_db = tmp_path / "trail" / "audit.sqlite"
    AuditStore(audit_db).close()
    assert main(["status", "--audit-db", str(audit_db)]) == 0
    assert "readable by other users" not in capsys.readouterr().out

    audit_db.chmod(0o644)
    csv = tmp_path / "output" / "dry-run" / "journals.csv"
    csv.parent.mkdir(parents=True)
    csv.write_text("JournalBatchNumber\n")
    csv.chmod(0o640)
    assert main(["status", "--audit-db", str(audit_db)]) == 0
    text = capsys.readouterr().out
    assert f"{audit_db} (mode 0644)" in text
    assert f"{Path('output/dry-run/journals.csv')} (mode 0640)" in text
    assert "chmod 600" in text
    # Reading the trail's counts tightened it, as every open by the target does.
    assert oct(audit_db.stat().st_mode & 0o777) == "0o600"
    audit_db.chmod(0o644)
    assert main(["status", "--json", "--audit-db", str(audit_db)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["exposed_files"] == [
        f"{audit_db} (mode 0644)",
        f"{Path('output/dry-run/journals.csv')} (mode 0640)",
    ]


def test_status_counts_corrections_waiting_for_approval(
    store: Vault, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from target_dynamics_fo.audit import AuditStore  # noqa: PLC0415 - the target's own store

    audit_db = tmp_path / "audit.sqlite"
    audit = AuditStore(audit_db)
    audit.stage_correction("p-1", 1, "c-1", "rsc", "GUS-1", "h", "d", "changed in Gusto", [], [])
    audit.close()
    assert main(["status", "--audit-db", str(audit_db)]) == 0
    assert "corrections staged, not yet posted: 1" in capsys.readouterr().out
