"""The one exception type of the credential store."""

from __future__ import annotations


class VaultError(Exception):
    """Anything wrong with the store: missing/wrong key, tampered file, lock timeout.

    Messages say what to do and never contain key material or stored secrets.
    """
