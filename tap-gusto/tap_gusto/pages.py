"""Gusto's ``page``/``per`` lists: the SDK's paginator for its request loop, and ``paged`` for
requests a stream or the connector sends itself."""

from __future__ import annotations

import functools
import typing as t
from collections.abc import Callable, Iterator
from decimal import Decimal

import requests
from singer_sdk.pagination import BaseAPIPaginator

MAX_PAGE_SIZE = 100


def total_pages(response: requests.Response) -> int | None:
    """Gusto's ``X-Total-Pages``, when it sent a usable one."""
    value = response.headers.get("X-Total-Pages", "").strip()
    return int(value) if value.isdigit() else None


def list_body(body: t.Any) -> t.Any:
    """The paged list of a plain list endpoint: the body itself."""
    return body


def next_page(
    current: int, response: requests.Response, page_size: int, listed: Callable[[], t.Any]
) -> int | None:
    """The page after ``current``: trust ``X-Total-Pages``; without it stop on a short page.

    ``listed`` is called only without the header, so a header-paged body is parsed only once.
    """
    total = total_pages(response)
    if total is not None:
        return current + 1 if current < total else None
    items = listed()
    return current + 1 if isinstance(items, list) and len(items) >= page_size else None


class GustoPaginator(BaseAPIPaginator[int]):
    """``page``/``per`` pagination for the SDK's request loop (``next_page`` decides)."""

    def __init__(self, page_size: int, items: Callable[[t.Any], t.Any] = list_body) -> None:
        super().__init__(1)
        self.page_size = page_size
        self.items = items

    def get_next(self, response: requests.Response) -> int | None:
        def listed() -> t.Any:
            try:
                return self.items(response.json(parse_float=Decimal))
            except ValueError:
                return None

        return next_page(self.current_value, response, self.page_size, listed)


def paged(
    fetch: Callable[[int], requests.Response],
    page_size: int,
    items: Callable[[t.Any], t.Any] = list_body,
) -> Iterator[tuple[requests.Response, t.Any]]:
    """Every page ``fetch(page)`` returns, with its body parsed (money stays ``Decimal``).

    ``items`` finds the paged list in a body (a payroll pages its ``employee_compensations``).
    An endpoint that ignores ``page``/``per`` answers the same bytes again: that page is not
    yielded twice.
    """
    page: int | None = 1
    previous: bytes | None = None
    while page is not None:
        response = fetch(page)
        if total_pages(response) is None and response.content == previous:
            return
        previous = response.content
        body = response.json(parse_float=Decimal)
        yield response, body
        page = next_page(page, response, page_size, functools.partial(items, body))
