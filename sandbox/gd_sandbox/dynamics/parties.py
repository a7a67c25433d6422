"""Validation of vendors, vendor groups, workers and employments, and the worker status that
follows a worker's employments."""

from __future__ import annotations

from typing import Any

from .accounts import AccountChecks
from .entities import ENTITY_DEFS, MAX_DATE
from .odata import write_error


class PartyRules(AccountChecks):
    def _validate_VendorsV2(  # noqa: N802
        self, row: dict[str, Any], old: dict[str, Any] | None, given: dict[str, Any]
    ) -> None:
        aot = ENTITY_DEFS["VendorsV2"].aot_name
        company = row["dataAreaId"]
        self._check_company(aot, company)
        self._require(aot, row, "VendorGroupId")
        if (
            self.store.get(
                "VendorGroups", {"dataAreaId": company, "VendorGroupId": row["VendorGroupId"]}
            )
            is None
        ):
            raise write_error(
                aot,
                f"Warning: The value '{row['VendorGroupId']}' in field 'Vendor group' is not found "
                "in the related table 'Vendor groups'.",
                "Warning: validateField failed on field 'VendVendorV2Entity.VendorGroupId'.",
            )
        party = row["VendorPartyType"] or "Organization"
        if party not in ("Organization", "Person"):
            raise write_error(
                aot, f"Error: VendorPartyType '{party}' must be Organization or Person."
            )
        if party == "Organization":
            self._require(aot, row, "VendorOrganizationName")
        else:
            self._require(aot, row, "PersonLastName")
        if row["CurrencyCode"]:
            self._check_currency(aot, row["CurrencyCode"], "CurrencyCode")
        else:
            row["CurrencyCode"] = "USD"

    def _validate_VendorGroups(  # noqa: N802
        self, row: dict[str, Any], old: dict[str, Any] | None, given: dict[str, Any]
    ) -> None:
        aot = ENTITY_DEFS["VendorGroups"].aot_name
        self._check_company(aot, row["dataAreaId"])
        self._require(aot, row, "VendorGroupId")

    def _validate_Workers(  # noqa: N802
        self, row: dict[str, Any], old: dict[str, Any] | None, given: dict[str, Any]
    ) -> None:
        aot = ENTITY_DEFS["Workers"].aot_name
        if not row["Name"]:
            row["Name"] = " ".join(
                p for p in (row["FirstName"], row["MiddleName"], row["LastName"]) if p
            )
        self._require(aot, row, "PersonnelNumber", "LastName")

    def _validate_Employments(  # noqa: N802
        self, row: dict[str, Any], old: dict[str, Any] | None, given: dict[str, Any]
    ) -> None:
        aot = ENTITY_DEFS["Employments"].aot_name
        self._require(aot, row, "PersonnelNumber", "LegalEntityId")
        row["LegalEntityId"] = row["LegalEntityId"].lower()
        if self.store.get("Workers", {"PersonnelNumber": row["PersonnelNumber"]}) is None:
            raise write_error(
                aot,
                f"Error: Worker '{row['PersonnelNumber']}' does not exist. Create the Workers "
                "record first.",
            )
        self._check_company(aot, row["LegalEntityId"])
        if row["EmploymentStartDate"] == "1900-01-01T12:00:00Z":
            raise write_error(aot, "Error: Field 'EmploymentStartDate' must be filled in.")
        self.check_default_dimensions(
            aot, row["LegalEntityId"], "DimensionDisplayValue", row["DimensionDisplayValue"]
        )
        if row["EmploymentEndDate"] < row["EmploymentStartDate"]:
            raise write_error(
                aot,
                f"Error: The employment end date {row['EmploymentEndDate']} is before the start "
                f"date {row['EmploymentStartDate']}.",
            )
        for other in self.store.rows("Employments"):
            if old is not None and self.store.key_of("Employments", other) == self.store.key_of(
                "Employments", old
            ):
                continue
            if (
                other["PersonnelNumber"].casefold() == row["PersonnelNumber"].casefold()
                and other["LegalEntityId"] == row["LegalEntityId"]
                and other["EmploymentStartDate"] <= row["EmploymentEndDate"]
                and row["EmploymentStartDate"] <= other["EmploymentEndDate"]
                and self.store.key_of("Employments", other) != self.store.key_of("Employments", row)
            ):
                raise write_error(
                    aot,
                    f"Error: Worker {row['PersonnelNumber']} already has an employment in "
                    f"{row['LegalEntityId']} from {other['EmploymentStartDate']} to "
                    f"{other['EmploymentEndDate']} that overlaps this one.",
                )

    def _update_worker_status(self, row: dict[str, Any]) -> None:
        """Worker status follows the open-ended employments (no wall clock involved)."""
        worker = self.store.get("Workers", {"PersonnelNumber": row["PersonnelNumber"]})
        if worker is None:
            return
        mine = [
            e
            for e in self.store.rows("Employments")
            if e["PersonnelNumber"].casefold() == row["PersonnelNumber"].casefold()
        ]
        status = (
            "Employed"
            if any(e["EmploymentEndDate"] == MAX_DATE for e in mine)
            else "Terminated"
            if mine
            else "None"
        )
        if worker["WorkerStatus"] != status:
            self.store.put("Workers", {**worker, "WorkerStatus": status})
