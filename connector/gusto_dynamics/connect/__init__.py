"""`connect` / `disconnect`: put Gusto and Dynamics credentials into the store and take them out.

Gusto: OAuth authorization-code grant, once per company (Gusto binds every token to one
company). The redirect comes back to a loopback HTTP server we run for the duration of the
dance; ``state`` protects it against a forged redirect.

Dynamics: client credentials (secret or certificate) for one F&O environment, checked by getting
a token from Entra and reading one row of ``LegalEntities``.

``callback`` is the loopback server, ``oauth`` Gusto's OAuth calls and the token-set write,
``gusto`` and ``dynamics`` the commands; this module registers their parsers.
"""

from __future__ import annotations

import argparse

from gd_vault import scrub
from tap_gusto.tokens import DEFAULT_API_URL

from gusto_dynamics.connect.callback import CallbackServer, Redirect
from gusto_dynamics.connect.common import DEFAULT_REDIRECT_URI, ConnectError, read_secret
from gusto_dynamics.connect.dynamics import (
    DEFAULT_AUTHORITY_HOST,
    check_dynamics,
    connect_dynamics,
    disconnect_dynamics,
)
from gusto_dynamics.connect.gusto import connect_gusto, disconnect_gusto
from gusto_dynamics.connect.oauth import GustoApp, GustoOAuth, store_gusto_token_set

__all__ = [
    "CallbackServer",
    "ConnectError",
    "GustoApp",
    "GustoOAuth",
    "Redirect",
    "check_dynamics",
    "read_secret",
    "register",
    "scrub",
    "store_gusto_token_set",
]


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("the timeout must be positive")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    connect = subparsers.add_parser("connect", help="connect a Gusto company or F&O environment")
    systems = connect.add_subparsers(dest="system", metavar="SYSTEM", required=True)

    gusto = systems.add_parser("gusto", help="authorize one Gusto company (run once per company)")
    gusto.add_argument("--api-url", help=f"Gusto API base URL (default {DEFAULT_API_URL})")
    gusto.add_argument("--client-id", help="Gusto application client id")
    gusto.add_argument(
        "--client-secret-stdin",
        action="store_true",
        help="read the client secret from one line of stdin (default: stored, else prompt)",
    )
    gusto.add_argument(
        "--redirect-uri",
        help=f"registered loopback redirect URI (default {DEFAULT_REDIRECT_URI})",
    )
    gusto.add_argument("--timeout", type=_positive_seconds, default=300.0, metavar="SECONDS")
    gusto.add_argument(
        "--browser",
        choices=["system", "none", "http"],
        default="system",
        help="system: open a browser; none: print the URL only; http: follow the URL "
        "without a browser (sandbox)",
    )
    gusto.add_argument("--company", metavar="UUID", help="company to pick (sandbox only)")
    gusto.set_defaults(handler=connect_gusto)

    dynamics = systems.add_parser("dynamics", help="store and check one F&O environment")
    dynamics.add_argument("--name", required=True, help="name for this environment, e.g. prod")
    dynamics.add_argument(
        "--environment-url", required=True, help="https://<env>.operations.dynamics.com"
    )
    dynamics.add_argument("--tenant-id", required=True, help="Entra tenant id or domain")
    dynamics.add_argument("--client-id", required=True, help="Entra application (client) id")
    credential = dynamics.add_mutually_exclusive_group()
    credential.add_argument(
        "--client-secret-stdin",
        action="store_true",
        help="read the client secret from one line of stdin (default: prompt)",
    )
    credential.add_argument(
        "--certificate", metavar="PATH", help="PEM file with the private key and certificate"
    )
    dynamics.add_argument("--thumbprint", help="SHA-1 thumbprint (hex) of --certificate")
    dynamics.add_argument(
        "--authority-host",
        help=f"Entra authority host (default {DEFAULT_AUTHORITY_HOST}); e.g. "
        "https://login.microsoftonline.us for US Government clouds",
    )
    dynamics.add_argument(
        "--ca-bundle",
        metavar="PATH",
        help="PEM bundle of the CA(s) to trust for Entra and F&O, for a TLS-inspecting proxy or "
        "private CA (and the local sandbox); default: the system's trusted CAs",
    )
    dynamics.set_defaults(handler=connect_dynamics)

    disconnect = subparsers.add_parser("disconnect", help="remove a connection from the store")
    targets = disconnect.add_subparsers(dest="system", metavar="SYSTEM", required=True)
    gusto_off = targets.add_parser("gusto", help="revoke a company's grant at Gusto and forget it")
    gusto_off.add_argument("company_uuid", metavar="COMPANY_UUID")
    gusto_off.add_argument(
        "--force", action="store_true", help="remove from the store even if revoking fails"
    )
    gusto_off.set_defaults(handler=disconnect_gusto)
    dynamics_off = targets.add_parser("dynamics", help="forget an F&O environment")
    dynamics_off.add_argument("name", metavar="NAME")
    dynamics_off.set_defaults(handler=disconnect_dynamics)
