"""hold -> approve / correct / reject on SQLite and PostgreSQL: a held record reaches the
outbox only through a reviewer's decision, every decision is audited with who and when, and a
decision is made once."""

from __future__ import annotations

import pytest

from parkhub.ingest.review import ReviewError
from parkhub.store import HoldStatus, Store
from tests.ingest.support import CODE, PARK, Park, config, make_park, monthly

BAD = {"revenue_yuan": 3.5e10, "output_value_yuan": 3.4e6, "tax_yuan": 1e5}  # 元 in 万元


@pytest.fixture
def held(store: Store) -> tuple[Park, dict]:  # type: ignore[type-arg]
    park = make_park(store, config())
    result = park.feed([monthly(CODE, "2026-10", **BAD)])
    assert result.held == 1 and result.deliveries == 0
    [hold] = store.reviews.holds(park_ids=[PARK])
    return park, hold


def _audit(store: Store, action: str) -> dict:  # type: ignore[type-arg]
    from parkhub.canonical import jsonutil

    [entry] = [e for e in store.audit.log() if e["action"] == action]
    return {**entry, "detail": jsonutil.loads(entry["detail"])}


def test_approve_stores_and_routes_the_record_as_it_came(held: tuple[Park, dict]) -> None:  # type: ignore[type-arg]
    park, hold = held
    decision = park.review.approve(hold["id"], actor="web:shen", note="确认为真实大单")
    assert decision.status == HoldStatus.APPROVED and decision.revision == 1
    assert decision.deliveries == 1
    assert park.doc("enterprise_monthly", hold["key"])["revenue_yuan"] == 3.5e10  # type: ignore[index]
    [delivery] = park.deliveries("enterprise_monthly", hold["key"])
    assert delivery["status"] == "pending"
    row = park.store.reviews.hold(hold["id"])
    assert row is not None and row["status"] == HoldStatus.APPROVED
    assert row["decided_by"] == "web:shen" and row["decided_at"] is not None
    assert row["revision"] == 1 and row["note"] == "确认为真实大单"
    entry = _audit(park.store, "review_approved")
    assert entry["actor"] == "web:shen" and entry["at"] is not None
    assert entry["detail"]["hold_id"] == hold["id"] and entry["detail"]["key"] == hold["key"]


def test_correct_stores_the_reviewers_values(held: tuple[Park, dict]) -> None:  # type: ignore[type-arg]
    park, hold = held
    decision = park.review.correct(
        hold["id"], {"revenue_yuan": 3_500_000.0}, actor="web:shen", note="元填成了万元"
    )
    assert decision.status == HoldStatus.CORRECTED and decision.deliveries == 1
    doc = park.doc("enterprise_monthly", hold["key"])
    assert doc is not None and doc["revenue_yuan"] == 3_500_000.0 and doc["tax_yuan"] == 1e5
    entry = _audit(park.store, "review_corrected")
    assert entry["detail"]["changes"] == {"revenue_yuan": {"from": 3.5e10, "to": 3_500_000.0}}
    [stored] = park.store.records.stored("enterprise_monthly", [hold["key"]]).values()
    assert stored.source_of("revenue_yuan") == "review:web:shen"
    assert stored.source_of("tax_yuan") == "entry:p1"
    # the source cannot undo the reviewer's value: the reviewer ranks above every source
    again = park.feed([monthly(CODE, "2026-10", **{**BAD, "revenue_yuan": 4e6})])
    assert again.changed == 0 and again.deliveries == 0
    assert [f.rule for f in again.findings] == ["source_conflict"]


def test_reject_stores_nothing_and_keeps_the_record_held(held: tuple[Park, dict]) -> None:  # type: ignore[type-arg]
    park, hold = held
    decision = park.review.reject(hold["id"], actor="web:shen", note="企业确认填错，将重新填报")
    assert decision.status == HoldStatus.REJECTED
    assert park.doc("enterprise_monthly", hold["key"]) is None
    assert park.deliveries("enterprise_monthly", hold["key"]) == []
    row = park.store.reviews.hold(hold["id"])
    assert (
        row is not None and row["status"] == HoldStatus.REJECTED and '"revenue_yuan"' in row["doc"]
    )
    assert _audit(park.store, "review_reject")["detail"]["note"] == "企业确认填错，将重新填报"


def test_a_decision_is_made_once(held: tuple[Park, dict]) -> None:  # type: ignore[type-arg]
    park, hold = held
    park.review.reject(hold["id"], actor="web:a")
    with pytest.raises(ReviewError, match="no longer waits"):
        park.review.approve(hold["id"], actor="web:b")
    with pytest.raises(ReviewError, match="no held record"):
        park.review.approve(99_999, actor="web:b")
    assert park.deliveries("enterprise_monthly", hold["key"]) == []


def test_a_bad_correction_is_refused_whole(held: tuple[Park, dict]) -> None:  # type: ignore[type-arg]
    park, hold = held
    with pytest.raises(ReviewError, match="revenue_yuan"):
        park.review.correct(hold["id"], {"revenue_yuan": -5.0}, actor="web:a")
    with pytest.raises(ReviewError, match="no such field"):
        park.review.correct(hold["id"], {"revenue": 5.0}, actor="web:a")
    with pytest.raises(ReviewError, match="key"):
        park.review.correct(hold["id"], {"period": "2026-09"}, actor="web:a")
    assert park.store.reviews.hold(hold["id"])["status"] == HoldStatus.WAITING  # type: ignore[index]


def test_a_newer_version_of_a_held_record_supersedes_the_waiting_one(
    held: tuple[Park, dict],  # type: ignore[type-arg]
) -> None:
    park, hold = held
    fixed = park.feed([monthly(CODE, "2026-10", revenue_yuan=3.5e6, output_value_yuan=3.4e6)])
    assert fixed.new == 1 and fixed.held == 0
    park.feed([monthly(CODE, "2026-10", **BAD)])  # the mistake once more: held again
    rows = park.store.reviews.holds(park_ids=[PARK], statuses=list(HoldStatus))
    assert [r["status"] for r in rows] == [HoldStatus.SUPERSEDED, HoldStatus.WAITING]
    with pytest.raises(ReviewError):
        park.review.approve(hold["id"], actor="web:a")


def test_the_same_message_again_holds_nothing_twice(store: Store) -> None:
    park = make_park(store, config())
    rec = monthly(CODE, "2026-10", **BAD)
    first = park.feed([rec])
    found = len(store.reviews.findings())
    assert found == len(first.findings) == 2  # out of range, and why: a unit mistake
    raw_row = store.inbox.messages(ids=[first.raw_id], statuses=("parsed",))[0]
    from parkhub.adapters.vendors.base import ParseResult, RawMessage

    raw = RawMessage(raw_row["source"], raw_row["stream"], raw_row["body"])
    again = park.ingest.ingest(None, raw, parsed=ParseResult([rec]))  # type: ignore[arg-type]
    assert again.duplicate
    park.ingest.store_parsed(raw, first.raw_id, ParseResult([rec]))  # a reparse
    assert len(store.reviews.holds(statuses=list(HoldStatus))) == 1
    assert len(store.reviews.findings()) == found
