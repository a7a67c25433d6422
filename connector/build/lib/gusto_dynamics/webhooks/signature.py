"""``X-Gusto-Signature``: hex HMAC-SHA256 of the raw body keyed with the verification token."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

SIGNATURE_HEADER = "X-Gusto-Signature"


def sign(body: bytes, verification_token: str) -> str:
    return hmac.new(verification_token.encode(), body, hashlib.sha256).hexdigest()


def matching_subscription(
    body: bytes, signature: str | None, tokens: Iterable[tuple[str, str]]
) -> str | None:
    """Return the subscription uuid whose token signed ``body``, or None.

    Every stored token is tried (several subscriptions, or an old and a re-verified one) and each
    comparison is constant-time; the loop does not stop early so timing says nothing about which
    token matched.
    """
    if not signature:
        return None
    presented = signature.strip().lower().encode()
    found: str | None = None
    for subscription_uuid, token in tokens:
        if hmac.compare_digest(sign(body, token).encode(), presented) and found is None:
            found = subscription_uuid
    return found
