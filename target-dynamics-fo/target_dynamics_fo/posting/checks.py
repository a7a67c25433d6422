"""The checks a payroll journal or an AP invoice passes before it is posted, in one wording.

Both are refused the same way when Dynamics lacks reference data the mapping names, when the
document cannot be built, when an account or dimension cannot be written in the dimension
format, or when a line lacks a dimension its account structure requires. A refusal carries the
reason (starting with the document's label) and the fix (ending with how to replay it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass

from target_dynamics_fo.fo import ReferenceData, structure_gaps
from target_dynamics_fo.ledger import DimensionFormat, DimensionFormatError, ledger_display_value
from target_dynamics_fo.mapping import CompanyMapping

# (line number, main account, dimensions, component): what structure_gaps reads of a line.
LineKey = tuple[int, str, AbcMapping[str, str], str]


@dataclass(frozen=True)
class Refusal:
    """Why a document is not posted, and what to do about it."""

    reason: str
    fix: str


@dataclass(frozen=True)
class PrePostCheck:
    """The checks of one document: ``label`` names it, ``hint`` says how to replay it."""

    label: str
    hint: str

    def reference_gaps(self, gaps: Sequence[str]) -> Refusal | None:
        """Dynamics lacks reference data the mapping needs (see ``gaps_for``)."""
        if not gaps:
            return None
        return Refusal(
            f"{self.label}: Dynamics reference data does not cover the mapping: " + "; ".join(gaps),
            f"fix Dynamics or the mapping as listed, {self.hint}",
        )

    def not_built(self, problems: Iterable[str], correct: str) -> Refusal:
        """The document could not be built; ``correct`` names what to correct."""
        return Refusal(
            f"{self.label}: " + "; ".join(problems), f"correct {correct} as listed, {self.hint}"
        )

    def bad_format(self, error: DimensionFormatError) -> Refusal:
        """An account or dimension value cannot be written in F&O's dimension format."""
        return Refusal(
            f"{self.label}: {error}", f"fix the dimension format or the mapping, {self.hint}"
        )

    def display_values(
        self, reference: ReferenceData, company: CompanyMapping, lines: Sequence[LineKey], what: str
    ) -> list[str] | Refusal:
        """The lines' AccountDisplayValues, or why they cannot be posted.

        ``what`` names the lines in a structure gap ("journal", "invoice").
        """
        fmt = DimensionFormat(reference.ledger_segments, reference.delimiter)
        try:
            display = [ledger_display_value(account, dims, fmt) for _, account, dims, _ in lines]
        except DimensionFormatError as exc:
            return self.bad_format(exc)
        lacking = structure_gaps(reference, company, lines, what)
        if lacking:
            return Refusal(
                f"{self.label}: " + "; ".join(lacking),
                f"set the dimensions in the mapping as listed, {self.hint}",
            )
        return display
