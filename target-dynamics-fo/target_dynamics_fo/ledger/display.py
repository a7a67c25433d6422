"""F&O display values: main account and dimensions written as one delimited, escaped string."""

from __future__ import annotations

import re
from collections.abc import Iterable
from collections.abc import Mapping as AbcMapping

from target_dynamics_fo.ledger.model import DimensionFormat, DimensionFormatError


def _escape(value: str, delimiter: str, what: str) -> str:
    if "\\" in value:
        raise DimensionFormatError(
            f"{what} {value!r} contains a backslash, which F&O uses as its escape character; "
            "rename the value in F&O and the mapping"
        )
    if len(delimiter) > 1 and any(ch in value for ch in set(delimiter)):
        raise DimensionFormatError(
            f"{what} {value!r} contains a character of the multi-character segment delimiter "
            f"{delimiter!r}; rename the value or change the delimiter"
        )
    return value.replace(delimiter, "\\" + delimiter)


def _segments(dimensions: AbcMapping[str, str], names: Iterable[str], fmt: DimensionFormat) -> str:
    names = tuple(names)
    unknown = sorted(set(dimensions) - set(names))
    if unknown:
        raise DimensionFormatError(
            f"dimension(s) {', '.join(unknown)} are not in the active F&O dimension format "
            f"{fmt.delimiter.join(fmt.segments)!r}; add them to the format in F&O or remove "
            "them from the mapping"
        )
    return fmt.delimiter.join(
        _escape(dimensions[name], fmt.delimiter, f"dimension {name} value")
        if name in dimensions
        else ""
        for name in names
    )


def ledger_display_value(
    main_account: str, dimensions: AbcMapping[str, str], fmt: DimensionFormat
) -> str:
    """AccountDisplayValue for a Ledger line: segments in the format's order, blanks kept."""
    if not fmt.segments or fmt.segments[0] != "MainAccount":
        raise DimensionFormatError(
            f"ledger dimension format {fmt.delimiter.join(fmt.segments)!r} must start with "
            "MainAccount; activate a ledger (not default) dimension format in F&O"
        )
    if not main_account:
        raise DimensionFormatError("main account is empty; fix the mapping")
    account = _escape(main_account, fmt.delimiter, "main account")
    rest = _segments(dimensions, fmt.segments[1:], fmt)
    if len(fmt.segments) == 1:
        return account
    return account + fmt.delimiter + rest


def default_dimension_display_value(dimensions: AbcMapping[str, str], fmt: DimensionFormat) -> str:
    """DefaultDimensionDisplayValue: the dimensions only, in the default format's order."""
    if "MainAccount" in fmt.segments:
        raise DimensionFormatError(
            f"default dimension format {fmt.delimiter.join(fmt.segments)!r} contains MainAccount; "
            "use the active default (not ledger) dimension format"
        )
    return _segments(dimensions, fmt.segments, fmt)


def split_display_value(value: str, delimiter: str) -> list[str]:
    """Inverse of the display-value writers: split on unescaped delimiters and unescape."""
    escaped = "\\" + delimiter
    # Scanned left to right, an escaped delimiter wins over the plain one it ends with.
    pieces = re.split(f"({re.escape(escaped)}|{re.escape(delimiter)})", value)
    parts = [pieces[0]]
    for separator, text in zip(pieces[1::2], pieces[2::2], strict=True):
        if separator == escaped:
            parts[-1] += delimiter + text
        else:
            parts.append(text)
    return parts
