"""The master-data reconcile engine against an in-memory F&O: plan, write, look again, give up."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import pytest
from target_dynamics_fo.audit import AuditStore
from target_dynamics_fo.fo import ODataError, WriteOutcomeUnknownError
from target_dynamics_fo.mapping import MappingError
from target_dynamics_fo.masterdata import (
    MasterDataSync,
    MasterRecord,
    Patience,
    Reconciled,
    reconcile,
    unclear,
)

KEY = "vendor V-1 in usmf"
DESIRED = {"VendorAccountNumber": "V-1", "VendorOrganizationName": "Acme"}

# What the fake F&O does with one write: apply it and answer, or fail one of these ways.
OK = "ok"
LOST_AFTER_APPLY = "lost after apply"  # committed, the answer never came back
LOST_BEFORE_APPLY = "lost before apply"  # never reached the database, no answer either
REFUSED = "refused"  # a definite error: nothing saved
EXISTS = "exists"  # "record already exists" without the record being findable


@dataclass
class FakeFO:
    """One vendor table and a script of what the next writes meet."""

    rows: dict[str, dict[str, str]] = field(default_factory=dict)
    script: list[str] = field(default_factory=list)
    sent: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    applied: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    look_ups: int = 0

    def look_up(self) -> dict[str, str] | None:
        self.look_ups += 1
        row = self.rows.get("V-1")
        return dict(row) if row else None

    def write(self, plan: VendorPlan) -> None:
        self.sent.append((plan.action, dict(plan.body)))
        fate = self.script.pop(0) if self.script else OK
        if fate in (OK, LOST_AFTER_APPLY):
            self.applied.append((plan.action, dict(plan.body)))
            self.rows["V-1"] = {**self.rows.get("V-1", {}), **plan.body}
        if fate in (LOST_AFTER_APPLY, LOST_BEFORE_APPLY):
            raise WriteOutcomeUnknownError("no answer within the request deadline; gave up")
        if fate == REFUSED:
            raise ODataError("Field 'Vendor group' must be filled in.", status=400)
        if fate == EXISTS:
            raise ODataError("Cannot create a record in Vendors. The record already exists.")


@dataclass(frozen=True)
class VendorPlan:
    """The shape `payables.plan_vendor` returns: one action and the fields it writes."""

    action: str  # create | update | none
    body: Mapping[str, str]


def plan_vendor(current: Mapping[str, str] | None) -> VendorPlan:
    if current is None:
        return VendorPlan("create", DESIRED)
    changed = {k: v for k, v in DESIRED.items() if current.get(k) != v}
    return VendorPlan("update", changed) if changed else VendorPlan("none", {})


def vendor(fo: FakeFO, cached: dict[str, str] | None = None) -> MasterRecord[Any, VendorPlan]:
    return MasterRecord(
        key=KEY,
        current=lambda: cached,
        look_up=fo.look_up,
        plan=plan_vendor,
        has_writes=lambda plan: plan.action in ("create", "update"),
        write=fo.write,
    )


@dataclass
class Clock:
    slept: list[float] = field(default_factory=list)

    def patience(self, attempts: int = 5) -> Patience:
        return Patience(attempts, lambda n: float(2 ** (n - 1)), self.slept.append)


def run(fo: FakeFO, clock: Clock, *, attempts: int = 5, **kw: Any) -> Reconciled[VendorPlan]:
    return reconcile(vendor(fo, **kw), clock.patience(attempts))


def test_nothing_to_change_writes_nothing() -> None:
    fo, clock = FakeFO(rows={"V-1": dict(DESIRED)}), Clock()
    done = run(fo, clock, cached=dict(DESIRED))
    assert (done.plan.action, done.attempts, done.written, done.failure) == ("none", 0, False, None)
    assert not done.settled_by_look_up
    assert fo.sent == [] and fo.look_ups == 0


def test_a_confirmed_write_is_sent_once_and_not_looked_up() -> None:
    fo, clock = FakeFO(), Clock()
    done = run(fo, clock)
    assert done.written and done.attempts == 1 and done.first == done.plan
    assert fo.sent == [("create", DESIRED)] and fo.look_ups == 0 and clock.slept == []


def test_unclear_outcome_where_the_write_applied_is_not_written_again() -> None:
    fo, clock = FakeFO(script=[LOST_AFTER_APPLY]), Clock()
    done = run(fo, clock)
    assert fo.sent == [("create", DESIRED)]  # no second write
    assert fo.look_ups == 1 and clock.slept == [1.0]
    assert done.settled_by_look_up and not done.written and done.failure is None
    assert done.first.action == "create" and done.plan.action == "none"
    assert fo.rows["V-1"] == DESIRED


def test_unclear_outcome_where_the_write_did_not_apply_is_written_once() -> None:
    fo, clock = FakeFO(script=[LOST_BEFORE_APPLY]), Clock()
    done = run(fo, clock)
    assert fo.applied == [("create", DESIRED)]  # written exactly once
    assert [action for action, _ in fo.sent] == ["create", "create"]
    assert done.written and done.attempts == 2 and fo.look_ups == 1
    assert not done.settled_by_look_up


def test_the_re_plan_writes_only_what_is_still_missing() -> None:
    # Another writer created the vendor with a different name while our create was lost.
    fo, clock = FakeFO(script=[LOST_BEFORE_APPLY]), Clock()
    original = fo.write

    def racing_write(plan: VendorPlan) -> None:
        fo.rows.setdefault("V-1", {"VendorAccountNumber": "V-1", "VendorOrganizationName": "Ac"})
        original(plan)

    record = vendor(fo)
    done = reconcile(
        MasterRecord(
            record.key, record.current, record.look_up, record.plan, record.has_writes, racing_write
        ),
        clock.patience(),
    )
    assert fo.sent[1] == ("update", {"VendorOrganizationName": "Acme"})
    assert done.written and done.first.action == "create" and done.plan.action == "update"


def test_gives_up_after_n_unclear_writes_with_a_message_naming_the_record_and_the_fix() -> None:
    fo, clock = FakeFO(script=[LOST_BEFORE_APPLY] * 10), Clock()
    done = run(fo, clock, attempts=3)
    assert len(fo.sent) == 3 and fo.applied == [] and fo.look_ups == 2
    assert clock.slept == [1.0, 2.0]  # the backoff before each look, none after the last
    failure = done.failure
    assert failure is not None and failure.unclear and failure.attempts == 3
    assert not done.written and not done.settled_by_look_up
    assert KEY in failure.why and "after 3 attempt(s)" in failure.why
    assert "may or may not be saved" in failure.why
    assert KEY in failure.fix and "rerun" in failure.fix


def test_a_definite_refusal_earns_one_more_look_then_gives_up() -> None:
    fo, clock = FakeFO(script=[REFUSED, REFUSED]), Clock()
    done = run(fo, clock)
    assert len(fo.sent) == 2 and fo.look_ups == 1 and clock.slept == []
    failure = done.failure
    assert failure is not None and not failure.unclear
    assert failure.why == (
        f"Dynamics refused the write of {KEY}; nothing was saved: "
        "Field 'Vendor group' must be filled in."
    )
    assert "rerun" in failure.fix


def test_one_refusal_then_success_is_written() -> None:
    fo, clock = FakeFO(script=[REFUSED]), Clock()
    done = run(fo, clock)
    assert done.written and fo.applied == [("create", DESIRED)]


def test_record_exists_but_never_found_gives_up_with_a_clear_message() -> None:
    fo, clock = FakeFO(script=[EXISTS] * 10), Clock()
    done = run(fo, clock, attempts=4)
    assert len(fo.sent) == 4 and clock.slept == []  # no answer was lost: nothing to wait for
    failure = done.failure
    assert failure is not None and failure.unclear
    assert KEY in failure.why and "already exists" in failure.why
    assert KEY in failure.fix


def test_a_dry_run_plans_and_writes_nothing() -> None:
    fo, clock = FakeFO(), Clock()
    done = reconcile(vendor(fo), clock.patience(), dry_run=True)
    assert done.plan.action == "create" and done.attempts == 0 and not done.written
    assert fo.sent == []


def test_a_failed_look_up_propagates() -> None:
    fo, clock = FakeFO(script=[LOST_BEFORE_APPLY]), Clock()

    def unreadable() -> None:
        raise ODataError("Dynamics is unavailable", status=503)

    record = vendor(fo)
    broken = MasterRecord(
        record.key, record.current, unreadable, record.plan, record.has_writes, record.write
    )
    with pytest.raises(ODataError, match="unavailable"):
        reconcile(broken, clock.patience())


def test_which_errors_are_unclear() -> None:
    assert unclear(WriteOutcomeUnknownError("lost"))
    assert unclear(ODataError("The record already exists."))
    assert not unclear(ODataError("Field must be filled in", status=400))


# ---- the run state every master-data sync shares ---------------------------------------------


class StubClient:
    """What MasterDataSync reads of an ODataClient."""

    max_retries = 3

    def __init__(self) -> None:
        self.reads: list[str] = []
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)

    def backoff(self, attempt: int) -> float:
        return float(attempt)

    def get_all(self, entity: str, **_: Any) -> list[dict[str, Any]]:
        self.reads.append(entity)
        return [{"LegalEntityId": "USMF"}]


@dataclass(frozen=True)
class StubCompany:
    legal_entity: str
    key_path: str = "companies.acme"


class StubMapping:
    def company(self, company_uuid: str) -> StubCompany:
        if company_uuid != "acme":
            raise MappingError([f"company {company_uuid!r} is not in the mapping"])
        return StubCompany("usmf")


class Recorder(MasterDataSync[str]):
    label = "things"
    logger = logging.getLogger("test")

    def __init__(self, client: StubClient, opened: list[str]) -> None:
        @contextmanager
        def document() -> Iterator[None]:
            opened.append("open")
            yield
            opened.append("close")

        super().__init__(
            cast(Any, StubMapping()),
            cast(Any, None),  # nor the audit store
            cast(Any, client),
            cast(Any, lambda: None),
            document=document,
        )
        self.opened = opened

    def bring_in_line(self, record: Mapping[str, Any]) -> str:
        if record["uuid"] == "down":
            raise ODataError("Dynamics is unavailable", status=503)
        self.opened.append(f"sync {record['uuid']}")
        return "synced"

    def unreadable(self, record: Mapping[str, Any], error: ODataError) -> str:
        self.opened.append(f"unreadable {record['uuid']}: {error.message}")
        return "unreadable"


def test_pending_records_sync_later_each_in_its_own_document() -> None:
    opened: list[str] = []
    sync = Recorder(StubClient(), opened)
    for uuid in ("a", "down", "b"):
        sync.remember({"uuid": uuid})
    assert opened == []
    sync.sync_pending()
    assert opened == [
        "open",
        "sync a",
        "close",
        "open",
        "unreadable down: Dynamics is unavailable",
        "close",
        "open",
        "sync b",
        "close",
    ]
    sync.sync_pending()
    assert len(opened) == 9


def test_a_long_queue_is_read_back_from_the_store_page_by_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("target_dynamics_fo.masterdata.sync.PAGE", 2)
    opened: list[str] = []
    sync = Recorder(StubClient(), opened)
    sync.audit = AuditStore(tmp_path / "audit.sqlite")
    for uuid in ("a", "b", "c", "d", "e"):
        sync.remember({"uuid": uuid, "amount": Decimal("0.10")})
    assert sync.audit.master_queue_end(sync.label) == 4  # the fifth is still in memory
    sync.sync_pending()
    assert [o for o in opened if o.startswith("sync")] == [f"sync {u}" for u in "abcde"]
    assert sync.audit.master_queue_end(sync.label) == 0


def test_a_stop_inside_the_queue_empties_it_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("target_dynamics_fo.masterdata.sync.PAGE", 2)
    sync = Recorder(StubClient(), [])
    sync.audit = AuditStore(tmp_path / "audit.sqlite")

    @contextmanager
    def document() -> Iterator[None]:
        if len(sync.opened) == 2:
            raise KeyboardInterrupt
        yield

    sync.document = document
    for uuid in ("a", "b", "c", "d"):
        sync.remember({"uuid": uuid})
    with pytest.raises(KeyboardInterrupt):
        sync.sync_pending()
    assert sync.opened == ["sync a", "sync b"]
    sync.remember({"uuid": "later"})
    sync.opened.clear()
    sync.sync_pending()
    assert sync.opened == ["sync later"]


def test_legal_entities_are_read_once_a_run() -> None:
    client = StubClient()
    sync = Recorder(client, [])
    assert sync.legal_entity_gaps(cast(Any, StubCompany("usmf"))) == []
    [gap] = sync.legal_entity_gaps(cast(Any, StubCompany("xyz")))
    assert gap == "legal entity 'xyz' does not exist in Dynamics; fix companies.acme.legal_entity"
    assert client.reads == ["LegalEntities"]


def test_the_run_waits_on_its_clients_clock() -> None:
    client = StubClient()
    sync = Recorder(client, [])
    fo = FakeFO(script=[LOST_AFTER_APPLY])
    done = sync.reconcile(vendor(fo))
    assert done.settled_by_look_up and client.slept == [1.0]
    sync.warn("twice")
    sync.warn("twice")
    assert sync.finish() == ["things: nothing; 0 failed", "  warning: twice"]


def test_a_record_of_an_unmapped_company_is_a_warning_naming_it() -> None:
    sync = Recorder(StubClient(), [])
    assert sync.company_of({"company_uuid": "acme"}, "thing 1") == StubCompany("usmf")
    assert sync.company_of({"company_uuid": "other"}, "thing 2") is None
    [warning] = sync.summary.warnings
    assert warning.startswith("thing 2 not synchronised to Dynamics: mapping <mapping>: 1 problem")
    assert "'other' is not in the mapping" in warning
