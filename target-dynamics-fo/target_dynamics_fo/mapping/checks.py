"""Problems as the mapping model raises them, and the rules that read more than one key.

A problem is a pydantic error of type PROBLEM whose context carries the finished text (loader.py
puts the key path in front). Rules across keys run in "wrap" validators on the raw table, so
they are reported in the same run as a neighbouring key's wrong type.
"""

from collections.abc import Callable, Iterator
from typing import Any

from pydantic import ValidationError, ValidatorFunctionWrapHandler
from pydantic_core import InitErrorDetails, PydanticCustomError

# The error type of this target's own rules; its context carries the finished text.
PROBLEM = "mapping_problem"
# Text of a problem may say "{at}": the key path of the object whose validator found it
# (a validator knows only the path below itself; the loader knows the rest).
AT = "{at}"
MISSING_TABLE = "is missing; add it (a mapping of keys to values)"

Loc = tuple[str | int, ...]


def problem(text: str, up: int = 0) -> PydanticCustomError:
    return PydanticCustomError(PROBLEM, "{text}", {"text": text, "up": up})


def _raise_with(data: object, caught: ValidationError | None, found: list[tuple[Loc, str]]) -> None:
    """Raise pydantic's errors and this validator's own problems together, as one error."""
    details: list[InitErrorDetails] = []
    for err in caught.errors(include_url=False) if caught else []:
        ctx = dict(err.get("ctx") or {})
        # Re-raised as a custom error that keeps pydantic's type name and context, which is
        # all loader.py reads (a known type would need its exact context shape back).
        details.append(
            InitErrorDetails(
                type=PydanticCustomError(err["type"], err["msg"], ctx),
                loc=tuple(err["loc"]),
                input=err["input"],
            )
        )
    for loc, text in found:
        details.append(InitErrorDetails(type=problem(text, len(loc)), loc=loc, input=data))
    raise ValidationError.from_exception_data("mapping", details)


def validate_also(
    data: object,
    handler: ValidatorFunctionWrapHandler,
    checks: Callable[[dict[Any, Any]], list[tuple[Loc, str]]],
) -> Any:
    # Cross-key rules read the raw table, so they are reported even when a neighbouring key
    # has a wrong type (a model validator "after" would only run on a valid object).
    found = checks(data) if isinstance(data, dict) else []
    try:
        result = handler(data)
    except ValidationError as exc:
        if not found:
            raise
        _raise_with(data, exc, found)
    if found:
        _raise_with(data, None, found)
    return result


def _rule_tables(rule: object) -> Iterator[dict[Any, Any]]:
    """The dimension tables a raw department or location rule names (split or not)."""
    if isinstance(rule, dict) and isinstance(rule.get("split"), list):
        for part in rule["split"]:
            if isinstance(part, dict) and isinstance(part.get("dimensions"), dict):
                yield part["dimensions"]
    elif isinstance(rule, dict):
        yield rule


def dimension_owner_problems(raw: dict[Any, Any]) -> list[tuple[Loc, str]]:
    """Each dimension comes from one place, so no source silently overrides another."""
    fixed = raw.get("fixed")
    fixed_names = {str(name) for name in fixed} if isinstance(fixed, dict) else set()
    owners: dict[str, set[str]] = {name: {"fixed"} for name in fixed_names}
    for source in ("departments", "locations"):
        rules = raw.get(source)
        for rule in rules.values() if isinstance(rules, dict) else ():
            for table in _rule_tables(rule):
                for name in table:
                    owners.setdefault(str(name), set()).add(source)
    found: list[tuple[Loc, str]] = [
        (
            (),
            f"dimension {name!r} is set by more than one of {sorted(sources)}; "
            "set each dimension in one place only",
        )
        for name, sources in sorted(owners.items())
        if len(sources) > 1
    ]
    # `default` stands in for department and location of an unknown employee, so it may
    # name their dimensions, but fixed dimensions apply to every line and must not clash.
    default = raw.get("default")
    for name in sorted(
        {str(n) for n in default} & fixed_names if isinstance(default, dict) else ()
    ):
        found.append(
            (
                ("default", name),
                f"dimension {name!r} is already fixed under {AT}.fixed; remove it from one of them",
            )
        )
    return found


def allocation_problems(raw: dict[Any, Any]) -> list[tuple[Loc, str]]:
    dimensions = raw.get("dimensions")
    has_default = isinstance(dimensions, dict) and dimensions.get("default") is not None
    if raw.get("company_taxes_allocation") == "default" and not has_default:
        return [
            (
                ("company_taxes_allocation",),
                f"is 'default' but {AT}.dimensions.default is not set; set it or use 'wages'",
            )
        ]
    return []
