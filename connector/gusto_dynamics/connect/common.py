"""What every connect/disconnect step shares: its error and how it reads a secret."""

from __future__ import annotations

import getpass
import sys

from gusto_dynamics.cli import CommandError

DEFAULT_REDIRECT_URI = "http://127.0.0.1:8765/callback"
HTTP_TIMEOUT_SECONDS = 30.0


class ConnectError(CommandError):
    """A connect/disconnect step failed; nothing half-done was stored."""


def read_secret(from_stdin: bool, prompt: str) -> str:
    """A secret from one stdin line or an interactive prompt: never from argv."""
    secret = sys.stdin.readline().strip() if from_stdin else getpass.getpass(prompt).strip()
    if not secret:
        source = "stdin" if from_stdin else "the prompt"
        raise ConnectError(f"No secret was given on {source}; nothing was stored.")
    return secret
