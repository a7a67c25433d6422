"""The loopback redirect receiver, over real HTTP."""

from __future__ import annotations

import socket

import pytest
import requests
from gusto_dynamics.connect import CallbackServer, ConnectError, scrub


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_receives_code_and_state() -> None:
    uri = f"http://127.0.0.1:{_free_port()}/callback"
    with CallbackServer(uri, "expected") as server:
        assert requests.get(f"{uri.rsplit('/', 1)[0]}/favicon.ico", timeout=5).status_code == 404
        response = requests.get(uri, params={"code": "abc", "state": "expected"}, timeout=5)
        assert response.status_code == 200
        redirect = server.wait(5)
    assert redirect is not None
    assert (redirect.code, redirect.state, redirect.error) == ("abc", "expected", None)


def test_state_mismatch_is_reported() -> None:
    uri = f"http://127.0.0.1:{_free_port()}/cb"
    with CallbackServer(uri, "expected") as server:
        response = requests.get(uri, params={"code": "abc", "state": "forged"}, timeout=5)
        assert response.status_code == 400
        redirect = server.wait(5)
    assert redirect is not None and redirect.state == "forged"


def test_error_redirect() -> None:
    uri = f"http://127.0.0.1:{_free_port()}/cb"
    with CallbackServer(uri, "s") as server:
        requests.get(uri, params={"error": "access_denied", "state": "s"}, timeout=5)
        redirect = server.wait(5)
    assert redirect is not None and redirect.error == "access_denied"


def test_nothing_arrives() -> None:
    with CallbackServer(f"http://127.0.0.1:{_free_port()}/cb", "s") as server:
        assert server.wait(0.05) is None


@pytest.mark.parametrize(
    "uri",
    ["https://127.0.0.1:8443/cb", "http://example.com:8080/cb", "http://127.0.0.1/cb"],
)
def test_only_loopback_http_with_port(uri: str) -> None:
    with pytest.raises(ConnectError, match="redirect-uri"):
        CallbackServer(uri, "s")


def test_port_in_use() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        with pytest.raises(ConnectError, match="Cannot listen"):
            CallbackServer(f"http://127.0.0.1:{port}/cb", "s")


def test_scrub() -> None:
    assert scrub("token abc and abc", ["abc", None, ""]) == "token *** and ***"
