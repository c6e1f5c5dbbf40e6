"""Guarantees 1, 2 and 5: nothing lost, idempotent ingest, one bad record fails alone."""

from __future__ import annotations

from typing import Any

import pytest

from parkhub.adapters.base import ParseResult
from parkhub.adapters.vendors import qisheng as qisheng_mod
from parkhub.hub import Hub
from parkhub.sandbox.qisheng_sim import QishengSim
from parkhub.sandbox.server import ServerHandle
from parkhub.store import schema as t


def _raw_rows(hub: Hub) -> list[dict[str, Any]]:
    with hub.store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(t.raw_inbox.select())]


def test_sync_stores_roster_monthly_readings_and_alarms(hub: Hub) -> None:
    [result] = hub.sync()
    assert result.failure is None
    counts = hub.store.count_records()
    assert counts["enterprise"] == 12
    assert counts["enterprise_monthly"] == 23  # 24 rows, one with revenue "约300"
    assert counts["measurement"] == 12 * 31
    assert counts["event"] == 3
    # the roster goes to the provincial platform: one delivery per enterprise
    assert hub.status()["platforms"]["provincial"]["pending"] == 12


def test_same_input_twice_creates_no_revision_and_no_delivery(hub: Hub) -> None:
    hub.sync()
    before = hub.store.deliveries(limit=10_000)
    # forget the cursors: the same pages come again and are stored once
    with hub.store.begin() as conn:
        conn.execute(t.cursors.delete())
    [again] = hub.sync()
    assert again.new == 0 and again.changed == 0 and again.deliveries == 0
    assert len(hub.store.deliveries(limit=10_000)) == len(before)
    ent = hub.store.record("enterprise", hub.store.records_of("enterprise")[0]["credit_code"])
    assert ent is not None and ent["revision"] == 1


def test_bad_record_fails_alone_and_names_source_record_field_reason(hub: Hub) -> None:
    [result] = hub.sync()
    [error] = result.errors
    assert error.source == "qisheng-lc"
    assert error.record.startswith("monthly#91330302")
    assert error.field == "revenue"
    assert "约300" in error.reason and "数字" in error.reason
    # the rest of that page was stored
    raws = [r for r in _raw_rows(hub) if r["stream"] == "monthly" and r["status"] == "partial"]
    assert len(raws) == 1
    assert raws[0]["record_count"] == 11
    assert "约300" in raws[0]["errors"]


def test_rejected_record_is_reparsed_after_a_fix(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> None:
    hub.sync()
    assert hub.store.count_records()["enterprise_monthly"] == 23
    original = qisheng_mod.QishengAdapter._monthly

    def fixed(self: Any, row: dict[str, Any], index: int, result: ParseResult) -> None:
        # the "fix": a new adapter release that reads "约300" (about 300) as 300
        if isinstance(row.get("revenue"), str):
            row = {**row, "revenue": float(row["revenue"].lstrip("约"))}
        original(self, row, index, result)

    monkeypatch.setattr(qisheng_mod.QishengAdapter, "_monthly", fixed)
    [res] = hub.reparse(source="qisheng-lc")
    assert res.status == "parsed" and res.new == 1 and res.unchanged == 11
    assert hub.store.count_records()["enterprise_monthly"] == 24
    assert not [r for r in _raw_rows(hub) if r["status"] in ("partial", "rejected")]
    # reparsing again changes nothing
    assert hub.reparse(source="qisheng-lc") == []


def test_raw_message_is_kept_even_when_unparseable(hub: Hub) -> None:
    from parkhub.adapters.base import RawMessage

    adapter = hub.adapter("qisheng-lc")
    res = hub.ingest(adapter, RawMessage("qisheng-lc", "readings", b"<html>502 Bad Gateway</html>"))
    assert res.status == "rejected"
    [row] = [r for r in _raw_rows(hub) if r["id"] == res.raw_id]
    assert row["body"] == b"<html>502 Bad Gateway</html>"
    assert "unparseable" in row["reason"]


def test_cursor_moves_with_the_records(hub: Hub, qisheng: tuple[QishengSim, ServerHandle]) -> None:
    hub.sync()
    assert hub.store.get_cursor("qisheng-lc", "readings") == str(12 * 31)
    sim = qisheng[0]
    sim.add_reading(meter="DB-E0001", credit=None, read_time="2026-11-01 00:00:00", value=10.5)
    [result] = hub.sync()
    assert result.new == 1  # only the new reading, nothing re-read
    assert hub.store.get_cursor("qisheng-lc", "readings") == str(12 * 31 + 1)


def test_vendor_outage_fails_the_sync_cleanly_and_keeps_the_cursor(
    hub: Hub, qisheng: tuple[QishengSim, ServerHandle]
) -> None:
    qisheng[0].fail_next = 100
    [result] = hub.sync()
    assert result.failure is not None and "503" in result.failure
    assert hub.store.get_cursor("qisheng-lc", "readings") is None
    qisheng[0].fail_next = 0
    [result] = hub.sync()
    assert result.failure is None and result.new > 0


def test_expired_token_logs_in_again(hub: Hub, qisheng: tuple[QishengSim, ServerHandle]) -> None:
    hub.sync()
    qisheng[0].expire_tokens()
    qisheng[0].add_reading(meter="DB-E0002", credit=None, read_time="2026-11-02 00:00:00", value=1)
    [result] = hub.sync()
    assert result.failure is None and result.new == 1


def test_push_kept_but_never_parsed_is_recovered(hub: Hub) -> None:
    """The process died between committing a push and parsing it: the recovery job parses it."""
    import datetime as dt

    from parkhub.sandbox.qisheng_sim import QishengSim as _Sim

    body = __import__("orjson").dumps(
        {"code": 0, "data": {"records": _Sim(enterprise_count=2).readings[:3]}}
    )
    with hub.store.begin() as conn:
        raw_id, _ = hub.store.insert_raw(
            conn,
            source="qisheng-lc",
            stream="readings",
            body=body,
            received_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5),
        )
    assert hub.store.count_records().get("measurement", 0) == 0
    [result] = hub.recover_inbox()
    assert result.raw_id == raw_id and result.status == "parsed" and result.new == 3
    assert hub.recover_inbox() == []  # parsed now: nothing left to recover
