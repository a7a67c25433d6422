"""`connect dynamics` / `disconnect dynamics`: client credentials (secret or certificate) for
one F&O environment, checked by getting a token from Entra and reading one row of
``LegalEntities``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gd_vault import scrub
from tap_gusto.tokens import now_iso
from target_dynamics_fo.fo import DynamicsAuthError, EntraTokenProvider, ODataClient, ODataError

from gusto_dynamics.cli import EXIT_FAILED, EXIT_OK, emit, open_vault
from gusto_dynamics.connect.common import ConnectError, read_secret
from gusto_dynamics.status import dynamics_status_key

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"
CHECK_DEADLINE_SECONDS = 60.0
ENTRA_APPS_MENU = "System administration > Setup > Microsoft Entra applications"


def check_dynamics(environment: Mapping[str, Any]) -> str:
    """Get a token and read one legal entity; returns a one-line success description.

    Raises ``ConnectError`` naming what failed and where to fix it.
    """
    secret_values = [environment.get("client_secret"), environment.get("certificate_pem")]
    try:
        provider = EntraTokenProvider(
            environment_url=str(environment["environment_url"]),
            tenant_id=str(environment["tenant_id"]),
            client_id=str(environment["client_id"]),
            client_secret=environment.get("client_secret"),
            certificate_pem=environment.get("certificate_pem"),
            certificate_thumbprint=environment.get("certificate_thumbprint"),
            authority_host=str(environment.get("authority_host") or DEFAULT_AUTHORITY_HOST),
            ca_bundle=environment.get("ca_bundle"),
        )
        provider.token()
    except DynamicsAuthError as exc:
        raise ConnectError(f"Getting a token failed: {scrub(str(exc), secret_values)}") from None
    client = ODataClient(
        provider.environment_url,
        provider,
        ca_bundle=environment.get("ca_bundle"),
        request_deadline_seconds=CHECK_DEADLINE_SECONDS,
        max_retries=2,
    )
    try:
        rows = client.get_all("LegalEntities", top=1)
    except DynamicsAuthError as exc:
        raise ConnectError(
            f"Entra issued a token but F&O refused it: {scrub(str(exc), secret_values)}"
        ) from None
    except ODataError as exc:
        if exc.status == 403:
            raise ConnectError(
                f"F&O accepted the app but its user may not read LegalEntities (HTTP 403). Give "
                f"the user mapped to client id {environment['client_id']} in {ENTRA_APPS_MENU} "
                "the roles the integration needs, and make sure the user is enabled."
            ) from None
        raise ConnectError(
            f"Reading LegalEntities from {provider.environment_url} failed: "
            f"{scrub(exc.message, secret_values)}"
        ) from None
    if not rows:
        return "token OK, but the environment returned no legal entity (check the user's roles)"
    first = rows[0]
    return f"token OK, read legal entity {first.get('LegalEntityId')} ({first.get('Name')})"


def connect_dynamics(args: argparse.Namespace) -> int:
    vault = open_vault(args)
    certificate_pem: str | None = None
    client_secret: str | None = None
    if args.certificate:
        if not args.thumbprint:
            raise ConnectError("--certificate needs --thumbprint (the certificate's SHA-1 hex).")
        try:
            certificate_pem = Path(args.certificate).expanduser().read_text()
        except OSError as exc:
            raise ConnectError(
                f"Cannot read the certificate {args.certificate}: {exc.strerror}."
            ) from None
        if "PRIVATE KEY" not in certificate_pem:
            raise ConnectError(
                f"{args.certificate} holds no private key; pass the PEM with the private key "
                "and the certificate (the one whose public part is uploaded to the app)."
            )
    else:
        client_secret = read_secret(args.client_secret_stdin, "Entra client secret: ")
    environment: dict[str, Any] = {
        "environment_url": args.environment_url.rstrip("/"),
        "tenant_id": args.tenant_id,
        "client_id": args.client_id,
        "client_secret": client_secret,
        "certificate_pem": certificate_pem,
        "certificate_thumbprint": args.thumbprint if certificate_pem else None,
        "authority_host": (args.authority_host or DEFAULT_AUTHORITY_HOST).rstrip("/"),
        "ca_bundle": str(Path(args.ca_bundle).expanduser().absolute()) if args.ca_bundle else None,
    }
    try:
        outcome = check_dynamics(environment)
        ok = True
    except ConnectError as exc:
        outcome = str(exc)
        ok = False
    checked = {"last_check_at": now_iso(), "last_check_ok": ok, "last_check_message": outcome}
    kept_previous = False

    def write(data: dict[str, Any]) -> None:
        nonlocal kept_previous
        environments = data.setdefault("dynamics", {}).setdefault("environments", {})
        # A failed attempt must not replace settings that work: keep them and report.
        if not ok and args.name in environments:
            kept_previous = True
            return
        environments[args.name] = environment
        data.setdefault("status", {})[dynamics_status_key(args.name)] = checked

    vault.update(write)
    if not ok:
        emit(f"error: connection check failed: {outcome}", sys.stderr)
        if kept_previous:
            emit(
                f"The settings already stored for {args.name!r} were kept unchanged; fix the "
                "cause and run the command again.",
                sys.stderr,
            )
        else:
            emit(
                f"The settings are stored as {args.name!r} (status shows the failed check); fix "
                "the cause and run the command again.",
                sys.stderr,
            )
        return EXIT_FAILED
    emit(f"Stored Dynamics environment {args.name!r} ({environment['environment_url']}).")
    emit(f"Connection check passed: {outcome}.")
    return EXIT_OK


def disconnect_dynamics(args: argparse.Namespace) -> int:
    vault = open_vault(args)
    if args.name not in vault.read().get("dynamics", {}).get("environments", {}):
        raise ConnectError(
            f"No Dynamics environment named {args.name!r} in {vault.path}; "
            "`gusto-dynamics status` lists them."
        )

    def remove(data: dict[str, Any]) -> None:
        data.get("dynamics", {}).get("environments", {}).pop(args.name, None)
        data.get("status", {}).pop(dynamics_status_key(args.name), None)

    vault.update(remove)
    emit(f"Removed Dynamics environment {args.name!r} from the store.")
    emit("Client credentials cannot be revoked from here: delete the secret in Microsoft Entra ID")
    emit("(App registrations > your app > Certificates & secrets) if it should stop working.")
    return EXIT_OK
