"""Gusto tokens from plain settings, for installs without the encrypted credential store.

A data engineer who keeps secrets in their own manager (Meltano's .env, Vault, AWS Secrets
Manager, a CI secret) gives the tap ``client_id``, ``client_secret``, ``company_ids`` (one
company) and ``refresh_token``, like any SDK tap. Gusto's refresh token is single-use and rotates
on every refresh, so the rotated one must survive the run: it is written to
``refresh_token_path`` (mode 0600, temp file + fsync + atomic rename, parent folder fsynced)
*before* the new access token is used for the first time. A crash at any point therefore leaves
either the old token (still valid: nothing used the new access token) or the new one on disk.

From then on the file wins over the ``refresh_token`` setting, whose value is spent. The file is
the only copy of a live secret: keep it out of version control (``.gusto-dynamics/`` is in
.gitignore) and back it up like the secret it is.

The class offers the same four members ``TokenManager`` uses of ``gd_vault.Vault``
(``path``, ``read``, ``update``, ``lock``), so the refresh rules are the same code for both.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gd_vault.redact import register_secret

from tap_gusto.errors import GustoAuthError
from tap_gusto.files import locked, replace_json

DIRECTORY_MODE = 0o700
# The token fields kept in the file; anything else of the company record stays in memory.
TOKEN_FIELDS = ("refresh_token", "access_token", "expires_at", "last_refresh_at")


class PlainTokenStore:
    """One company's token set in a JSON file, seeded from the ``refresh_token`` setting."""

    def __init__(self, path: str | Path, company_uuid: str, refresh_token: str | None) -> None:
        self._path = Path(path).expanduser()
        self.company_uuid = company_uuid
        self._seed = refresh_token
        if refresh_token:
            register_secret(refresh_token)

    def __repr__(self) -> str:
        return f"PlainTokenStore(path={str(self._path)!r}, company_uuid={self.company_uuid!r})"

    @property
    def path(self) -> Path:
        return self._path

    def _load(self) -> dict[str, Any]:
        try:
            stored = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            stored = {}
        except (OSError, ValueError) as exc:
            raise GustoAuthError(
                f"refresh_token_path {self._path} is not a readable token file "
                f"({type(exc).__name__}). Restore it from your backup, or set refresh_token to "
                "a new token from Gusto and remove the file."
            ) from None
        record = {key: stored[key] for key in TOKEN_FIELDS if stored.get(key) is not None}
        if not record.get("refresh_token") and self._seed:
            record["refresh_token"] = self._seed
        for key in ("refresh_token", "access_token"):
            if isinstance(record.get(key), str):
                register_secret(record[key])
        return record

    def read(self) -> dict[str, Any]:
        """The store layout ``TokenManager`` reads: ``gusto.companies.<uuid>``."""
        return {"gusto": {"companies": {self.company_uuid: self._load()}}}

    def update(self, apply: Callable[[dict[str, Any]], None]) -> None:
        data = self.read()
        apply(data)
        record = data["gusto"]["companies"].get(self.company_uuid) or {}
        self._write({key: record[key] for key in TOKEN_FIELDS if record.get(key) is not None})

    def _write(self, record: dict[str, Any]) -> None:
        self._ensure_folder()
        replace_json(self._path, record)

    @contextlib.contextmanager
    def lock(self, name: str, *, timeout: float | None = None) -> Iterator[None]:
        """One refresh at a time across processes sharing the file (an flock beside it)."""
        self._ensure_folder()
        with locked(self._path):
            yield

    def _ensure_folder(self) -> None:
        folder = self._path.parent
        if not folder.exists():
            folder.mkdir(parents=True, mode=DIRECTORY_MODE)
