"""Reading a mapping file: strict YAML, then the model, with every problem worded for a user.

Each problem names its key path (companies.'<uuid>'.accounts.net_pay), says what to do, and,
when read from a file, the line of the nearest key, so a user fixes the whole file in one pass.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import yaml
from pydantic import BaseModel, Tag, ValidationError
from pydantic_core import ErrorDetails

from target_dynamics_fo.mapping.build import build_mapping
from target_dynamics_fo.mapping.checks import AT, MISSING_TABLE, PROBLEM
from target_dynamics_fo.mapping.company import Mapping, MappingError
from target_dynamics_fo.mapping.model import MappingFile, PlainKeys

TOP_LEVEL = "(top level)"
# Where each key of the file sits: key path (as strings) -> 1-based line.
Lines = dict[tuple[str, ...], int]


def parse_mapping(data: dict[str, Any], source: str = "<mapping>") -> Mapping:
    return _parse(data, source, {})


def _parse(data: object, source: str, lines: Lines) -> Mapping:
    try:
        model = MappingFile.model_validate(data)
    except ValidationError as exc:
        raise MappingError([_problem(err, lines) for err in exc.errors()], source) from None
    return build_mapping(model, source)


# ---- wording pydantic's errors ---------------------------------------------------------------


class _Place:
    """A loc from pydantic read against the model: the key path as users see it, the YAML
    keys it stands for (without union tags), and the declared type found there."""

    def __init__(self, loc: tuple[str | int, ...]) -> None:
        self.yaml_keys: list[str] = []
        path = ""
        hint: Any = MappingFile
        for item in loc:
            hint, plain = _unwrap(hint)
            if _is_model(hint):
                field = hint.model_fields.get(str(item))
                hint = _field_hint(field.annotation, field.metadata) if field else Any
                step = f".{item}"
            elif get_origin(hint) is dict:
                if item == "[key]":  # pydantic's marker for a bad key, not a key of the file
                    continue
                hint = get_args(hint)[1]
                step = f".{item}" if plain else f".{item!r}"
            elif get_origin(hint) is list:
                hint = get_args(hint)[0]
                step = f"[{item}]"
            elif _is_union(hint):
                hint = _tagged(hint, item)
                continue  # the discriminator's tag names the kind of rule, not a key
            else:
                hint, step = Any, f".{item}"
            self.yaml_keys.append(str(item))
            path += step
        self.path = path.lstrip(".") or TOP_LEVEL
        self.hint, _ = _unwrap(hint)

    def line(self, lines: Lines) -> int | None:
        for end in range(len(self.yaml_keys), 0, -1):
            found = lines.get(tuple(self.yaml_keys[:end]))
            if found is not None:
                return found
        return None


def _field_hint(annotation: Any, metadata: list[Any]) -> Any:
    # pydantic moves a field's Annotated extras to `metadata`; put them back for _unwrap.
    return Annotated[(annotation, *metadata)] if metadata else annotation


def _unwrap(hint: Any) -> tuple[Any, bool]:
    """The type under Annotated and `| None`, and whether its keys print unquoted."""
    plain = False
    while True:
        if get_origin(hint) is Annotated:
            plain = plain or any(isinstance(m, PlainKeys) for m in hint.__metadata__)
            hint = hint.__origin__
            continue
        if _is_union(hint):
            members = [a for a in get_args(hint) if a is not type(None)]
            if len(members) == 1:
                hint = members[0]
                continue
        return hint, plain


def _is_union(hint: Any) -> bool:
    return get_origin(hint) in (typing.Union, types.UnionType)


def _tagged(union: Any, tag: str | int) -> Any:
    for member in get_args(union):
        if get_origin(member) is Annotated and any(
            isinstance(m, Tag) and m.tag == tag for m in member.__metadata__
        ):
            return member
    return Any


def _is_model(hint: Any) -> typing.TypeGuard[type[BaseModel]]:
    return isinstance(hint, type) and issubclass(hint, BaseModel)


def _is_table(hint: Any) -> bool:
    return get_origin(hint) is dict or _is_model(hint)


def _problem(err: ErrorDetails, lines: Lines) -> str:
    loc = tuple(err["loc"])
    if loc and loc[-1] == "[key]":
        place = _Place(loc[:-1])
        text = "keys must be strings; quote the key in YAML"
    else:
        place = _Place(loc)
        text = _text(err, place, loc)
    line = place.line(lines)
    return f"{place.path}: {text}" + (f" (line {line})" if line is not None else "")


def _text(err: ErrorDetails, place: _Place, loc: tuple[str | int, ...]) -> str:
    kind, value, ctx = err["type"], err["input"], err.get("ctx") or {}
    if kind == PROBLEM:
        text = str(ctx["text"])
        if AT in text:
            up = int(ctx.get("up", 0))
            text = text.replace(AT, _Place(loc[: len(loc) - up]).path)
        return text
    if kind == "missing":
        return MISSING_TABLE if _is_table(place.hint) else "is missing; add it"
    if kind == "extra_forbidden":
        owner = _Place(loc[:-1]).hint
        allowed = sorted(owner.model_fields) if _is_model(owner) else []
        return f"unknown key; allowed keys: {', '.join(allowed)}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        if value is None:
            return MISSING_TABLE
        return f"must be a mapping of keys to values, got {type(value).__name__}"
    if kind == "literal_error" and get_origin(place.hint) is typing.Literal:
        return f"must be one of {', '.join(str(a) for a in get_args(place.hint))}"
    if kind == "bool_type":
        return f"must be true or false, got {value!r}"
    # A kind of error not worded above: pydantic's own words, with the value it refused.
    return f"{err['msg']} (got {value!r})"


# ---- YAML -----------------------------------------------------------------------------------


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and keeps account-like numbers as written.

    A duplicated department would otherwise silently replace the first one, and YAML 1.1 reads
    an unquoted 010 as 8, which would post to the wrong account.
    """


def _no_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}; keep only one", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


def _int_as_written(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    raw = str(loader.construct_scalar(node))
    if raw.isdigit() and (raw == "0" or not raw.startswith("0")):
        return int(raw)
    return raw  # 010, 0x1F, 1_000: keep the text a person typed


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _int_as_written)


def _key_lines(node: yaml.Node, path: tuple[str, ...], out: Lines) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*path, str(key_node.value))
            out.setdefault(key, key_node.start_mark.line + 1)
            _key_lines(value_node, key, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            key = (*path, str(index))
            out.setdefault(key, item.start_mark.line + 1)
            _key_lines(item, key, out)


def load_mapping(path: str | Path) -> Mapping:
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise MappingError(
            [f"cannot read the mapping file ({exc.strerror}); check the mapping_file setting"],
            source,
        ) from exc
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise MappingError([f"is not valid YAML: {exc}"], source) from exc
    if not isinstance(data, dict):
        raise MappingError(["must be a YAML mapping with a top-level 'companies' key"], source)
    lines: Lines = {}
    # Composed again (no constructors run) only to know where each key sits; a mapping file
    # is small, and loading already proved it is valid YAML.
    node = yaml.compose(text, Loader=_StrictLoader)
    if node is not None:
        _key_lines(node, (), lines)
    return _parse(data, source, lines)
