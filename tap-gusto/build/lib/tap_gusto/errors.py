"""Errors raised by tap-gusto. Messages name the company/record and the fix, never a secret."""

from __future__ import annotations

from singer_sdk.exceptions import FatalAPIError


class GustoTapError(FatalAPIError):
    """Base class: every tap-gusto error stops the sync (a finance run must not half-succeed)."""


class MalformedAmountError(GustoTapError):
    """A money/hours value from Gusto is not a plain decimal number."""


class IncompletePayrollError(GustoTapError):
    """The pages of one payroll did not add up to the count Gusto announced."""


class GustoAuthError(GustoTapError):
    """Token problems: missing grant, rejected refresh token, bad client credentials."""


class ReconnectRequiredError(GustoAuthError):
    """The company's grant is dead; an admin has to run the OAuth connection again."""


class GustoAPIError(GustoTapError):
    """Gusto answered a request with a non-retriable error status."""


class IncompleteExtractionError(GustoTapError):
    """A company's payrolls could not all be listed; its partition emitted nothing."""
