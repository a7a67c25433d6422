"""OData reads: service document, $metadata, query options, paging, company scoping, keys."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from gd_sandbox.dynamics import DynamicsSandbox
from gd_sandbox.dynamics.odata import loads
from gd_sandbox.dynamics.testing import PinnedSession, data_session


@pytest.fixture(scope="module")
def dyn() -> Iterator[DynamicsSandbox]:
    with DynamicsSandbox(page_size=4) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def http(dyn: DynamicsSandbox) -> PinnedSession:
    return data_session(dyn)


@pytest.fixture(autouse=True)
def _fresh(dyn: DynamicsSandbox) -> None:
    dyn.reset()
    dyn.configure(page_size=4)


def get(http: PinnedSession, dyn: DynamicsSandbox, path: str, **params: str) -> dict[str, Any]:
    resp = http.get(f"{dyn.url}/data/{path}", params=params)
    assert resp.status_code == 200, resp.text
    return loads(resp.content)  # type: ignore[no-any-return]


def all_pages(
    http: PinnedSession, dyn: DynamicsSandbox, path: str, **params: str
) -> list[dict[str, Any]]:
    page = get(http, dyn, path, **params)
    rows = list(page["value"])
    while "@odata.nextLink" in page:
        resp = http.get(page["@odata.nextLink"])
        assert resp.status_code == 200, resp.text
        page = loads(resp.content)
        rows += page["value"]
    return rows


def test_service_document_and_metadata(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    doc = get(http, dyn, "")
    names = {e["name"] for e in doc["value"]}
    required = {
        "LedgerJournalHeaders", "LedgerJournalLines", "MainAccounts", "DimensionAttributes",
        "FinancialDimensionValues", "DimensionIntegrationFormats", "DimensionParameters",
        "OperatingUnits", "JournalNames", "LegalEntities", "Workers", "Employments", "VendorsV2",
        "VendorGroups", "VendInvoiceJournalHeaders", "VendInvoiceJournalLines",
        "GeneralJournalAccountEntries",
    }  # fmt: skip
    assert required <= names
    resp = http.get(f"{dyn.url}/data/$metadata")
    assert resp.headers["Content-Type"].startswith("application/xml")
    root = ET.fromstring(resp.content)
    ns = {"edm": "http://docs.oasis-open.org/odata/ns/edm"}
    line = root.find(".//edm:EntityType[@Name='LedgerJournalLine']", ns)
    assert line is not None
    keys = [p.get("Name") for p in line.findall("edm:Key/edm:PropertyRef", ns)]
    assert keys == ["dataAreaId", "JournalBatchNumber", "LineNumber"]
    props = {p.get("Name"): p.get("Type") for p in line.findall("edm:Property", ns)}
    assert props["DebitAmount"] == "Edm.Decimal"
    assert props["TransDate"] == "Edm.DateTimeOffset"
    assert props["AccountType"] == "Microsoft.Dynamics.DataEntities.LedgerJournalACType"
    sets = {s.get("Name") for s in root.findall(".//edm:EntitySet", ns)}
    assert required <= sets


def test_paging_follows_next_links(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    first = get(http, dyn, "MainAccounts", **{"$count": "true"})
    assert len(first["value"]) == 4
    assert first["@odata.count"] == len(dyn.entities["MainAccounts"])
    assert "$skip=4" in first["@odata.nextLink"]
    rows = all_pages(http, dyn, "MainAccounts")
    assert sorted(r["MainAccountId"] for r in rows) == sorted(
        r["MainAccountId"] for r in dyn.entities["MainAccounts"]
    )


def test_top_skip_and_paging_together(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    rows = all_pages(
        http, dyn, "MainAccounts", **{"$top": "6", "$skip": "2", "$orderby": "MainAccountId"}
    )
    every = sorted(r["MainAccountId"] for r in dyn.entities["MainAccounts"])
    assert [r["MainAccountId"] for r in rows] == every[2:8]


def test_filter_operators(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    def ids(flt: str) -> set[str]:
        return {
            r["MainAccountId"] for r in all_pages(http, dyn, "MainAccounts", **{"$filter": flt})
        }

    assert ids("MainAccountId eq '600100'") == {"600100"}
    assert ids("MainAccountId eq '6001*'") == {"600100", "600110", "600120", "600130", "600140"}
    assert ids("Name eq '*PAYABLE*'") == {"210120", "210130", "210200", "210300", "200100"}
    assert ids("MainAccountId ge '600700' and MainAccountId lt '600900'") == {"600700", "600710"}
    assert ids(
        "MainAccountId eq '999999' or (MainAccountId gt '6007' and MainAccountId le '600700')"
    ) == {
        "999999",
        "600700",
    }
    assert ids("IsSuspended eq Microsoft.Dynamics.DataEntities.NoYes'Yes'") == {"600900"}
    assert "600900" not in ids("IsSuspended ne Microsoft.Dynamics.DataEntities.NoYes'Yes'")
    assert ids("not (MainAccountId ne '210400')") == {"210400"}


def test_filter_on_decimal_and_date(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    rows = all_pages(
        http, dyn, "Employments", **{"$filter": "EmploymentStartDate ge 2020-01-01T00:00:00Z"}
    )
    assert {r["PersonnelNumber"] for r in rows} == {"000102", "000103"}
    curr = all_pages(http, dyn, "Currencies", **{"$filter": "GeneralRoundingRule eq 0.01"})
    assert {r["CurrencyCode"] for r in curr} >= {"USD"}
    assert all(isinstance(r["GeneralRoundingRule"], Decimal) for r in curr)


def test_bad_queries_are_400(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    for params in (
        {"$filter": "NoSuchField eq 'x'"},
        {"$filter": "MainAccountId eq"},
        {"$filter": "MainAccountId in ('1','2')"},
        {"$filter": "IsSuspended gt Microsoft.Dynamics.DataEntities.NoYes'No'"},
        {"$select": "Nope"},
        {"$orderby": "Nope desc"},
        {"$top": "-1"},
        {"$expand": "Lines"},
    ):
        resp = http.get(f"{dyn.url}/data/MainAccounts", params=params)
        assert resp.status_code == 400, params
        assert resp.json()["error"]["innererror"]["message"]


def test_select_orderby_and_count_endpoint(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    page = get(
        http,
        dyn,
        "MainAccounts",
        **{"$select": "MainAccountId", "$orderby": "MainAccountId desc", "$top": "2"},
    )
    assert [set(r) for r in page["value"]] == [{"@odata.etag", "MainAccountId"}] * 2
    assert page["value"][0]["MainAccountId"] == "999999"
    assert "@odata.nextLink" not in page
    resp = http.get(
        f"{dyn.url}/data/MainAccounts/$count", params={"$filter": "MainAccountId eq '6*'"}
    )
    assert resp.status_code == 200
    assert int(resp.text) == len(
        [r for r in dyn.entities["MainAccounts"] if r["MainAccountId"].startswith("6")]
    )


def test_company_scoping(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    default = all_pages(http, dyn, "JournalNames")
    assert {r["dataAreaId"] for r in default} == {"rsc"}
    assert all_pages(http, dyn, "JournalNames", **{"$filter": "dataAreaId eq 'sbc'"}) == []
    cross = all_pages(
        http, dyn, "JournalNames", **{"cross-company": "true", "$filter": "dataAreaId eq 'sbc'"}
    )
    assert {r["Name"] for r in cross} == {"Payroll", "GenJrn", "APInvoice"}
    assert {
        r["dataAreaId"] for r in all_pages(http, dyn, "VendorGroups", **{"cross-company": "true"})
    } == {
        "rsc",
        "sbc",
    }
    # Global entities are not company-scoped.
    assert len(all_pages(http, dyn, "MainAccounts")) == len(dyn.entities["MainAccounts"])


def test_keyed_get_with_quotes_and_etag(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    resp = http.post(
        f"{dyn.url}/data/LedgerJournalHeaders",
        json={"JournalName": "Payroll", "JournalBatchNumber": "O'Brien-1"},
    )
    assert resp.status_code == 201, resp.text
    assert resp.headers["Location"].endswith(
        "LedgerJournalHeaders(dataAreaId='rsc',JournalBatchNumber='O''Brien-1')"
    )
    one = http.get(
        f"{dyn.url}/data/LedgerJournalHeaders(dataAreaId='rsc',JournalBatchNumber='O''Brien-1')"
    )
    assert one.status_code == 200
    body = one.json()
    assert body["@odata.context"].endswith("$metadata#LedgerJournalHeaders/$entity")
    assert body["@odata.etag"] == one.headers["ETag"]
    assert body["JournalBatchNumber"] == "O'Brien-1"
    # Key match is case-insensitive like F&O's SQL collation.
    assert (
        http.get(
            f"{dyn.url}/data/LedgerJournalHeaders(dataAreaId='RSC',JournalBatchNumber='o''brien-1')"
        ).status_code
        == 200
    )
    missing = http.get(
        f"{dyn.url}/data/LedgerJournalHeaders(dataAreaId='rsc',JournalBatchNumber='nope')"
    )
    assert missing.status_code == 404
    other_company = http.get(f"{dyn.url}/data/JournalNames(dataAreaId='sbc',Name='Payroll')")
    assert other_company.status_code == 404
    assert (
        http.get(
            f"{dyn.url}/data/JournalNames(dataAreaId='sbc',Name='Payroll')",
            params={"cross-company": "true"},
        ).status_code
        == 200
    )
    assert (
        http.get(f"{dyn.url}/data/LedgerJournalHeaders(JournalBatchNumber='x')").status_code == 400
    )


def test_single_key_and_unknown_set(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    assert http.get(f"{dyn.url}/data/Workers('000101')").json()["LastName"] == "Alvarez"
    assert (
        http.get(f"{dyn.url}/data/DimensionParameters(0)").json()["DimensionSegmentDelimiter"]
        == "Hyphen"
    )
    assert http.get(f"{dyn.url}/data/ledgerjournalheaders").status_code == 404


def test_dimension_configuration_is_readable(http: PinnedSession, dyn: DynamicsSandbox) -> None:
    formats = all_pages(
        http,
        dyn,
        "DimensionIntegrationFormats",
        **{
            "$filter": "IsActive eq Microsoft.Dynamics.DataEntities.NoYes'Yes' and "
            "DimensionFormatType eq Microsoft.Dynamics.DataEntities.DimensionIntegrationFormatType"
            "'DataEntityLedgerDimensionFormat'"
        },
    )
    assert [f["FinancialDimensionFormat"] for f in formats] == [
        "MainAccount-BusinessUnit-Department-CostCenter"
    ]
    units = all_pages(
        http,
        dyn,
        "OperatingUnits",
        **{
            "$filter": "OperatingUnitType eq "
            "Microsoft.Dynamics.DataEntities.OMOperatingUnitType'OMCostCenter'"
        },
    )
    assert {u["OperatingUnitNumber"] for u in units} == {"DEN", "PHX", "BAK"}
    values = all_pages(
        http, dyn, "FinancialDimensionValues", **{"$filter": "FinancialDimension eq 'BusinessUnit'"}
    )
    assert {v["DimensionValue"] for v in values} == {"100", "200", "900"}
