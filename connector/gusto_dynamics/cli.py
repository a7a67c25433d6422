"""`gusto-dynamics` admin command line.

Subcommands live in their own modules; each module listed in ``COMMAND_MODULES`` exposes
``register(subparsers)`` that adds its parsers and sets ``handler`` (``fn(args) -> int``) as a
default. To add a command group, write such a module and append its name here.
"""

from __future__ import annotations

import argparse
import base64
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TextIO

from gd_vault import (
    KEY_ENV,
    KEY_FILE_ENV,
    PATH_ENV,
    Vault,
    VaultError,
    generate_key,
    install_log_redaction,
    read_key_file,
    resolve_key,
    scrub,
    store_key_in_keyring,
    write_key_file,
)

COMMAND_MODULES: list[str] = [
    "gusto_dynamics.cli",
    "gusto_dynamics.connect",
    "gusto_dynamics.status",
    "gusto_dynamics.webhooks.cli",
    "gusto_dynamics.calendar",
    "gusto_dynamics.reconcile.command",
]

EXIT_OK = 0
EXIT_FAILED = 1


class CommandError(Exception):
    """A command could not do its job; the message tells the user what to fix.

    Raise it (or a subclass) from any handler: the CLI prints ``error: <message>`` and exits 1.
    Never put a secret in the message.
    """


class _Registrar(Protocol):
    def __call__(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None: ...


def emit(text: str = "", stream: TextIO | None = None) -> None:
    """Write one line of user-facing output (stdout unless told otherwise)."""
    target = sys.stdout if stream is None else stream
    target.write(f"{text}\n")
    target.flush()


def open_vault(args: argparse.Namespace) -> Vault:
    """The store named by ``--vault`` (else ``$GUSTO_DYNAMICS_VAULT`` or the default path)."""
    path: str | None = getattr(args, "vault", None)
    return Vault.open(path)


def build_parser() -> argparse.ArgumentParser:
    what = "Connect Gusto and Dynamics 365 F&O and manage the encrypted credential store."
    parser = argparse.ArgumentParser(prog="gusto-dynamics", description=what)
    parser.add_argument(
        "--vault",
        metavar="PATH",
        help=f"credential store file (default: ${PATH_ENV} or ~/.gusto-dynamics/vault.enc)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        register: _Registrar = importlib.import_module(module_name).register
        register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Every log line of every command (and the webhook receiver) goes through one rule.
    install_log_redaction()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.handler(args)
    except (CommandError, VaultError) as exc:
        emit(f"error: {scrub(str(exc))}", sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        emit("interrupted; nothing more was changed.", sys.stderr)
        return 130
    return result


# -- key management: thin wrappers around gd_vault ------------------------------------------


def _key_generate(args: argparse.Namespace) -> int:
    material = generate_key()
    if args.keyring:
        store_key_in_keyring(material)
        emit("Stored a new vault key in the OS keyring (service 'gusto-dynamics').")
        emit(f"Leave {KEY_ENV} and {KEY_FILE_ENV} unset so the keyring is used.")
        return EXIT_OK
    if args.file:
        path = write_key_file(args.file, material)
        emit(f"Wrote a new vault key to {path} (mode 0600). Use it with:")
        emit(f"  export {KEY_FILE_ENV}={path}")
        return EXIT_OK
    emit(material.decode("ascii"))
    emit(f"# export {KEY_ENV}=<the key above>   (or save it with --file PATH)", sys.stderr)
    return EXIT_OK


def _rotate_key(args: argparse.Namespace) -> int:
    new_key = read_key_file(args.new_key_file)
    vault = open_vault(args)
    current = resolve_key()
    if current == new_key:
        raise CommandError(
            f"{args.new_key_file} holds the key the store already uses; generate a new one with "
            "`gusto-dynamics key generate --file PATH`."
        )
    # With neither variable set the current key came from the keyring, which must follow.
    from_keyring = not os.environ.get(KEY_ENV) and not os.environ.get(KEY_FILE_ENV)
    vault.rotate_key(new_key)
    emit(f"Re-encrypted {vault.path} with the key from {args.new_key_file}.")
    if args.keyring or from_keyring:
        try:
            store_key_in_keyring(base64.urlsafe_b64encode(new_key))
        except VaultError as exc:
            raise CommandError(
                f"The store is now encrypted with the key in {args.new_key_file}, but saving it "
                f"in the keyring failed: {exc} Set {KEY_FILE_ENV}={args.new_key_file}."
            ) from None
        emit("Stored the new key in the OS keyring.")
    else:
        emit("Every process now needs the new key, e.g.:")
        emit(f"  export {KEY_FILE_ENV}={Path(args.new_key_file).expanduser().absolute()}")
    emit("Keep the old key until you have checked `gusto-dynamics status` works, then destroy it.")
    return EXIT_OK


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    key = subparsers.add_parser("key", help="manage the credential store key")
    key_sub = key.add_subparsers(dest="key_command", metavar="ACTION", required=True)
    generate = key_sub.add_parser("generate", help="create a new random store key")
    where = generate.add_mutually_exclusive_group()
    where.add_argument("--file", metavar="PATH", help="write the key to PATH (mode 0600)")
    where.add_argument(
        "--keyring", action="store_true", help="store the key in the OS keyring (needs `keyring`)"
    )
    generate.set_defaults(handler=_key_generate)

    rotate = subparsers.add_parser(
        "rotate-key", help="re-encrypt the store with a new key (atomic)"
    )
    rotate.add_argument(
        "--new-key-file",
        required=True,
        metavar="PATH",
        help="file with the new key (make one with `gusto-dynamics key generate --file PATH`)",
    )
    rotate.add_argument(
        "--keyring", action="store_true", help="also store the new key in the OS keyring"
    )
    rotate.set_defaults(handler=_rotate_key)
