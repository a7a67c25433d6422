"""Token requests against the Dynamics sandbox's Entra over HTTPS: outages are retried until a
deadline, refusals are not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from gd_sandbox.dynamics import DynamicsSandbox
from target_dynamics_fo.fo import DynamicsAuthError, EntraTokenProvider


@pytest.fixture(scope="module")
def dyn() -> Iterator[DynamicsSandbox]:
    with DynamicsSandbox(port=0) as sandbox:
        yield sandbox


def provider(dyn: DynamicsSandbox, secret: str | None = None) -> EntraTokenProvider:
    return EntraTokenProvider(
        dyn.url,
        dyn.tenant_id,
        dyn.client_id,
        client_secret=secret or dyn.client_secret,
        authority_host=dyn.url,
        ca_bundle=dyn.ca_bundle,
    )


def token_answers(dyn: DynamicsSandbox) -> dict[str, int]:
    return dict(dyn.stats["requests"].get("token", {}).get("POST", {}))


def test_a_transient_entra_503_is_retried_and_a_token_issued(dyn: DynamicsSandbox) -> None:
    dyn.reset()
    dyn.faults["token_unavailable_next"] = 2
    tokens = provider(dyn)
    assert tokens.token()
    answers = token_answers(dyn)
    assert answers.get("503") == 2 and answers.get("200") == 1


def test_an_outage_past_the_deadline_fails_with_a_clear_message(dyn: DynamicsSandbox) -> None:
    dyn.reset()
    dyn.faults["token_unavailable_next"] = 1000
    tokens = provider(dyn)
    tokens.token_deadline_seconds = 2
    with pytest.raises(DynamicsAuthError, match="stayed unavailable") as err:
        tokens.token()
    assert "nothing was posted" in str(err.value)
    assert token_answers(dyn).get("503", 0) >= 1
    dyn.faults["token_unavailable_next"] = 0


def test_a_wrong_secret_is_not_retried(dyn: DynamicsSandbox) -> None:
    dyn.reset()
    with pytest.raises(DynamicsAuthError) as err:
        provider(dyn, secret="not-the-secret").token()
    assert "not-the-secret" not in str(err.value)
    assert sum(token_answers(dyn).values()) == 1
