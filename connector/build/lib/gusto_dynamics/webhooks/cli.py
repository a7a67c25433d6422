"""`gusto-dynamics webhooks serve|subscribe|verify|list` (registered in ``gusto_dynamics.cli``)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gusto_dynamics.cli import CommandError, emit, open_vault
from gusto_dynamics.runner import DEFAULT_COMMAND, KIND_PAYROLL, KIND_PEOPLE
from gusto_dynamics.webhooks.app import (
    DEFAULT_BODY_TIMEOUT_SECONDS,
    DEFAULT_HEADER_TIMEOUT_SECONDS,
    DEFAULT_MAX_BODY,
    DEFAULT_MAX_CONNECTIONS,
    WEBHOOK_PATH,
    ReceiverSettings,
    serve,
)
from gusto_dynamics.webhooks.store import verification_tokens
from gusto_dynamics.webhooks.subscriptions import (
    DEFAULT_TYPES,
    GustoAppClient,
    WebhookSetupError,
    parse_types,
    reverify,
    subscribe,
)

PAYROLL_COMMAND_ENV = "GUSTO_DYNAMICS_PAYROLL_COMMAND"
PEOPLE_COMMAND_ENV = "GUSTO_DYNAMICS_PEOPLE_COMMAND"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    settings = ReceiverSettings(
        host=args.host,
        port=args.port,
        max_body=args.max_body,
        commands={KIND_PAYROLL: args.payroll_command, KIND_PEOPLE: args.people_command},
        state_dir=Path(args.state_dir).expanduser() if args.state_dir else None,
        vault=Path(args.vault).expanduser() if args.vault else None,
        max_parallel=args.max_parallel,
        run_timeout_seconds=args.run_timeout,
        cwd=Path(args.project_dir).expanduser() if args.project_dir else None,
        header_timeout_seconds=args.header_timeout,
        body_timeout_seconds=args.body_timeout,
        max_connections=args.max_connections,
    )
    try:
        serve(settings)
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot start the webhook receiver: {exc}") from None
    return 0


def _token_reader(args: argparse.Namespace) -> Any:
    if not args.verification_token_stdin:
        return None

    def read() -> str:
        if sys.stdin.isatty():
            emit("Paste the verification token Gusto POSTed to the URL, then Enter:", sys.stderr)
        return sys.stdin.readline()

    return read


def _client(args: argparse.Namespace) -> tuple[Any, GustoAppClient]:
    store = open_vault(args)
    with _setup_errors():
        return store, GustoAppClient.from_store(store, args.api_url)


@contextlib.contextmanager
def _setup_errors() -> Iterator[None]:
    """A failed webhook setup step ends the command with the step's own message."""
    try:
        yield
    except WebhookSetupError as exc:
        raise CommandError(str(exc)) from None


def _print_subscription(subscription: dict[str, Any]) -> None:
    emit(f"Subscription {subscription.get('uuid')} is {subscription.get('status', 'verified')}.")
    emit(f"  url:   {subscription.get('url')}")
    emit(f"  types: {', '.join(subscription.get('subscription_types') or [])}")
    emit("  The verification token is stored encrypted; the receiver uses it to check signatures.")


def _subscribe(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT)
    store, client = _client(args)
    with _setup_errors():
        types = parse_types(args.types)
        if not args.verification_token_stdin:
            emit(
                f"Creating the subscription; waiting up to {args.wait:.0f} s for Gusto's "
                f"verification token at {args.url} (the receiver must be running)...",
                sys.stderr,
            )
        subscription = subscribe(
            store,
            client,
            args.url,
            types,
            wait_seconds=args.wait,
            token_reader=_token_reader(args),
        )
    _print_subscription(subscription)
    return 0


def _verify(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT)
    store, client = _client(args)
    with _setup_errors():
        subscription = reverify(
            store,
            client,
            args.subscription_uuid,
            wait_seconds=args.wait,
            token_reader=_token_reader(args),
        )
    _print_subscription(subscription)
    return 0


def _list(args: argparse.Namespace) -> int:
    store, client = _client(args)
    with _setup_errors():
        remote = client.list()
    local = {uuid for uuid, _ in verification_tokens(store.read())}
    rows: list[dict[str, Any]] = [
        {
            "uuid": s.get("uuid"),
            "url": s.get("url"),
            "status": s.get("status"),
            "subscription_types": s.get("subscription_types") or [],
            "token_stored": s.get("uuid") in local,
        }
        for s in remote
    ]
    if args.json:
        emit(json.dumps({"subscriptions": rows}, indent=2))
        return 0
    if not rows:
        emit("No webhook subscriptions. Create one with `gusto-dynamics webhooks subscribe`.")
        return 0
    for row in rows:
        stored = "token stored" if row["token_stored"] else "NO token stored: run `webhooks verify`"
        emit(f"{row['uuid']}  {row['status']:<11} {row['url']}  ({stored})")
        emit(f"    types: {', '.join(row['subscription_types'])}")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    webhooks = subparsers.add_parser(
        "webhooks", help="receive signed Gusto webhooks and manage subscriptions"
    )
    sub = webhooks.add_subparsers(dest="webhooks_command", metavar="ACTION", required=True)

    serve_p = sub.add_parser(
        "serve",
        help=f"run the receiver (POST {WEBHOOK_PATH}); payroll events start pipeline runs",
    )
    serve_p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    serve_p.add_argument("--port", type=int, default=8787, help="port (default 8787; 0 = any)")
    serve_p.add_argument(
        "--max-body",
        type=int,
        default=DEFAULT_MAX_BODY,
        help=f"largest accepted body in bytes (default {DEFAULT_MAX_BODY}); larger gets 413",
    )
    serve_p.add_argument(
        "--header-timeout",
        type=float,
        default=DEFAULT_HEADER_TIMEOUT_SECONDS,
        help="seconds a client has to send a request's headers before the connection is "
        f"closed (default {DEFAULT_HEADER_TIMEOUT_SECONDS:g})",
    )
    serve_p.add_argument(
        "--body-timeout",
        type=float,
        default=DEFAULT_BODY_TIMEOUT_SECONDS,
        help=f"seconds to receive a body before answering 408 (default "
        f"{DEFAULT_BODY_TIMEOUT_SECONDS:g})",
    )
    serve_p.add_argument(
        "--max-connections",
        type=int,
        default=DEFAULT_MAX_CONNECTIONS,
        help=f"connections served at once; more get 503 (default {DEFAULT_MAX_CONNECTIONS})",
    )
    serve_p.add_argument(
        "--payroll-command",
        default=os.environ.get(PAYROLL_COMMAND_ENV, DEFAULT_COMMAND),
        help=f"shell command for payroll events (default ${PAYROLL_COMMAND_ENV} or "
        f"'{DEFAULT_COMMAND}'); gets TAP_GUSTO_COMPANY_IDS and may use {{company_uuid}}",
    )
    serve_p.add_argument(
        "--people-command",
        default=os.environ.get(PEOPLE_COMMAND_ENV, DEFAULT_COMMAND),
        help=f"shell command for employee/contractor events (default ${PEOPLE_COMMAND_ENV} "
        "or the payroll default)",
    )
    serve_p.add_argument(
        "--max-parallel",
        type=int,
        default=1,
        help="runs at once across companies (default 1: meltano refuses concurrent runs of "
        "one pipeline state)",
    )
    serve_p.add_argument(
        "--run-timeout", type=float, default=3600.0, help="seconds before a run is stopped"
    )
    serve_p.add_argument(
        "--state-dir", help="event ledger and run logs (default: the store's directory)"
    )
    serve_p.add_argument("--project-dir", help="working directory for runs (the Meltano project)")
    serve_p.set_defaults(handler=_serve)

    for name, helptext in (
        ("subscribe", "create a Gusto webhook subscription and verify it"),
        ("verify", "re-request and confirm the verification token of a subscription"),
    ):
        p = sub.add_parser(name, help=helptext)
        if name == "subscribe":
            p.add_argument("--url", required=True, help="public https URL of the receiver")
            p.add_argument(
                "--types",
                help=f"comma-separated subscription types (default {','.join(DEFAULT_TYPES)})",
            )
            p.set_defaults(handler=_subscribe)
        else:
            p.add_argument("subscription_uuid")
            p.set_defaults(handler=_verify)
        p.add_argument(
            "--wait",
            type=float,
            default=120.0,
            help="seconds to wait for the token to reach the running receiver (default 120)",
        )
        p.add_argument(
            "--verification-token-stdin",
            action="store_true",
            help="read the token from stdin instead (receiver not run by this tool)",
        )
        p.add_argument("--api-url", help="Gusto API base URL (default: the store's gusto.app)")

    list_p = sub.add_parser("list", help="list Gusto webhook subscriptions")
    list_p.add_argument("--json", action="store_true", help="machine-readable output")
    list_p.add_argument("--api-url", help="Gusto API base URL (default: the store's gusto.app)")
    list_p.set_defaults(handler=_list)
