"""gusto-dynamics-vault: the encrypted credential store shared by every gusto-dynamics part."""

from gd_vault.errors import VaultError
from gd_vault.keys import (
    KEY_ENV,
    KEY_FILE_ENV,
    KEYRING_SERVICE,
    decode_key,
    generate_key,
    read_key_file,
    resolve_key,
    store_key_in_keyring,
    write_key_file,
)
from gd_vault.redact import (
    MASK,
    SECRET_FIELDS,
    VaultData,
    install_log_redaction,
    redact,
    register_secret,
    scrub,
)
from gd_vault.vault import PATH_ENV, Vault, default_path

__all__ = [
    "KEYRING_SERVICE",
    "KEY_ENV",
    "KEY_FILE_ENV",
    "MASK",
    "PATH_ENV",
    "SECRET_FIELDS",
    "Vault",
    "VaultData",
    "VaultError",
    "decode_key",
    "default_path",
    "generate_key",
    "install_log_redaction",
    "read_key_file",
    "redact",
    "register_secret",
    "resolve_key",
    "scrub",
    "store_key_in_keyring",
    "write_key_file",
]
