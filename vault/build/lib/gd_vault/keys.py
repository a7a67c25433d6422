"""Vault key material: generation, parsing and resolution from env, key file or OS keyring."""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from gd_vault.errors import VaultError

KEY_ENV = "GUSTO_DYNAMICS_VAULT_KEY"
KEY_FILE_ENV = "GUSTO_DYNAMICS_VAULT_KEY_FILE"
KEYRING_SERVICE = "gusto-dynamics"
KEYRING_USERNAME = "vault-key"
KEY_BYTES = 32

_HOW_TO_GET_A_KEY = (
    "Create one with `gusto-dynamics key generate --file PATH` and set "
    f"{KEY_FILE_ENV}=PATH (or export {KEY_ENV}=<the printed key>)."
)


def generate_key() -> bytes:
    """Return a new random key in its text form (urlsafe base64 of 32 bytes, as ASCII bytes).

    This is the form that goes into ``$GUSTO_DYNAMICS_VAULT_KEY``, a key file or the keyring.
    """
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES))


def decode_key(material: bytes | str, source: str) -> bytes:
    """Turn key material (text form, or the raw 32 bytes) into the raw AES-256 key.

    ``source`` names where the material came from so the error can say which setting to fix;
    the material itself never appears in the message.
    """
    if isinstance(material, bytes) and len(material) == KEY_BYTES:
        return material
    text = material.decode("ascii", "replace") if isinstance(material, bytes) else material
    text = text.strip()
    if not text:
        raise VaultError(f"The vault key from {source} is empty. {_HOW_TO_GET_A_KEY}")
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise VaultError(
            f"The vault key from {source} is not a valid key (expected urlsafe base64 of "
            f"{KEY_BYTES} bytes, 44 characters). {_HOW_TO_GET_A_KEY}"
        )
    return raw


def read_key_file(path: str | Path) -> bytes:
    """Read and decode a key file written by ``gusto-dynamics key generate``."""
    key_path = Path(path).expanduser()
    try:
        material = key_path.read_bytes()
    except FileNotFoundError:
        raise VaultError(
            f"The vault key file {key_path} does not exist. {_HOW_TO_GET_A_KEY}"
        ) from None
    except OSError as exc:
        raise VaultError(
            f"Cannot read the vault key file {key_path}: {exc.strerror}. "
            "Check the path and that this user may read it."
        ) from None
    return decode_key(material, f"key file {key_path}")


def write_key_file(path: str | Path, material: bytes) -> Path:
    """Write key material to a new file with mode 0600; refuse to overwrite an existing key."""
    key_path = Path(path).expanduser()
    key_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise VaultError(
            f"{key_path} already exists; refusing to overwrite a key (the vault it opens would "
            "become unreadable). Choose another path or remove the old file yourself."
        ) from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(material.strip() + b"\n")
        handle.flush()
        os.fsync(handle.fileno())
    return key_path


def _keyring_key() -> bytes | None:
    try:
        import keyring  # noqa: PLC0415 - optional dependency, only used when installed
    except ImportError:
        return None
    try:
        value = keyring.get_password(KEYRING_SERVICE, KEYRING_USERNAME)
    except Exception:  # any keyring backend failure means "no key there"
        return None
    if not value:
        return None
    return decode_key(value, f"OS keyring (service {KEYRING_SERVICE!r})")


def store_key_in_keyring(material: bytes) -> None:
    """Save key material in the OS keyring (needs the optional ``keyring`` package)."""
    try:
        import keyring  # noqa: PLC0415 - optional dependency
    except ImportError:
        raise VaultError(
            "The `keyring` package is not installed; install it or use a key file instead."
        ) from None
    decode_key(material, "the new key")
    try:
        keyring.set_password(KEYRING_SERVICE, KEYRING_USERNAME, material.decode("ascii"))
    except Exception as exc:  # backend errors vary; report the type only
        raise VaultError(
            f"Could not store the key in the OS keyring ({type(exc).__name__}). "
            "Use a key file instead."
        ) from None


def resolve_key() -> bytes:
    """Find the vault key and return the raw 32-byte AES key.

    Order: ``$GUSTO_DYNAMICS_VAULT_KEY``, the file named by ``$GUSTO_DYNAMICS_VAULT_KEY_FILE``,
    then the OS keyring when the optional ``keyring`` package is installed.
    """
    env_value = os.environ.get(KEY_ENV)
    if env_value:
        return decode_key(env_value, f"${KEY_ENV}")
    key_file = os.environ.get(KEY_FILE_ENV)
    if key_file:
        return read_key_file(key_file)
    from_keyring = _keyring_key()
    if from_keyring is not None:
        return from_keyring
    raise VaultError(f"No vault key found. {_HOW_TO_GET_A_KEY}")
