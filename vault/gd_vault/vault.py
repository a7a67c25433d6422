"""Encrypted credential store: one AES-256-GCM file, atomic replace, fcntl locks.

File format (version 1)::

    b"GDVAULT" (7 bytes magic) | version (1 byte) | nonce (12 bytes) | ciphertext+tag

The 8-byte header (magic + version) is the GCM associated data, so a changed header fails
authentication like any other tampering. The plaintext is UTF-8 JSON of one object.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import re
import secrets
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gd_vault.errors import VaultError
from gd_vault.keys import decode_key, resolve_key
from gd_vault.locks import file_lock
from gd_vault.redact import VaultData, register_secret, wrap

PATH_ENV = "GUSTO_DYNAMICS_VAULT"
DEFAULT_PATH = Path("~/.gusto-dynamics/vault.enc")
MAGIC = b"GDVAULT"
VERSION = 1
HEADER = MAGIC + bytes([VERSION])
NONCE_BYTES = 12
TAG_BYTES = 16
_TMP_PREFIX = "."
_TMP_SUFFIX = ".tmp"
# Which lock files this process holds per thread: flock does exclude two threads of one
# process (each open() is its own lock), so a nested acquire of the same name by the same
# thread would wait forever. We detect that and raise instead.
_held = threading.local()


def _held_set() -> set[str]:
    held: set[str] | None = getattr(_held, "paths", None)
    if held is None:
        held = set()
        _held.paths = held
    return held


def default_path() -> Path:
    """``$GUSTO_DYNAMICS_VAULT`` or ``~/.gusto-dynamics/vault.enc``."""
    configured = os.environ.get(PATH_ENV)
    return Path(configured).expanduser() if configured else DEFAULT_PATH.expanduser()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Vault:
    """Handle on one encrypted store file.

    Locks (``lock()`` and the one ``update()`` takes) are NOT re-entrant: acquiring a name
    this thread already holds raises ``VaultError`` rather than deadlocking. In particular do
    not call ``update()`` or ``rotate_key()`` inside ``with vault.lock(...)`` of the same
    name, and do not call ``update()`` from inside an ``update()`` callback.
    """

    def __init__(self, path: Path, key: bytes) -> None:
        self._path = path
        self._aead = AESGCM(key)

    @classmethod
    def open(cls, path: str | Path | None = None, key: bytes | str | None = None) -> Vault:
        """Open (not yet create) the store at ``path``; the key is resolved now.

        ``key`` overrides the environment/keyring lookup (text form or raw 32 bytes).
        """
        resolved = resolve_key() if key is None else decode_key(key, "the key argument")
        # Whatever echoes the key back (an exception, a server) is scrubbed from then on.
        register_secret(base64.urlsafe_b64encode(resolved))
        store_path = Path(path).expanduser() if path is not None else default_path()
        return cls(store_path.absolute(), resolved)

    @property
    def path(self) -> Path:
        return self._path

    def __repr__(self) -> str:
        return f"Vault(path={str(self._path)!r})"

    __str__ = __repr__

    # -- reading -------------------------------------------------------------------------

    def read(self) -> VaultData:
        """Decrypt and return the whole document; ``{}`` when the file does not exist yet."""
        try:
            blob = self._path.read_bytes()
        except FileNotFoundError:
            return VaultData()
        except OSError as exc:
            raise VaultError(
                f"Cannot read the vault {self._path}: {exc.strerror}. "
                "Check the path and that this user owns the file."
            ) from None
        return self._decrypt(blob, self._aead)

    def _decrypt(self, blob: bytes, aead: AESGCM) -> VaultData:
        where = f"The vault {self._path}"
        # A short file that is a prefix of the magic is a truncated vault, not a foreign file.
        if blob[: len(MAGIC)] != MAGIC[: len(blob)]:
            raise VaultError(
                f"{where} is not a gusto-dynamics vault file (bad magic). Check "
                f"${PATH_ENV} / the path you passed; the file was left untouched."
            )
        if len(blob) < len(HEADER) + NONCE_BYTES + TAG_BYTES:
            raise VaultError(
                f"{where} is truncated ({len(blob)} bytes). Restore it from a backup, or move "
                "it away and reconnect with `gusto-dynamics connect`; it was left untouched."
            )
        version = blob[len(MAGIC)]
        if version != VERSION:
            raise VaultError(
                f"{where} has format version {version}, this build reads version {VERSION}. "
                "Upgrade gusto-dynamics; the file was left untouched."
            )
        nonce = blob[len(HEADER) : len(HEADER) + NONCE_BYTES]
        ciphertext = blob[len(HEADER) + NONCE_BYTES :]
        try:
            plaintext = aead.decrypt(nonce, ciphertext, HEADER)
        except InvalidTag:
            raise VaultError(
                f"{where} cannot be decrypted: the key is wrong, or the file was modified or "
                "corrupted. Check $GUSTO_DYNAMICS_VAULT_KEY / $GUSTO_DYNAMICS_VAULT_KEY_FILE / "
                "the keyring entry; if the key is right, restore the file from a backup. "
                "The file was left untouched."
            ) from None
        try:
            document = json.loads(plaintext.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise VaultError(
                f"{where} decrypted but does not hold a JSON document; restore it from a backup."
            ) from None
        if not isinstance(document, dict):
            raise VaultError(f"{where} does not hold a JSON object; restore it from a backup.")
        wrapped: VaultData = wrap(document)
        return wrapped

    # -- writing -------------------------------------------------------------------------

    def _encrypt(self, document: dict[str, Any], aead: AESGCM) -> bytes:
        try:
            plaintext = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
        except (TypeError, ValueError) as exc:
            raise VaultError(
                f"Cannot store this data in the vault: {exc}. Store only JSON types "
                "(str, int, bool, None, lists, dicts; money as strings)."
            ) from None
        nonce = secrets.token_bytes(NONCE_BYTES)
        return HEADER + nonce + aead.encrypt(nonce, plaintext, HEADER)

    def _ensure_dir(self) -> None:
        directory = self._path.parent
        if not directory.exists():
            try:
                directory.mkdir(parents=True, mode=0o700)
            except FileExistsError:
                return  # another thread or process created it first (and set its mode)
            # mkdir's mode is filtered by the umask; be explicit.
            directory.chmod(0o700)

    def _write_atomically(self, blob: bytes) -> None:
        directory = self._path.parent
        fd, tmp_name = tempfile.mkstemp(
            dir=directory, prefix=f"{_TMP_PREFIX}{self._path.name}.", suffix=_TMP_SUFFIX
        )
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(blob)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, self._path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
            raise
        _fsync_dir(directory)

    def _remove_stale_temps(self) -> None:
        # Only called under the write lock, so any temp file left is from a killed writer.
        pattern = f"{_TMP_PREFIX}{self._path.name}.*{_TMP_SUFFIX}"
        for stale in self._path.parent.glob(pattern):
            with contextlib.suppress(OSError):
                stale.unlink()

    def update(
        self, fn: Callable[[VaultData], dict[str, Any] | None], *, timeout: float | None = None
    ) -> VaultData:
        """Read-modify-write under the store's exclusive inter-process lock.

        ``fn`` gets the current document and either mutates it in place (returning ``None``)
        or returns the new document. Returns what was written. If reading fails (wrong key,
        tampered file) nothing is written.
        """
        with self._locked(self._write_lock_path(), "vault write", timeout):
            current = self.read()
            result = fn(current)
            new = current if result is None else result
            if not isinstance(new, dict):
                raise VaultError(
                    f"The vault update function returned {type(new).__name__}; it must return "
                    "a dict or None (after changing the dict in place). Nothing was written."
                )
            blob = self._encrypt(new, self._aead)
            self._remove_stale_temps()
            self._write_atomically(blob)
            written: VaultData = wrap(new)
            return written

    def rotate_key(self, new_key: bytes | str, *, timeout: float | None = None) -> None:
        """Re-encrypt the store with ``new_key`` (text form or raw 32 bytes) in one atomic replace.

        Afterwards this handle uses the new key; point ``$GUSTO_DYNAMICS_VAULT_KEY(_FILE)`` or
        the keyring at it for every other process.
        """
        new_aead = AESGCM(decode_key(new_key, "the new key"))
        with self._locked(self._write_lock_path(), "vault write", timeout):
            if not self._path.exists():
                raise VaultError(
                    f"There is no vault at {self._path} to re-encrypt; nothing to rotate."
                )
            document = self.read()
            blob = self._encrypt(document, new_aead)
            # Prove the new file opens with the new key before it replaces the old one.
            self._decrypt(blob, new_aead)
            self._remove_stale_temps()
            self._write_atomically(blob)
            self._aead = new_aead

    # -- locks ---------------------------------------------------------------------------

    def _write_lock_path(self) -> Path:
        return self._path.with_name(f"{self._path.name}.lock")

    def _named_lock_path(self, name: str) -> Path:
        slug = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:80]
        digest = hashlib.sha256(name.encode()).hexdigest()[:12]
        return self._path.with_name(f"{self._path.name}.{slug}.{digest}.lock")

    @contextlib.contextmanager
    def lock(self, name: str, *, timeout: float | None = None) -> Iterator[None]:
        """Exclusive named lock shared by every process and thread using this store.

        ``timeout`` (seconds) makes it raise ``VaultError`` instead of waiting forever.
        Not re-entrant (see the class docstring).
        """
        if not name:
            raise VaultError("A vault lock needs a non-empty name, e.g. 'gusto-refresh:<uuid>'.")
        with self._locked(self._named_lock_path(name), f"lock {name!r}", timeout):
            yield

    @contextlib.contextmanager
    def _locked(self, lock_path: Path, label: str, timeout: float | None) -> Iterator[None]:
        key = str(lock_path)
        held = _held_set()
        if key in held:
            raise VaultError(
                f"This thread already holds the {label} of {self._path}; vault locks are not "
                "re-entrant. Restructure the code so the lock is taken once."
            )
        self._ensure_dir()

        def timed_out() -> VaultError:
            return VaultError(
                f"Timed out after {timeout}s waiting for the {label} of {self._path}: another "
                "gusto-dynamics process holds it. Let it finish, then retry."
            )

        with file_lock(lock_path, timeout=timeout, timed_out=timed_out):
            held.add(key)
            try:
                yield
            finally:
                held.discard(key)
