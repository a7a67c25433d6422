"""``/data/$metadata``: a CSDL document for the entity sets the sandbox serves."""

from __future__ import annotations

from functools import cache
from xml.sax.saxutils import quoteattr

from .entities import ENTITY_DEFS, NAMESPACE, all_enum_types

_EDM = {
    "str": "Edm.String",
    "dec": "Edm.Decimal",
    "int": "Edm.Int64",
    "date": "Edm.DateTimeOffset",
    "guid": "Edm.Guid",
}


@cache
def csdl_document() -> str:
    out: list[str] = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">',
        "<edmx:DataServices>",
        f'<Schema Namespace="{NAMESPACE}" xmlns="http://docs.oasis-open.org/odata/ns/edm">',
    ]
    for entity in ENTITY_DEFS.values():
        out.append(f"<EntityType Name={quoteattr(entity.type_name)}>")
        out.append("<Key>")
        out.extend(f"<PropertyRef Name={quoteattr(k)} />" for k in entity.keys)
        out.append("</Key>")
        for name, kind in entity.fields.items():
            edm = f"{NAMESPACE}.{kind[5:]}" if kind.startswith("enum:") else _EDM[kind]
            extra = ' Precision="32" Scale="6"' if kind == "dec" else ""
            nullable = "false" if name in entity.keys or kind in ("dec", "date", "int") else "true"
            out.append(
                f"<Property Name={quoteattr(name)} Type={quoteattr(edm)} "
                f'Nullable="{nullable}"{extra} />'
            )
        out.append("</EntityType>")
    for enum_name, members in sorted(all_enum_types().items()):
        out.append(f"<EnumType Name={quoteattr(enum_name)}>")
        out.extend(f'<Member Name={quoteattr(m)} Value="{i}" />' for i, m in enumerate(members))
        out.append("</EnumType>")
    out.append('<EntityContainer Name="Resources">')
    for entity in ENTITY_DEFS.values():
        out.append(
            f"<EntitySet Name={quoteattr(entity.set_name)} "
            f"EntityType={quoteattr(NAMESPACE + '.' + entity.type_name)} />"
        )
    out.append("</EntityContainer>")
    out.extend(["</Schema>", "</edmx:DataServices>", "</edmx:Edmx>"])
    return "\n".join(out)
