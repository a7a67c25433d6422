"""Pure journal builder: one processed Gusto payroll -> one balanced F&O general journal.

No I/O. Every amount is parsed with `parse_amount` and summed as Decimal. The rules are
written for accountants in docs/accounting.md; keep the two in step.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from collections.abc import Mapping as AbcMapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Protocol

from target_dynamics_fo.mapping import CompanyMapping, DimensionShare, MappingError, TaxAccounts
from target_dynamics_fo.money import (
    CENT,
    ZERO,
    AmountError,
    canonical_amount,
    exact_arithmetic,
    format_amount,
    parse_amount,
    rounding_arithmetic,
)

TEXT_LIMIT = 60
BATCH_NUMBER_LIMIT = 20
HOURS_PLACES = 3
REIMBURSEMENT_EARNING = "Reimbursement"
NO_AMOUNT = Decimal("0.00")  # the empty side of a line, at the same scale as amounts

# Totals the builder reconciles, with the side their difference would post to.
# "both" totals post a debit and an equal credit, so a difference in them cannot be
# parked on one side: it is reported (or refused) but never turned into a suspense line.
RECONCILED_TOTALS: dict[str, str] = {
    "gross_pay": "debit",
    "employer_taxes": "both",
    "benefits": "both",
    "reimbursements": "both",
    "employee_taxes": "credit",
    "employee_benefits_deductions": "credit",
    "other_deductions": "credit",
    "imputed_pay": "credit",
    "net_pay": "credit",
}

# Short names of suspense lines, so the line text (60 characters) keeps them whole.
_SUSPENSE_LABEL = {
    "gross_pay": "gross pay",
    "employee_taxes": "employee taxes",
    "employee_benefits_deductions": "benefit deductions",
    "other_deductions": "other deductions",
    "imputed_pay": "imputed pay",
    "net_pay": "net pay",
}

# Line order inside a journal: expenses first, then liabilities, suspense last.
_COMPONENT_RANK = (
    "Wages: ",
    "Other earnings",
    "Imputed income",
    "Reimbursements",
    "ER tax: ",
    "Benefit: ",
    "Imputed income offset",
    "EE tax: ",
    "ER tax payable: ",
    "Benefit payable: ",
    "Deduction: ",
    "Net pay",
    "Reimbursements payable",
    "Suspense",
)


class JournalError(ValueError):
    """The payroll cannot be posted; `problems` lists every reason with its fix."""

    def __init__(self, payroll_uuid: str, problems: Iterable[str]) -> None:
        self.payroll_uuid = payroll_uuid
        self.problems = list(problems)
        listing = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"payroll {payroll_uuid} was not posted ({len(self.problems)} problem(s)):\n{listing}"
        )


class DimensionFormatError(ValueError):
    """A dimension value cannot be written in the active F&O dimension format."""


@dataclass(frozen=True)
class EmployeeRef:
    uuid: str
    department_uuid: str | None
    department_title: str | None
    location_uuid: str | None


@dataclass(frozen=True)
class DimensionFormat:
    segments: tuple[str, ...]
    delimiter: str


@dataclass(frozen=True)
class JournalLine:
    line_number: int
    main_account: str
    dimensions: AbcMapping[str, str]
    debit: Decimal
    credit: Decimal
    text: str
    component: str


class _Amounts(Protocol):
    @property
    def debit(self) -> Decimal: ...

    @property
    def credit(self) -> Decimal: ...


class Balanced:
    """Debit and credit totals of a journal's lines (a GL journal or an AP invoice journal)."""

    lines: Sequence[_Amounts]

    @property
    def total_debit(self) -> Decimal:
        return sum((line.debit for line in self.lines), ZERO)

    @property
    def total_credit(self) -> Decimal:
        return sum((line.credit for line in self.lines), ZERO)


# The digest's encoder, built once: json.dumps with arguments builds a new encoder per call.
_DIGEST_ENCODE = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode


def content_digest(content: Any) -> str:
    """sha256 hex of canonical JSON: the content hash both builders stamp on their journals."""
    return hashlib.sha256(_DIGEST_ENCODE(content).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Journal(Balanced):
    company_uuid: str
    payroll_uuid: str
    legal_entity: str
    journal_name: str
    journal_batch_number: str
    currency: str
    trans_date: date
    description: str
    idempotency_key: str
    content_hash: str
    lines: tuple[JournalLine, ...]
    warnings: tuple[str, ...] = field(default=())


# ---- identity -----------------------------------------------------------------------------


def journal_batch_number(prefix: str, company_uuid: str, payroll_uuid: str) -> str:
    """Deterministic JournalBatchNumber: PREFIX-<base32 of sha256(company:payroll)>, 20 chars max.

    Derived from the ids only (not the content), so a changed payroll maps to the same
    number and is caught as already posted instead of being posted twice.
    """
    prefix = prefix.upper()
    if not prefix or not prefix.isalnum() or not prefix.isascii() or len(prefix) > 8:
        raise ValueError(f"journal number prefix {prefix!r} must be 1-8 letters or digits")
    digest = hashlib.sha256(f"{company_uuid}:{payroll_uuid}".encode()).digest()
    code = base64.b32encode(digest).decode("ascii").rstrip("=")
    return f"{prefix}-{code[: BATCH_NUMBER_LIMIT - len(prefix) - 1]}"


# Sort key of list items: the text json.dumps(item, sort_keys=True) gives, which fixed the
# order of every hash stamped so far. One encoder is reused: json.dumps with arguments builds a
# new JSONEncoder per call, and the hash sorts tens of thousands of lists.
_SORT_KEY = json.JSONEncoder(sort_keys=True).encode
# Types _canonical returns unchanged when they are not under a money key.
_PLAIN = (str, int, float, type(None))
_MONEY_CACHE_LIMIT = 65536
# Canonical text of money values already seen, by exact type then value. Payroll amounts repeat
# ("0.00", the same salary), and parsing each again was a third of the hash's time.
_money_cache: dict[type, dict[Any, str]] = {str: {}, int: {}, Decimal: {}}


def _money(value: Any, key: str) -> str:
    """Canonical text of an amount (or ``!repr`` when it is not one), as `_canonical` gives it."""
    kind = type(value)
    cache = _money_cache.get(kind)
    # A NaN Decimal is unhashable (signalling) or unequal to itself: never cached.
    cacheable = cache is not None and (kind is not Decimal or value.is_finite())
    if cacheable:
        assert cache is not None
        found = cache.get(value)
        if found is not None:
            return found
    try:
        text = canonical_amount(parse_amount(value, where=key, max_places=HOURS_PLACES + 3))
    except AmountError:
        text = f"!{value!r}"
    if cacheable:
        assert cache is not None
        if len(cache) >= _MONEY_CACHE_LIMIT:
            cache.clear()
        cache[value] = text
    return text


def _canonical(value: Any, money_keys: frozenset[str], key: str = "") -> Any:
    """Scale-free amounts, sorted keys and lists sorted by their items' JSON text.

    The result is what the first (recursive, one call per value) version gave for every input,
    so hashes stamped on journals before keep matching; tests compare it with a frozen copy.
    Scalars inside mappings and lists are handled inline because they are most of the calls.
    """
    if isinstance(value, AbcMapping):
        return _canonical_mapping(value, money_keys, None)
    if isinstance(value, list | tuple):
        return _canonical_list(value, money_keys, key, None)
    if key in money_keys and not isinstance(value, bool) and value is not None:
        return _money(value, key)
    if isinstance(value, Decimal):
        return canonical_amount(value)
    return value


def _canonical_mapping(
    value: AbcMapping[Any, Any], money_keys: frozenset[str], only: frozenset[str] | None
) -> dict[str, Any]:
    """`_canonical` of a mapping; with `only`, of its entries whose key is in `only`."""
    result: dict[str, Any] = {}
    # sorted(items), not sorted(keys): the same order, and the same error on mixed key types.
    for k, v in sorted(value.items() if only is None else _only(value, only)):
        skey = str(k)
        kind = type(v)
        if kind is bool or v is None:
            result[skey] = v
        elif skey in money_keys:
            result[skey] = (
                _money(v, skey)
                if kind is str or kind is int or kind is Decimal
                else _canonical(v, money_keys, skey)
            )
        elif kind is str or kind is int or kind is float:
            result[skey] = v
        else:
            result[skey] = _canonical(v, money_keys, skey)
    return result


def _only(value: AbcMapping[Any, Any], only: frozenset[str]) -> list[tuple[Any, Any]]:
    return [(k, v) for k, v in value.items() if k in only]


def _canonical_list(
    value: list[Any] | tuple[Any, ...],
    money_keys: frozenset[str],
    key: str,
    only: frozenset[str] | None,
) -> list[Any]:
    """`_canonical` of a list; with `only`, its mappings keep just the keys in `only`."""
    items = [
        _canonical_mapping(v, money_keys, only)
        if isinstance(v, AbcMapping)
        else _canonical(v, money_keys, key)
        for v in value
    ]
    return sorted(items, key=_SORT_KEY)


_HASHED_TOP = (
    "payroll_uuid",
    "company_uuid",
    "check_date",
    "processed",
    "off_cycle",
    "payroll_type",
    "pay_period",
    "totals",
    "company_taxes",
)
_HASHED_EMPLOYEE = (
    "employee_uuid",
    "excluded",
    "gross_pay",
    "net_pay",
    "check_amount",
    "fixed_compensations",
    "hourly_compensations",
    "paid_time_off",
    "reimbursements",
    "benefits",
    "deductions",
    "taxes",
)
_HASHED_EMPLOYEE_SORTED = tuple(sorted(_HASHED_EMPLOYEE))
_HASHED_ITEM = frozenset(
    {"name", "amount", "hours", "employer", "imputed", "employee_deduction", "company_contribution"}
)
_MONEY_KEYS = frozenset(
    {
        "amount",
        "hours",
        "gross_pay",
        "net_pay",
        "check_amount",
        "employee_deduction",
        "company_contribution",
    }
)


def payroll_content_hash(payroll: AbcMapping[str, Any]) -> str:
    """sha256 hex of what the journal is built from, insensitive to number formatting and order.

    Names, versions, page order and Gusto's status metadata are left out so only a change in
    the accounting content gives a new hash.
    """
    top: dict[str, Any] = {k: payroll.get(k) for k in _HASHED_TOP if k in payroll}
    totals = top.get("totals")
    money_keys = _MONEY_KEYS | (
        frozenset(str(k) for k in totals) if isinstance(totals, AbcMapping) else frozenset()
    )
    # Built canonical in one pass, entry by entry, in the order and form `_canonical` of the
    # whole would give (keys sorted, the compensation items cut to _HASHED_ITEM).
    employees: list[Any] = []
    for comp in payroll.get("employee_compensations") or []:
        if not isinstance(comp, AbcMapping):
            employees.append(_canonical(repr(comp), money_keys, "employee_compensations"))
            continue
        entry: dict[str, Any] = {}
        for key in _HASHED_EMPLOYEE_SORTED:
            value = comp.get(key)
            entry[key] = (
                _canonical_list(value, money_keys, key, _HASHED_ITEM)
                if isinstance(value, list)
                else _canonical(value, money_keys, key)
            )
        employees.append(entry)
    employees.sort(key=_SORT_KEY)
    top["employee_compensations"] = employees
    canonical = {
        key: employees if key == "employee_compensations" else _canonical(top[key], money_keys, key)
        for key in sorted(top)
    }
    return content_digest(canonical)


# ---- display values -----------------------------------------------------------------------


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
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(value):
        if value.startswith("\\" + delimiter, i):
            current.append(delimiter)
            i += 1 + len(delimiter)
        elif value.startswith(delimiter, i):
            parts.append("".join(current))
            current = []
            i += len(delimiter)
        else:
            current.append(value[i])
            i += 1
    parts.append("".join(current))
    return parts


# ---- splitting ----------------------------------------------------------------------------


def split_amount(amount: Decimal, percents: tuple[Decimal, ...]) -> tuple[Decimal, ...]:
    """Split `amount` by percentages (adding to 100) into cents that add up to it exactly.

    Largest remainder: every part gets its floor in cents, then the cents left over go one
    each to the parts with the largest fractional remainders (ties: the earlier part).
    The sign is applied after splitting the absolute value, so +x and -x split symmetrically.
    """
    sign = -1 if amount < 0 else 1
    with rounding_arithmetic():
        scaled = abs(amount).scaleb(2)
        if scaled != scaled.to_integral_value():
            raise ValueError(f"amount {amount} has fractions of a cent; only cents can be split")
        cents = int(scaled)
        total = sum(percents, ZERO)
        raw = [Decimal(cents) * p / total for p in percents]
        floors = [int(r.to_integral_value(rounding=ROUND_FLOOR)) for r in raw]
    left = cents - sum(floors)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return tuple(Decimal(sign * f) * CENT for f in floors)


# ---- building ----------------------------------------------------------------------------


_DimKey = tuple[tuple[str, str], ...]
_Target = tuple[tuple[Decimal, _DimKey], ...]


def _dim_key(dimensions: AbcMapping[str, str]) -> _DimKey:
    return tuple(sorted(dimensions.items()))


def _target(shares: Iterable[DimensionShare]) -> _Target:
    return tuple((s.percent, _dim_key(s.dimensions)) for s in shares)


@dataclass
class _Builder:
    payroll: AbcMapping[str, Any]
    mapping: CompanyMapping
    payroll_uuid: str
    # dict as an ordered set: the same problem found on many employees is reported once
    found: dict[str, None] = field(default_factory=dict)
    issues: list[str] = field(default_factory=list)
    unmapped_names: set[tuple[str, str]] = field(default_factory=set)
    sums: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(RECONCILED_TOTALS, ZERO))
    # (account, component, target, employee) -> signed amount (debit positive)
    entries: dict[tuple[str, str, _Target, str], Decimal] = field(default_factory=dict)
    # dimension set -> gross pay it carries: the weights company-level taxes are spread by
    wages: dict[_DimKey, Decimal] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        return list(self.found)

    def problem(self, text: str) -> None:
        self.found.setdefault(text, None)

    def amount(self, value: object, where: str, places: int = 2) -> Decimal:
        try:
            return parse_amount(
                value, where=f"payroll {self.payroll_uuid}: {where}", max_places=places
            )
        except AmountError as exc:
            self.problem(str(exc))
            return ZERO

    def items(
        self, comp: AbcMapping[str, Any], key: str, where: str
    ) -> Iterator[tuple[int, AbcMapping[str, Any]]]:
        value = comp.get(key)
        if value is None:
            return
        if not isinstance(value, list):
            self.problem(
                f"payroll {self.payroll_uuid}: {where}.{key} must be a list; fix the source record"
            )
            return
        for i, item in enumerate(value):
            if not isinstance(item, AbcMapping):
                self.problem(
                    f"payroll {self.payroll_uuid}: {where}.{key}[{i}] must be an object;"
                    " fix the source record"
                )
                continue
            yield i, item

    def post(
        self, account: str | None, component: str, signed: Decimal, target: _Target, employee: str
    ) -> None:
        if account is None or signed == 0:
            return
        key = (account, component, target, employee)
        self.entries[key] = self.entries.get(key, ZERO) + signed

    def missing_account(
        self, kind: str, name: str, yaml_key: str, default_key: str, where: str
    ) -> None:
        if (kind, name) in self.unmapped_names:
            return
        self.unmapped_names.add((kind, name))
        self.problem(
            f"payroll {self.payroll_uuid}: {where} (and any later ones): {kind} {name!r} has no "
            "account; add "
            f"{self.mapping.key_path}.accounts.{yaml_key}.{name!r} (or set "
            f"{self.mapping.key_path}.accounts.{default_key})"
        )


def _expense(pair: TaxAccounts | None) -> str | None:
    return None if pair is None else pair.expense


def _payable(pair: TaxAccounts | None) -> str | None:
    return None if pair is None else pair.payable


def _name(item: AbcMapping[str, Any], builder: _Builder, where: str) -> str:
    name = item.get("name")
    if not isinstance(name, str) or not name:
        builder.problem(
            f"payroll {builder.payroll_uuid}: {where}.name is missing; fix the source record"
        )
        return ""
    return name


def _employee_target(
    builder: _Builder, euuid: str, employees: AbcMapping[str, EmployeeRef]
) -> _Target | None:
    mapping = builder.mapping
    if mapping.summary_level == "payroll":
        return _target([DimensionShare(Decimal(100), mapping.fixed_dimensions)])
    ref = employees.get(euuid)
    try:
        if ref is None:
            if mapping.default_dimensions is None:
                builder.problem(
                    f"payroll {builder.payroll_uuid}: employee {euuid} is not in the employees "
                    "stream; select the `employees` stream in the tap (or set "
                    f"{mapping.key_path}.dimensions.default)"
                )
                return None
            return _target([DimensionShare(Decimal(100), mapping.default_dimension_set())])
        no_department = ref.department_uuid is None and ref.department_title is None
        if no_department and mapping.default_dimensions is None:
            builder.problem(
                f"payroll {builder.payroll_uuid}: employee {euuid} has no department; give the "
                f"employee a department in Gusto or set {mapping.key_path}.dimensions.default"
            )
            return None
        return _target(
            mapping.dimension_shares(ref.department_uuid, ref.department_title, ref.location_uuid)
        )
    except MappingError as exc:
        for text in exc.problems:
            builder.problem(f"payroll {builder.payroll_uuid}: {text}")
        return None


def _add_employee(
    builder: _Builder,
    index: int,
    comp: AbcMapping[str, Any],
    employees: AbcMapping[str, EmployeeRef],
) -> None:
    mapping = builder.mapping
    euuid = str(comp.get("employee_uuid") or "")
    where = f"employee_compensations[{index}] (employee {euuid or 'with no uuid'})"
    if not euuid:
        builder.problem(
            f"payroll {builder.payroll_uuid}: {where}.employee_uuid is missing;"
            " fix the source record"
        )
    target = _employee_target(builder, euuid, employees) or ()
    liability = (
        target
        if mapping.dimensions_on_liabilities
        else _target([DimensionShare(Decimal(100), mapping.fixed_dimensions)])
    )
    who = euuid if mapping.summary_level == "employee" else ""

    gross = builder.amount(comp.get("gross_pay"), f"{where}.gross_pay")
    net = builder.amount(comp.get("net_pay"), f"{where}.net_pay")
    for percent, dims in target:
        builder.wages[dims] = builder.wages.get(dims, ZERO) + gross * percent
    itemised = ZERO
    reimbursed = ZERO
    for i, item in builder.items(comp, "fixed_compensations", where):
        at = f"{where}.fixed_compensations[{i}]"
        name = _name(item, builder, at)
        value = builder.amount(item.get("amount"), f"{at}.amount")
        if name == REIMBURSEMENT_EARNING:
            reimbursed += value
            continue
        itemised += value
        account = mapping.earning_account(name)
        if account is None and value != 0:
            builder.missing_account("earning", name, "earnings", "earnings_default", at)
        builder.post(account, f"Wages: {name}", value, target, who)
    for i, item in builder.items(comp, "hourly_compensations", where):
        at = f"{where}.hourly_compensations[{i}]"
        name = _name(item, builder, at)
        if item.get("hours") is not None:
            builder.amount(item.get("hours"), f"{at}.hours", HOURS_PLACES)
        if item.get("amount") is None:
            # Before calculation Gusto gives hours only; the money then sits in the remainder.
            continue
        value = builder.amount(item.get("amount"), f"{at}.amount")
        itemised += value
        account = mapping.earning_account(name)
        if account is None and value != 0:
            builder.missing_account("earning", name, "earnings", "earnings_default", at)
        builder.post(account, f"Wages: {name}", value, target, who)
    for i, item in builder.items(comp, "paid_time_off", where):
        if item.get("hours") is not None:
            builder.amount(item.get("hours"), f"{where}.paid_time_off[{i}].hours", HOURS_PLACES)
    for i, item in builder.items(comp, "reimbursements", where):
        reimbursed += builder.amount(item.get("amount"), f"{where}.reimbursements[{i}].amount")

    imputed = ZERO
    benefit_deductions = ZERO
    for i, item in builder.items(comp, "benefits", where):
        at = f"{where}.benefits[{i}]"
        name = _name(item, builder, at)
        deduction = builder.amount(item.get("employee_deduction", 0), f"{at}.employee_deduction")
        contribution = builder.amount(
            item.get("company_contribution", 0), f"{at}.company_contribution"
        )
        pair = mapping.benefit_accounts(name)
        if pair is None and (deduction != 0 or contribution != 0):
            builder.missing_account("benefit", name, "benefits", "benefit_default", at)
        builder.post(_expense(pair), f"Benefit: {name}", contribution, target, who)
        builder.post(_payable(pair), f"Benefit payable: {name}", -contribution, liability, who)
        builder.post(_payable(pair), f"Benefit payable: {name}", -deduction, liability, who)
        builder.sums["benefits"] += contribution
        benefit_deductions += deduction
        if item.get("imputed") is True:
            imputed += contribution

    other_deductions = ZERO
    for i, item in builder.items(comp, "deductions", where):
        at = f"{where}.deductions[{i}]"
        name = _name(item, builder, at)
        value = builder.amount(item.get("amount"), f"{at}.amount")
        account = mapping.deduction_account(name)
        if account is None and value != 0:
            builder.missing_account("deduction", name, "deductions", "deduction_default", at)
        builder.post(account, f"Deduction: {name}", -value, liability, who)
        other_deductions += value

    employee_taxes = ZERO
    for i, item in builder.items(comp, "taxes", where):
        at = f"{where}.taxes[{i}]"
        name = _name(item, builder, at)
        value = builder.amount(item.get("amount"), f"{at}.amount")
        employer = item.get("employer")
        if not isinstance(employer, bool):
            builder.problem(
                f"payroll {builder.payroll_uuid}: {at}.employer = {employer!r} must be true or "
                "false; fix the source record"
            )
            continue
        if employer:
            pair = mapping.employer_tax_accounts(name)
            if pair is None and value != 0:
                builder.missing_account(
                    "employer tax", name, "employer_taxes", "employer_tax_default", at
                )
            builder.post(_expense(pair), f"ER tax: {name}", value, target, who)
            builder.post(_payable(pair), f"ER tax payable: {name}", -value, liability, who)
            builder.sums["employer_taxes"] += value
        else:
            account = mapping.employee_tax_account(name)
            if account is None and value != 0:
                builder.missing_account(
                    "employee tax", name, "employee_taxes", "employee_tax_default", at
                )
            builder.post(account, f"EE tax: {name}", -value, liability, who)
            employee_taxes += value

    builder.post(mapping.other_earnings, "Other earnings", gross - itemised - imputed, target, who)
    builder.post(mapping.imputed_income, "Imputed income", imputed, target, who)
    builder.post(mapping.imputed_offset, "Imputed income offset", -imputed, target, who)
    builder.post(mapping.reimbursement_expense, "Reimbursements", reimbursed, target, who)
    builder.post(mapping.net_pay, "Net pay", -net, liability, who)
    if mapping.reimbursement_payable is None:
        builder.post(mapping.net_pay, "Net pay", -reimbursed, liability, who)
    else:
        builder.post(
            mapping.reimbursement_payable, "Reimbursements payable", -reimbursed, liability, who
        )

    expected_net = gross - imputed - employee_taxes - benefit_deductions - other_deductions
    if expected_net != net:
        builder.issues.append(
            f"{where}: gross_pay {gross} - imputed {imputed} - employee taxes {employee_taxes} "
            f"- benefit deductions {benefit_deductions} - other deductions {other_deductions} "
            f"= {expected_net}, but net_pay is {net} (difference {net - expected_net})"
        )
    sums = builder.sums
    sums["gross_pay"] += gross
    sums["net_pay"] += net
    sums["reimbursements"] += reimbursed
    sums["employee_taxes"] += employee_taxes
    sums["employee_benefits_deductions"] += benefit_deductions
    sums["other_deductions"] += other_deductions
    sums["imputed_pay"] += imputed


def allocate_by_wages(wages: AbcMapping[_DimKey, Decimal]) -> _Target:
    """Weights for spreading a payroll-level amount over the dimension sets that earned wages.

    Only sets with positive gross pay take part (a correction run can leave a set negative);
    sorted so the same payroll always gives the same split. Empty when no set earned anything.
    """
    return tuple((weight, dims) for dims, weight in sorted(wages.items()) if weight > 0)


def _company_tax_target(builder: _Builder) -> _Target:
    mapping = builder.mapping
    fixed = _target([DimensionShare(Decimal(100), mapping.fixed_dimensions)])
    rule = mapping.company_taxes_allocation
    if rule == "fixed" or mapping.summary_level == "payroll":
        return fixed
    if rule == "wages":
        weights = allocate_by_wages(builder.wages)
        if weights:
            return weights
    if mapping.default_dimensions is not None:
        if rule == "wages":
            builder.warnings.append(
                f"payroll {builder.payroll_uuid}: no dimension set earned positive gross pay, so "
                f"the company taxes were put on {mapping.key_path}.dimensions.default"
            )
        return _target([DimensionShare(Decimal(100), mapping.default_dimension_set())])
    builder.warnings.append(
        f"payroll {builder.payroll_uuid}: no dimension set earned positive gross pay, so the "
        f"company taxes carry only the fixed dimensions; set {mapping.key_path}.dimensions.default "
        "to give them a department"
    )
    return fixed


def _add_company_taxes(builder: _Builder) -> None:
    """Post payroll-level taxes, spread over dimensions by the mapping's allocation rule.

    They name no employee, so they have no department of their own; an account structure
    that requires one would reject them with only the fixed dimensions.
    """
    mapping = builder.mapping
    taxes = [
        (f"company_taxes[{i}]", item)
        for i, item in builder.items(builder.payroll, "company_taxes", "(payroll)")
    ]
    amounts = [builder.amount(item.get("amount"), f"{at}.amount") for at, item in taxes]
    if not any(amounts):
        return
    target = _company_tax_target(builder)
    liability = (
        target
        if mapping.dimensions_on_liabilities
        else _target([DimensionShare(Decimal(100), mapping.fixed_dimensions)])
    )
    for (at, item), value in zip(taxes, amounts, strict=True):
        name = _name(item, builder, at)
        pair = mapping.employer_tax_accounts(name)
        if pair is None and value != 0:
            builder.missing_account(
                "employer tax", name, "employer_taxes", "employer_tax_default", at
            )
        builder.post(_expense(pair), f"ER tax: {name}", value, target, "")
        builder.post(_payable(pair), f"ER tax payable: {name}", -value, liability, "")
        builder.sums["employer_taxes"] += value


def _reconcile(builder: _Builder) -> list[tuple[str, Decimal]]:
    """Compare with Gusto's totals; returns (total, expected - computed) for each difference."""
    totals = builder.payroll.get("totals")
    if totals is None:
        return []
    if not isinstance(totals, AbcMapping):
        builder.problem(
            f"payroll {builder.payroll_uuid}: totals must be an object; fix the source record"
        )
        return []
    differences: list[tuple[str, Decimal]] = []
    for key in RECONCILED_TOTALS:
        if totals.get(key) is None:
            continue
        expected = builder.amount(totals[key], f"totals.{key}")
        computed = builder.sums[key]
        if expected != computed:
            differences.append((key, expected - computed))
            builder.issues.append(
                f"totals.{key}: Gusto says {format_amount(expected)}, the employee lines add up "
                f"to {format_amount(computed)} (difference {format_amount(expected - computed)})"
                + (
                    _company_tax_hint(builder, expected - computed)
                    if key == "employer_taxes"
                    else ""
                )
            )
    return differences


def _company_tax_hint(builder: _Builder, difference: Decimal) -> str:
    """Name the setting when the difference is exactly the payroll's company taxes."""
    company_taxes = ZERO
    for _, item in builder.items(builder.payroll, "company_taxes", "(payroll)"):
        try:
            company_taxes += parse_amount(item.get("amount"), where="company_taxes")
        except AmountError:
            return ""
    if company_taxes == 0:
        return ""
    key = f"{builder.mapping.key_path}.post_company_taxes"
    if builder.mapping.post_company_taxes and difference == -company_taxes:
        return (
            f"; that is exactly the payroll's company_taxes, which this payroll's employee taxes "
            f"already include: set {key}: false"
        )
    if not builder.mapping.post_company_taxes and difference == company_taxes:
        return f"; that is exactly the payroll's company_taxes: set {key}: true"
    return ""


def _side_text(label: str, signed: Decimal) -> str:
    return f"{label} {format_amount(abs(signed))} {'Dr' if signed > 0 else 'Cr'}"


def _suspense_summary(pid: str, account: str | None, parked: list[str], unposted: list[str]) -> str:
    """Say exactly what went to suspense, and what could not (two-sided totals)."""
    if parked:
        text = (
            f"payroll {pid}: posted to suspense account {account}: "
            f"{', '.join(parked)}; clear them after checking the payroll in Gusto"
        )
    else:
        text = f"payroll {pid}: nothing was posted to suspense account {account}"
    if unposted:
        text += (
            f"; not posted anywhere (both sides of these totals differ equally, so the journal "
            f"balances but its expense differs from Gusto's by these amounts): "
            f"{', '.join(unposted)}; correct the payroll in Gusto or the mapping"
        )
    return text


def _rank(component: str) -> int:
    # Longest matching prefix, so "Imputed income offset" is not ranked as "Imputed income".
    matches = [(len(p), i) for i, p in enumerate(_COMPONENT_RANK) if component.startswith(p)]
    return max(matches)[1] if matches else len(_COMPONENT_RANK)


def _text(prefix: str, component: str, employee: str) -> str:
    who = f"ee {employee[:8]} " if employee else ""
    return f"{prefix} {who}{component}"[:TEXT_LIMIT]


def _lines(builder: _Builder, text_prefix: str) -> tuple[JournalLine, ...]:
    grouped: dict[tuple[int, str, str, _DimKey, str], Decimal] = {}
    for (account, component, target, employee), amount in builder.entries.items():
        if amount == 0 or not target:
            continue
        parts = split_amount(amount, tuple(p for p, _ in target))
        for part, (_, dims) in zip(parts, target, strict=True):
            key = (_rank(component), component, account, dims, employee)
            grouped[key] = grouped.get(key, ZERO) + part
    lines: list[JournalLine] = []
    for key in sorted(grouped):
        amount = grouped[key]
        if amount == 0:
            continue
        _, component, account, dims, employee = key
        lines.append(
            signed_line(
                len(lines) + 1,
                account,
                dims,
                amount,
                text=_text(text_prefix, component, employee),
                component=component,
            )
        )
    return tuple(lines)


def signed_line(
    number: int,
    account: str,
    dims: Iterable[tuple[str, str]],
    amount: Decimal,
    *,
    text: str,
    component: str,
) -> JournalLine:
    """A line for a signed net amount: positive on the debit side, negative on the credit."""
    return JournalLine(
        line_number=number,
        main_account=account,
        dimensions=dict(dims),
        debit=amount if amount > 0 else NO_AMOUNT,
        credit=-amount if amount < 0 else NO_AMOUNT,
        text=text,
        component=component,
    )


def build_journal(
    payroll: AbcMapping[str, Any],
    employees: AbcMapping[str, EmployeeRef],
    mapping: CompanyMapping,
    content_hash: str | None = None,
) -> Journal:
    """Build the balanced general journal for one processed payroll, or raise JournalError.

    ``content_hash`` is ``payroll_content_hash(payroll)`` when the caller has it already.
    """
    with exact_arithmetic():
        return _build_journal(payroll, employees, mapping, content_hash)


def _build_journal(
    payroll: AbcMapping[str, Any],
    employees: AbcMapping[str, EmployeeRef],
    mapping: CompanyMapping,
    content_hash: str | None,
) -> Journal:
    payroll_uuid = str(payroll.get("payroll_uuid") or payroll.get("uuid") or "")
    builder = _Builder(payroll, mapping, payroll_uuid or "(no uuid)")
    pid = builder.payroll_uuid
    if not payroll_uuid:
        builder.problem("payroll has no payroll_uuid; fix the source record")
    company_uuid = str(payroll.get("company_uuid") or "")
    if company_uuid != mapping.company_uuid:
        builder.problem(
            f"payroll {pid}: company_uuid {company_uuid!r} does not match the mapping's company "
            f"{mapping.company_uuid}; use the mapping entry for the payroll's company"
        )
    if payroll.get("processed") is not True:
        builder.problem(
            f"payroll {pid}: is not processed (processed = {payroll.get('processed')!r}); only "
            "processed payrolls are posted; wait until Gusto processes it"
        )
    trans_date = _date(builder, payroll.get("check_date"), "check_date") or date(1900, 1, 1)
    period = payroll.get("pay_period")
    period_text = ""
    if isinstance(period, AbcMapping):
        start = _date(builder, period.get("start_date"), "pay_period.start_date")
        end = _date(builder, period.get("end_date"), "pay_period.end_date")
        if start and end:
            period_text = f"{start:%m%d}-{end:%m%d}"
    comps = payroll.get("employee_compensations")
    if not isinstance(comps, list):
        builder.problem(
            f"payroll {pid}: employee_compensations is missing or not a list; read the payroll "
            "with its employee compensations"
        )
        comps = []
    count = payroll.get("employee_compensations_count")
    if isinstance(count, str) and count.isdigit():
        count = int(count)
    if count is not None and count != len(comps):
        builder.problem(
            f"payroll {pid}: employee_compensations has {len(comps)} entries but Gusto reported "
            f"{count}; some pages were not read; run the tap again for this payroll"
        )
    seen: dict[str, int] = {}
    for index, comp in enumerate(comps):
        if isinstance(comp, AbcMapping) and comp.get("employee_uuid"):
            euuid = str(comp["employee_uuid"])
            if euuid in seen:
                # Overlapping pages would count an employee twice.
                builder.problem(
                    f"payroll {pid}: employee {euuid} appears twice in employee_compensations "
                    f"([{seen[euuid]}] and [{index}]); pages overlapped; run the tap again for "
                    "this payroll"
                )
            seen.setdefault(euuid, index)
        if not isinstance(comp, AbcMapping):
            builder.problem(
                f"payroll {pid}: employee_compensations[{index}] must be an object;"
                " fix the source record"
            )
            continue
        if comp.get("excluded") is True:
            continue
        _add_employee(builder, index, comp, employees)
    if mapping.post_company_taxes:
        _add_company_taxes(builder)
    differences = _reconcile(builder)

    content_hash = content_hash or payroll_content_hash(payroll)
    off_cycle = payroll.get("payroll_type") == "off_cycle" or payroll.get("off_cycle") is True
    short = pid[:8]
    label = " off-cycle" if off_cycle else ""
    text_prefix = " ".join(p for p in (trans_date.isoformat(), period_text, short) if p) + label

    imbalance = sum(builder.entries.values(), ZERO)
    warnings: list[str] = []
    if builder.issues or imbalance != 0:
        if imbalance != 0:
            more, less = ("debits", "credits") if imbalance > 0 else ("credits", "debits")
            builder.issues.append(
                f"the lines do not balance: {more} exceed {less} by {format_amount(abs(imbalance))}"
            )
        if mapping.suspense_account is None or builder.problems:
            hint = (
                "correct the payroll in Gusto, or set "
                f"{mapping.key_path}.suspense_account to post differences there with a warning"
            )
            raise JournalError(pid, [*builder.problems, *builder.issues, hint])
        suspense_target = _target([DimensionShare(Decimal(100), mapping.fixed_dimensions)])
        parked: list[str] = []
        unposted: list[str] = []
        for key, diff in differences:
            side = RECONCILED_TOTALS[key]
            if side == "both":
                unposted.append(f"{key} {format_amount(diff)}")
                continue
            signed = diff if side == "debit" else -diff
            builder.post(
                mapping.suspense_account,
                f"Suspense: {_SUSPENSE_LABEL[key]}",
                signed,
                suspense_target,
                "",
            )
            parked.append(_side_text(_SUSPENSE_LABEL[key], signed))
        rest = sum(builder.entries.values(), ZERO)
        builder.post(mapping.suspense_account, "Suspense: unbalanced", -rest, suspense_target, "")
        if rest != 0:
            parked.append(_side_text("unbalanced", -rest))
        warnings = [f"payroll {pid}: {issue}" for issue in builder.issues]
        warnings.append(_suspense_summary(pid, mapping.suspense_account, parked, unposted))
    warnings.extend(builder.warnings)
    if builder.problems:
        raise JournalError(pid, builder.problems)

    lines = _lines(builder, text_prefix)
    journal = Journal(
        company_uuid=mapping.company_uuid,
        payroll_uuid=payroll_uuid,
        legal_entity=mapping.legal_entity,
        journal_name=mapping.journal_name,
        journal_batch_number=journal_batch_number(
            mapping.journal_number_prefix, mapping.company_uuid, payroll_uuid
        ),
        currency=mapping.currency,
        trans_date=trans_date,
        description=f"Gusto payroll {trans_date.isoformat()} {short}{label} #{content_hash[:8]}",
        idempotency_key=f"gusto:{mapping.company_uuid}:{payroll_uuid}:{content_hash}",
        content_hash=content_hash,
        lines=lines,
        warnings=tuple(warnings),
    )
    if journal.total_debit != journal.total_credit:
        # Unreachable by construction; kept because an unbalanced journal must never leave here.
        raise JournalError(
            pid,
            [
                f"internal error: debits {journal.total_debit} != credits {journal.total_credit}; "
                "report this payroll to the maintainers"
            ],
        )
    return journal


def _date(builder: _Builder, value: object, key: str) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    builder.problem(
        f"payroll {builder.payroll_uuid}: {key} = {value!r} is not a YYYY-MM-DD date;"
        " fix the source record"
    )
    return None
