"""``tap-gusto-tokens``: put a company's refresh token into the store, list connected companies.

The token is read from stdin so it never lands in shell history or the process list.
``list`` prints companies and expiry, never a token.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any, TextIO

from gd_vault import Vault, VaultError

from tap_gusto.tokens import now_iso


def _out(text: str, *, file: TextIO | None = None) -> None:
    (file or sys.stdout).write(text + "\n")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tap-gusto-tokens", description="Manage Gusto tokens in the credential store."
    )
    parser.add_argument(
        "--store",
        help="Credential store path (default $GUSTO_DYNAMICS_VAULT or ~/.gusto-dynamics/vault.enc)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="Store a refresh token for one company.")
    imp.add_argument("--company", required=True, help="Gusto company UUID")
    imp.add_argument(
        "--refresh-token-stdin",
        action="store_true",
        required=True,
        help="Read the refresh token from stdin (the only way; keeps it out of history).",
    )
    imp.add_argument("--company-name", help="Display name stored with the company")
    imp.add_argument("--api-url", help="Gusto API URL the token belongs to")
    sub.add_parser("list", help="List connected companies and token expiry (never tokens).")
    return parser


def _import(vault: Any, args: argparse.Namespace) -> int:
    token = sys.stdin.readline().strip()
    if not token:
        _out("No refresh token on stdin; nothing stored.", file=sys.stderr)
        return 2

    def write(data: dict[str, Any]) -> None:
        companies = data.setdefault("gusto", {}).setdefault("companies", {})
        record = companies.setdefault(args.company, {"company_uuid": args.company})
        record.update(
            {
                "company_uuid": args.company,
                "access_token": None,
                "refresh_token": token,
                "expires_at": 0,
                "connected_at": now_iso(),
                "pending_refresh_token": None,
            }
        )
        if args.company_name:
            record["company_name"] = args.company_name
        if args.api_url:
            record["api_url"] = args.api_url.rstrip("/")

    vault.update(write)
    _out(f"Stored a refresh token for Gusto company {args.company} in {vault.path}.")
    return 0


def _list(vault: Any) -> int:
    companies = vault.read().get("gusto", {}).get("companies", {}) or {}
    if not companies:
        _out("No Gusto company is connected.")
        return 0
    _out(f"{'company_uuid':38} {'name':30} {'access token expires':26} last refresh")
    for uuid, record in sorted(companies.items()):
        expires = record.get("expires_at") or 0
        when = (
            dt.datetime.fromtimestamp(float(expires), dt.UTC).isoformat(timespec="seconds")
            if expires
            else "(none yet)"
        )
        name = str(record.get("company_name") or "")[:30]
        _out(f"{uuid:38} {name:30} {when:26} {record.get('last_refresh_at') or '-'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        vault = Vault.open(args.store)
        if args.command == "import":
            return _import(vault, args)
        return _list(vault)
    except VaultError as exc:
        _out(f"Credential store error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
