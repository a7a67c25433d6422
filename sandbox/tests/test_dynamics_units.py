"""Pure pieces of the Dynamics sandbox: exact-decimal JSON, key predicates, display values."""

from __future__ import annotations

from decimal import Decimal

import pytest
from gd_sandbox.dynamics.batch import parse_batch
from gd_sandbox.dynamics.entities import ENTITY_DEFS
from gd_sandbox.dynamics.odata import ODataError, dumps, loads, parse_key_predicate
from gd_sandbox.dynamics.service import FnoService
from gd_sandbox.dynamics.store import Store
from hypothesis import given
from hypothesis import strategies as st

amounts = st.decimals(
    min_value=Decimal("-99999999.99"), max_value=Decimal("99999999.99"), places=2, allow_nan=False
)


@given(st.lists(amounts, max_size=20))
def test_decimal_json_round_trip_is_exact(values: list[Decimal]) -> None:
    back = loads(dumps({"v": values}))["v"]
    assert [Decimal(b) for b in back] == values


def test_float_never_reaches_the_wire() -> None:
    with pytest.raises(TypeError):
        dumps({"DebitAmount": 0.1})


def test_key_predicates() -> None:
    lines = ENTITY_DEFS["LedgerJournalLines"]
    keys = parse_key_predicate(
        lines, "dataAreaId='rsc',JournalBatchNumber='A,B''C)',LineNumber=2.0"
    )
    assert keys == {
        "dataAreaId": "rsc",
        "JournalBatchNumber": "A,B'C)",
        "LineNumber": Decimal("2.0"),
    }
    emp = ENTITY_DEFS["Employments"]
    keys = parse_key_predicate(
        emp,
        "PersonnelNumber='1',LegalEntityId='rsc',EmploymentStartDate=2020-01-01T12:00:00Z,"
        "EmploymentEndDate=2154-12-31T23:59:59Z",
    )
    assert keys["EmploymentEndDate"] == "2154-12-31T23:59:59Z"
    with pytest.raises(ODataError):
        parse_key_predicate(lines, "dataAreaId='rsc'")
    with pytest.raises(ODataError):
        parse_key_predicate(lines, "dataAreaId='rsc,JournalBatchNumber='x',LineNumber=1")


@pytest.mark.parametrize(
    ("value", "parts"),
    [
        ("600100-100-110-DEN", ["600100", "100", "110", "DEN"]),
        ("401100---", ["401100", "", "", ""]),
        (r"US\-101", ["US-101"]),
        ("210400", ["210400"]),
    ],
)
def test_display_value_split(value: str, parts: list[str]) -> None:
    assert FnoService(Store()).split_display_value(value) == parts


def test_batch_parser_rejects_get_in_changeset() -> None:
    body = (
        b"--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\n"
        b"Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
        b"GET JournalNames HTTP/1.1\r\n\r\n\r\n--c--\r\n--b--\r\n"
    )
    with pytest.raises(ODataError, match="GET requests are not allowed inside a changeset"):
        parse_batch(body, "multipart/mixed; boundary=b")
