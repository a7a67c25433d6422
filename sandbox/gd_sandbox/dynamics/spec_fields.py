"""Entity-set definitions of the simulated F&O OData service, read from ``fo_spec.json``.

The field tables there follow the property names, key paths and types of the F&O 10.0.47 CSDL
(as published in third-party OpenAPI derivations). Field kinds: ``str``, ``dec`` (Edm.Decimal),
``int`` (Edm.Int32/Int64), ``date`` (Edm.DateTimeOffset), ``guid`` and ``enum:<EnumType>``.
Entity sets that are missing from that source (Workers, OperatingUnits,
DimensionIntegrationFormats, LegalEntities, Ledgers, GeneralJournalAccountEntries and the vendor
invoice journal) are described by hand in ``entities.py`` from the field lists in the notes and the
captured USMF payloads.

The tables are data, not code, so they live in a JSON file shipped as package data.
``zero_members`` names the zero value of enum types the CSDL excerpt references without listing
their members (``None`` where it is not named).
"""

from __future__ import annotations

from gd_sandbox.data import load

_DATA = load(__package__, "fo_spec.json")

SPEC_ENTITIES: dict[str, tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]]] = {
    set_name: (spec["type"], tuple(spec["keys"]), tuple(spec["fields"].items()))
    for set_name, spec in _DATA["entities"].items()
}
ENUMS: dict[str, tuple[str, ...]] = {
    name: tuple(members) for name, members in _DATA["enums"].items()
}
ZERO_MEMBERS: dict[str, str] = dict(_DATA["zero_members"])
