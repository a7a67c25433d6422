"""The one Gusto client (tap_gusto.api): retries, 401 refresh, paging (no network, no wall time)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from singer_sdk.exceptions import RetriableAPIError
from tap_gusto.api import GustoClient, RefreshingAuth, paged, token_pair


def answer(
    status: int, body: Any = None, headers: dict[str, str] | None = None
) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body if body is not None else {}).encode()
    response.headers.update(headers or {})
    return response


class ScriptedSession(requests.Session):
    """Answers requests from a script; an exception in the script is raised instead."""

    def __init__(self, script: list[requests.Response | Exception]) -> None:
        super().__init__()
        self.script = script
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        item = self.script.pop(0)
        if isinstance(item, Exception):
            raise item
        item.request = request
        item.url = str(request.url)
        return item


class CountingAuth(RefreshingAuth):
    def __init__(self) -> None:
        self.tokens = iter(["first", "second", "third"])
        self.current = next(self.tokens)
        self.refreshed: list[str] = []

    def token(self) -> str:
        return self.current

    def refresh_after_unauthorized(self, rejected: str) -> object:
        self.refreshed.append(rejected)
        self.current = next(self.tokens)
        return None


def client(script: list[requests.Response | Exception], **kw: Any) -> tuple[GustoClient, Any]:
    slept: list[float] = []
    session = ScriptedSession(script)
    gusto = GustoClient(api_url="https://gusto.test/", session=session, sleep=slept.append, **kw)
    return gusto, (session, slept)


def test_429_waits_exactly_retry_after_then_succeeds() -> None:
    gusto, (session, slept) = client(
        [answer(429, headers={"Retry-After": "7"}), answer(200, [{"uuid": "a"}])]
    )
    response = gusto.get("/v1/companies")
    assert response.status_code == 200
    assert slept == [7.0]
    assert len(session.sent) == 2


def test_5xx_on_get_backs_off_then_gives_up_with_the_response() -> None:
    gusto, (session, slept) = client([answer(503)] * 3, max_tries=3)
    with pytest.raises(RetriableAPIError) as err:
        gusto.get("/v1/companies")
    assert err.value.response is not None and err.value.response.status_code == 503
    assert len(session.sent) == 3
    assert 2.0 <= slept[0] < 3.0 and 4.0 <= slept[1] < 5.0


def test_a_post_is_not_resent_after_a_5xx_or_a_dropped_connection() -> None:
    gusto, (session, _slept) = client([answer(500)])
    with pytest.raises(RetriableAPIError):
        gusto.request("POST", "/v1/webhook_subscriptions", json={"url": "https://x"})
    assert len(session.sent) == 1
    gusto, (session, _slept) = client([requests.ConnectionError("reset")])
    with pytest.raises(requests.ConnectionError):
        gusto.request("POST", "/v1/webhook_subscriptions", json={"url": "https://x"})
    assert len(session.sent) == 1


def test_a_post_is_resent_after_a_429() -> None:
    gusto, (session, slept) = client([answer(429, headers={"Retry-After": "1"}), answer(201)])
    assert gusto.request("POST", "/v1/webhook_subscriptions").status_code == 201
    assert slept == [1.0] and len(session.sent) == 2


def test_401_refreshes_once_and_resends_with_the_new_token() -> None:
    auth = CountingAuth()
    gusto, (session, _slept) = client([answer(401), answer(401)], auth=auth)
    assert gusto.get("/v1/companies").status_code == 401  # still 401: the caller says so
    assert auth.refreshed == ["first"]
    assert [r.headers["Authorization"] for r in session.sent] == [
        "Bearer first",
        "Bearer second",
    ]


def test_headers_carry_the_api_version() -> None:
    gusto, (session, _slept) = client([answer(200)], api_version="2026-06-15")
    gusto.get("/v1/token_info")
    assert session.sent[0].headers["X-Gusto-API-Version"] == "2026-06-15"
    assert session.sent[0].url == "https://gusto.test/v1/token_info"


def pages_of(*bodies: tuple[Any, dict[str, str]]) -> Iterator[requests.Response]:
    return iter(answer(200, body, headers) for body, headers in bodies)


def test_paged_trusts_total_pages_then_short_page() -> None:
    responses = pages_of(([1, 2], {"X-Total-Pages": "2"}), ([3], {"X-Total-Pages": "2"}))
    seen: list[int] = []

    def fetch(page: int) -> requests.Response:
        seen.append(page)
        return next(responses)

    assert [body for _r, body in paged(fetch, 2)] == [[1, 2], [3]]
    assert seen == [1, 2]
    short = pages_of(([1, 2], {}), ([3], {}))
    assert [body for _r, body in paged(lambda _p: next(short), 2)] == [[1, 2], [3]]


def test_paged_does_not_repeat_a_page_an_endpoint_answered_twice() -> None:
    same = pages_of(([1, 2], {}), ([1, 2], {}))
    assert [body for _r, body in paged(lambda _p: next(same), 2)] == [[1, 2]]


def test_paged_keeps_money_decimal() -> None:
    response = requests.Response()
    response.status_code = 200
    response._content = b'[{"amount": 10.10}]'
    bodies = [body for _r, body in paged(lambda _p: response, 100)]
    assert str(bodies[0][0]["amount"]) == "10.10"


def test_token_pair_needs_both_tokens() -> None:
    assert token_pair(answer(200, {"access_token": "a"})) is None
    assert token_pair(answer(200, ["a"])) is None
    assert token_pair(answer(200, {"access_token": "a", "refresh_token": "r"})) == {
        "access_token": "a",
        "refresh_token": "r",
    }
