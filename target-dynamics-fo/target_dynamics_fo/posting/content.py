"""How a document in Dynamics says what it holds: its header Description ends ``#<hash prefix>``.

Dynamics itself is then the record of what was posted: a header found under the document's
deterministic number is compared with the content the document would have now.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from target_dynamics_fo.fo import Operation

HASH_PREFIX_LENGTH = 16
# LedgerJournalTable.Name (the header Description) holds 60 characters.
DESCRIPTION_LENGTH = 60
_HASH_IN_DESCRIPTION = re.compile(r"#([0-9a-f]{8,64})\s*$")


def described(description: str, content_hash: str) -> str:
    """A header Description: the builder's text, ending with ``#<hash prefix>``."""
    text = description.strip()
    present = hash_in_description(text)
    if present and content_hash.startswith(present) and len(text) <= DESCRIPTION_LENGTH:
        return text
    marker = f"#{content_hash[:HASH_PREFIX_LENGTH]}"
    room = DESCRIPTION_LENGTH - len(marker) - 1
    return f"{text[:room].rstrip()} {marker}"


def hash_in_description(description: str | None) -> str | None:
    match = _HASH_IN_DESCRIPTION.search(description or "")
    return match.group(1) if match else None


def stored_hash(header: Mapping[str, Any], content_hash: str) -> tuple[bool, str | None]:
    """Whether a header found in Dynamics holds this content, and the hash prefix it holds."""
    stored = hash_in_description(str(header.get("Description") or ""))
    return stored is not None and content_hash.startswith(stored), stored


def journal_header(  # noqa: PLR0917 - one per header field
    entity: str, odata_type: str, legal_entity: str, number: str, name: str, description: str
) -> Operation:
    """The POST of a journal header: filed under its number, its Description ending in the hash
    (:func:`described`), so a look-up by number finds it and tells what it holds."""
    body = {
        "dataAreaId": legal_entity.lower(),
        "JournalBatchNumber": number,
        "JournalName": name,
        "Description": description,
    }
    return Operation("POST", entity, body, odata_type=odata_type)
