"""Pure: a Gusto contractor -> the Dynamics vendor it should be (decide; ``sync`` does).

The vendor account comes from the mapping (an explicit link first, then the scheme), so a rerun
finds the vendor it created before; a linked vendor is the customer's and is only filled in.
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass
from typing import Any, Literal

from target_dynamics_fo.mapping import CompanyMapping

VENDOR_FIELDS = (
    "dataAreaId",
    "VendorAccountNumber",
    "VendorGroupId",
    "VendorPartyType",
    "VendorOrganizationName",
    "PersonFirstName",
    "PersonLastName",
)
# The vendor group is never PATCHed: it drives posting profiles, and AP may have moved the
# vendor on purpose (hotglue's F&O target excludes it from updates for the same reason).
NAME_FIELDS = ("VendorPartyType", "VendorOrganizationName", "PersonFirstName", "PersonLastName")


class VendorError(ValueError):
    """A contractor cannot become a vendor; the message names the contractor and the fix."""


def vendor_fields(contractor: AbcMapping[str, Any]) -> dict[str, str]:
    """VendorsV2 name fields for a Gusto contractor (Organization or Person)."""
    uuid = str(contractor.get("uuid") or "(no uuid)")
    kind = contractor.get("type")
    if kind == "Business":
        name = str(contractor.get("business_name") or "").strip()
        if not name:
            raise VendorError(
                f"contractor {uuid} is a Business without business_name; add the business name "
                "in Gusto"
            )
        return {"VendorPartyType": "Organization", "VendorOrganizationName": name}
    if kind == "Individual":
        first = str(contractor.get("first_name") or "").strip()
        last = str(contractor.get("last_name") or "").strip()
        if not last:
            raise VendorError(
                f"contractor {uuid} is an Individual without last_name; complete the contractor "
                "in Gusto"
            )
        return {"VendorPartyType": "Person", "PersonFirstName": first, "PersonLastName": last}
    raise VendorError(
        f"contractor {uuid} has type {kind!r}; Gusto contractors are 'Individual' or 'Business' "
        "(check the tap's contractors stream)"
    )


@dataclass(frozen=True)
class VendorPlan:
    action: Literal["create", "update", "none", "fail"]
    body: AbcMapping[str, Any]
    detail: str
    fix: str = ""
    # a difference deliberately not written (a linked vendor's identity), for the run's warnings
    report: str = ""


_PARTY_NAME_FIELDS: dict[str, tuple[str, ...]] = {
    "Organization": ("VendorOrganizationName",),
    "Person": ("PersonFirstName", "PersonLastName"),
}


def plan_vendor(
    contractor: AbcMapping[str, Any],
    company: CompanyMapping,
    vendor_account: str,
    existing: AbcMapping[str, Any] | None,
) -> VendorPlan:
    """Create, rename, leave alone or refuse: never a second vendor for one contractor."""
    uuid = str(contractor.get("uuid") or "")
    le = company.legal_entity.lower()
    settings = company.contractors
    try:
        fields = vendor_fields(contractor)
    except VendorError as exc:
        return VendorPlan("fail", {}, str(exc), "correct the contractor in Gusto, then rerun")
    if existing is None:
        if uuid in settings.links:
            return VendorPlan(
                "fail",
                {},
                f"contractor {uuid} is linked to vendor {vendor_account} in the mapping, but "
                f"legal entity {le} has no vendor {vendor_account}",
                f"fix {company.key_path}.contractors.links or create the vendor, then rerun",
            )
        if not settings.create_vendors:
            return VendorPlan(
                "fail",
                {},
                f"contractor {uuid} has no vendor {vendor_account} in {le} and vendor creation "
                f"is off ({company.key_path}.contractors.create_vendors: false)",
                f"create vendor {vendor_account} in Dynamics, link the contractor under "
                f"{company.key_path}.contractors.links, or set create_vendors: true; then rerun",
            )
        body = {
            "dataAreaId": le,
            "VendorAccountNumber": vendor_account,
            "VendorGroupId": settings.vendor_group,
            "CurrencyCode": company.currency,
            **fields,
        }
        return VendorPlan("create", body, f"create vendor {vendor_account} in {le}")
    changed = {k: v for k, v in fields.items() if str(existing.get(k) or "") != v}
    if uuid in settings.links and not settings.update_linked_vendors:
        return _plan_linked(uuid, company, vendor_account, existing, changed)
    if not changed:
        return VendorPlan("none", {}, f"vendor {vendor_account} in {le} is up to date")
    was = ", ".join(f"{k} {str(existing.get(k) or '')!r} -> {v!r}" for k, v in changed.items())
    return VendorPlan("update", changed, f"update vendor {vendor_account} in {le}: {was}")


def _plan_linked(
    uuid: str,
    company: CompanyMapping,
    vendor_account: str,
    existing: AbcMapping[str, Any],
    changed: dict[str, str],
) -> VendorPlan:
    """A linked vendor is the customer's: keep its party type and names, only fill blanks.

    Only the name fields of the vendor's own party type are filled; Gusto's view of the
    contractor as a person or a business never turns an organisation into a person.
    """
    le = company.legal_entity.lower()
    party = str(existing.get("VendorPartyType") or "")
    own = _PARTY_NAME_FIELDS.get(party, ())
    fill = {k: v for k, v in changed.items() if k in own and not str(existing.get(k) or "")}
    kept = {k: v for k, v in changed.items() if k not in fill}
    report = ""
    if kept:
        was = ", ".join(
            f"{k} {str(existing.get(k) or '')!r} (Gusto: {v!r})" for k, v in kept.items()
        )
        report = (
            f"vendor {vendor_account} in {le}, linked to contractor {uuid}, differs from Gusto "
            f"and was left as it is: {was}; change it in Dynamics if Gusto is right, or set "
            f"{company.key_path}.contractors.update_linked_vendors: true to let the connector "
            "overwrite it"
        )
    if fill:
        filled = ", ".join(f"{k} -> {v!r}" for k, v in fill.items())
        return VendorPlan(
            "update",
            fill,
            f"fill empty fields of linked vendor {vendor_account} in {le}: {filled}",
            report=report,
        )
    detail = report or f"linked vendor {vendor_account} in {le} is up to date"
    return VendorPlan("none", {}, detail, report=report)
