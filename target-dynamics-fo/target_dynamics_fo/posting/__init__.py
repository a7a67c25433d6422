"""Exactly-once posting of documents to Dynamics: the one engine journals, corrections and AP
invoices share (:mod:`.engine`), the content hash in a header Description (:mod:`.content`) and
the single changeset send with its look-ups (:mod:`.send`). Import from here."""

from __future__ import annotations

from target_dynamics_fo.posting.checks import LineKey, PrePostCheck, Refusal
from target_dynamics_fo.posting.content import (
    DESCRIPTION_LENGTH,
    HASH_PREFIX_LENGTH,
    described,
    hash_in_description,
    journal_header,
    stored_hash,
)
from target_dynamics_fo.posting.engine import Decision, Document, ExactlyOnce, PostResult, Rules
from target_dynamics_fo.posting.send import Faults, Sent, send_once

__all__ = [
    "DESCRIPTION_LENGTH",
    "HASH_PREFIX_LENGTH",
    "Decision",
    "Document",
    "ExactlyOnce",
    "Faults",
    "LineKey",
    "PostResult",
    "PrePostCheck",
    "Refusal",
    "Rules",
    "Sent",
    "described",
    "hash_in_description",
    "journal_header",
    "send_once",
    "stored_hash",
]
