"""Signed Gusto webhooks: receiver, event ledger, subscriptions."""

from gusto_dynamics.webhooks.signature import SIGNATURE_HEADER, matching_subscription, sign

__all__ = ["SIGNATURE_HEADER", "matching_subscription", "sign"]
