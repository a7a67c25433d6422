"""Records cut to their stream's schema in one compiled pass (instead of the SDK's conforming).

The SDK conforms every record value by value, reading the JSON schema again at each one (what
type, is it a list, an exclusive boolean): for a 5,000-employee payroll that was half the tap's
CPU. The tap's values are already exact JSON types (responses are parsed with
``parse_float=Decimal`` and money is converted by ``convert_fields``), so the streams switch the
SDK's conforming off (``TYPE_CONFORMANCE_LEVEL = NONE``) and call :func:`conform_record`, which
does what the SDK's recursive level does for such values, with the schema compiled once:

* properties not in the schema are dropped and named once in a warning, at every depth (this
  keeps fields the connector does not use out of its output, e.g. the employees' ``ssn``);
  an object schema with ``additionalProperties`` keeps unknown ones as they are;
* a non-finite float or Decimal becomes null;
* a value of an exclusively boolean property becomes ``value != 0`` (null stays null).

A value of any other Python type (a date, bytes) is not something a JSON response holds: it is
refused rather than passed on unconformed.
"""

from __future__ import annotations

import gc
import logging
import math
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from singer_sdk.streams import Stream


@contextmanager
def paused_gc() -> Iterator[None]:
    """Run the block without the cyclic garbage collector.

    Building and walking one large record (a payroll of thousands of employees) allocates
    millions of dicts and lists, and each allocation burst triggers collections that traverse
    every live object again: about a third of the CPU for a 50,000-employee payroll. These
    records hold no reference cycles, so nothing is lost by collecting after the block instead.
    """
    if not gc.isenabled():  # already paused by an enclosing block
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


_JSON_SCALARS = (str, int, bool, type(None))


@dataclass
class _Property:
    """How one property's value is conformed."""

    exclusive_boolean: bool = False
    #: Set when the property is a uniform list: how each item is conformed.
    items: _Property | None = None
    #: Set when the property is an object with properties (a dict value is recursed into).
    obj: _Object | None = None


@dataclass
class _Object:
    properties: dict[str, _Property] = field(default_factory=dict)
    additional: bool = False


def _types(schema: dict[str, Any]) -> list[Any]:
    if "anyOf" not in schema and "type" not in schema:
        return []
    return list(schema.get("anyOf", [schema.get("type")]))


def _is_object(schema: dict[str, Any]) -> bool:
    # As the SDK's own is_object_type (0.54): "object" in the type or type list.
    return any(
        ("object" in kind or kind == "object") for kind in _types(schema) if kind is not None
    )


def _is_array(schema: dict[str, Any]) -> bool:
    # As the SDK's own is_array_type (0.54), without its errors on empty schemas.
    if "anyOf" in schema:
        return any(_is_array(sub) for sub in schema["anyOf"])
    if "allOf" in schema:
        return all(_is_array(sub) for sub in schema["allOf"])
    return "type" in schema and "array" in schema["type"]


def _is_exclusive_boolean(schema: dict[str, Any]) -> bool:
    if "type" not in schema:
        return False
    kind = schema["type"]
    return kind in ("boolean", ["boolean"]) or set(kind) == {"boolean", "null"}


def _compile_property(schema: dict[str, Any]) -> _Property:
    prop = _Property(exclusive_boolean=_is_exclusive_boolean(schema))
    items = schema.get("items")
    if _is_array(schema) and isinstance(items, dict) and "prefixItems" not in schema:
        prop.items = _compile_property(items)
    elif _is_object(schema) and "properties" in schema:
        prop.obj = compile_schema(schema)
    return prop


def compile_schema(schema: dict[str, Any]) -> _Object:
    """The conforming plan of an object schema (a stream's schema at the top)."""
    return _Object(
        properties={
            str(name): _compile_property(sub) for name, sub in schema["properties"].items()
        },
        additional=bool(schema.get("additionalProperties")),
    )


class _Unmapped(list[str]):
    """Paths of properties dropped from one record."""


def _object(
    value: dict[str, Any], plan: _Object, path: str | None, unmapped: _Unmapped
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    properties = plan.properties
    for name, elem in value.items():
        prop = properties.get(name)
        if prop is None:
            if plan.additional:
                out[name] = elem
            else:
                unmapped.append(name if path is None else f"{path}.{name}")
            continue
        kind = type(elem)
        if kind is str or kind is int or kind is bool or elem is None:
            # Most values: inline, and without building a path only a warning would use.
            out[name] = (None if elem is None else elem != 0) if prop.exclusive_boolean else elem
        else:
            out[name] = _value(elem, prop, name if path is None else f"{path}.{name}", unmapped)
    return out


def _value(elem: Any, prop: _Property, path: str, unmapped: _Unmapped) -> Any:
    kind = type(elem)
    if kind is list:
        if prop.items is not None:
            item_prop = prop.items
            if item_prop.obj is None and not item_prop.exclusive_boolean:
                # A list of plain values (or of objects without a schema): only non-finite
                # numbers change, and Gusto sends none; checked all the same.
                return [_primitive(item, item_prop) for item in elem]
            return [
                _object(item, item_prop.obj, path, unmapped)
                if item_prop.obj is not None and type(item) is dict
                else _primitive(item, item_prop)
                for item in elem
            ]
    elif kind is dict and prop.obj is not None:
        return _object(elem, prop.obj, path, unmapped)
    return _primitive(elem, prop)


def _primitive(elem: Any, prop: _Property) -> Any:
    kind = type(elem)
    if kind is Decimal or kind is float:
        return elem if math.isfinite(elem) else None
    if prop.exclusive_boolean:
        return None if elem is None else elem != 0
    if kind in _JSON_SCALARS or kind is list or kind is dict:
        return elem
    raise TypeError(
        f"tap-gusto produced a {kind.__name__} value, which a JSON response cannot hold; "
        "report this to the maintainers"
    )


def conform_record(
    record: dict[str, Any], plan: _Object, stream: str, logger: logging.Logger, warned: set[str]
) -> dict[str, Any]:
    """``record`` cut to ``plan``; dropped properties are warned about once per stream."""
    unmapped = _Unmapped()
    out = _object(record, plan, None, unmapped)
    if unmapped:
        names = tuple(unmapped)
        key = repr(names)
        if key not in warned:
            warned.add(key)
            logger.warning(
                "Properties %s were present in the '%s' stream but not found in catalog "
                "schema. Ignoring.",
                names,
                stream,
            )
    return out


# Per stream: (the schema its plan was compiled from, the plan). Weak keys: a tap's streams go
# away with it (tests build many taps).
_PLANS: weakref.WeakKeyDictionary[Stream, tuple[dict[str, Any], _Object]] = (
    weakref.WeakKeyDictionary()
)
_WARNED: weakref.WeakKeyDictionary[Stream, set[str]] = weakref.WeakKeyDictionary()


def conform_stream_record(stream: Stream, record: dict[str, Any]) -> dict[str, Any]:
    """``record`` conformed to ``stream``'s effective schema (the catalog's when one is given)."""
    schema = stream.effective_schema
    cached = _PLANS.get(stream)
    if cached is None or cached[0] is not schema:
        cached = (schema, compile_schema(schema))
        _PLANS[stream] = cached
    warned = _WARNED.setdefault(stream, set())
    return conform_record(record, cached[1], stream.name, stream.logger, warned)
