"""Guarantees 1, 2 and 5: nothing lost, idempotent ingest, one bad record fails alone."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from parkhub.adapters.vendors import qisheng as qisheng_mod
from parkhub.adapters.vendors.base import Parsed
from parkhub.hub import Hub
from parkhub.sandbox.provincial_sim import ProvincialSim
from parkhub.sandbox.qisheng_sim import QishengSim
from parkhub.sandbox.server import ServerHandle
from parkhub.store import schema as t
from tests.helpers import make_config


def _raw_rows(hub: Hub) -> list[dict[str, Any]]:
    with hub.store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(t.raw_inbox.select())]


def test_sync_stores_roster_monthly_readings_and_alarms(hub: Hub) -> None:
    [result] = hub.sync()
    assert result.failure is None
    counts = hub.store.records.counts()
    assert counts["enterprise"] == 12
    assert counts["enterprise_monthly"] == 23  # 24 rows, one with revenue "约300"
    assert counts["measurement"] == 12 * 31
    assert counts["event"] == 3
    # the roster goes to the provincial platform: one delivery per enterprise
    assert hub.status()["platforms"]["provincial"]["pending"] == 12


def test_same_input_twice_creates_no_revision_and_no_delivery(hub: Hub) -> None:
    hub.sync()
    before = hub.store.outbox.deliveries(limit=10_000)
    # forget the cursors: the same pages come again and are stored once
    with hub.store.begin() as conn:
        conn.execute(t.cursors.delete())
    [again] = hub.sync()
    assert again.new == 0 and again.changed == 0 and again.deliveries == 0
    assert len(hub.store.outbox.deliveries(limit=10_000)) == len(before)
    ent = hub.store.records.get(
        "enterprise", hub.store.records.docs("enterprise")[0]["credit_code"]
    )
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
    assert hub.store.records.counts()["enterprise_monthly"] == 23
    original = qisheng_mod.QishengAdapter._monthly

    def fixed(self: Any, row: dict[str, Any], index: int) -> list[Parsed]:
        # the "fix": a new adapter release that reads "约300" (about 300) as 300
        if isinstance(row.get("revenue"), str):
            row = {**row, "revenue": float(row["revenue"].lstrip("约"))}
        return original(self, row, index)

    monkeypatch.setattr(qisheng_mod.QishengAdapter, "_monthly", fixed)
    [res] = hub.reparse(source="qisheng-lc")
    assert res.status == "parsed" and res.new == 1 and res.unchanged == 11
    assert hub.store.records.counts()["enterprise_monthly"] == 24
    assert not [r for r in _raw_rows(hub) if r["status"] in ("partial", "rejected")]
    # reparsing again changes nothing
    assert hub.reparse(source="qisheng-lc") == []


def test_raw_message_is_kept_even_when_unparseable(hub: Hub) -> None:
    from parkhub.adapters.vendors.base import RawMessage

    adapter = hub.adapter("qisheng-lc")
    res = hub.ingest(adapter, RawMessage("qisheng-lc", "readings", b"<html>502 Bad Gateway</html>"))
    assert res.status == "rejected"
    [row] = [r for r in _raw_rows(hub) if r["id"] == res.raw_id]
    assert row["body"] == b"<html>502 Bad Gateway</html>"
    assert "unparseable" in row["reason"]


def test_cursor_moves_with_the_records(hub: Hub, qisheng: tuple[QishengSim, ServerHandle]) -> None:
    hub.sync()
    assert hub.store.cursors.get("qisheng-lc", "readings") == str(12 * 31)
    sim = qisheng[0]
    sim.add_reading(meter="DB-E0001", credit=None, read_time="2026-11-01 00:00:00", value=10.5)
    [result] = hub.sync()
    assert result.new == 1  # only the new reading, nothing re-read
    assert hub.store.cursors.get("qisheng-lc", "readings") == str(12 * 31 + 1)


def test_vendor_outage_fails_the_sync_cleanly_and_keeps_the_cursor(
    hub: Hub, qisheng: tuple[QishengSim, ServerHandle]
) -> None:
    qisheng[0].fail_next = 100
    [result] = hub.sync()
    assert result.failure is not None and "503" in result.failure
    assert hub.store.cursors.get("qisheng-lc", "readings") is None
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
        raw_id, _ = hub.store.inbox.add(
            conn,
            source="qisheng-lc",
            stream="readings",
            body=body,
            received_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5),
        )
    assert hub.store.records.counts().get("measurement", 0) == 0
    [result] = hub.recover_inbox()
    assert result.raw_id == raw_id and result.status == "parsed" and result.new == 3
    assert hub.recover_inbox() == []  # parsed now: nothing left to recover


def _reading_pages(count: int, *, per_page: int = 3, meter: str = "DB-E0001") -> list[bytes]:
    """Qisheng meter-reading pages (the shape of the simulator's), `per_page` readings each."""
    import orjson

    pages = []
    for p in range(count):
        rows = [
            {
                "id": p * per_page + i + 1,
                "meterNo": meter,
                "meterType": "electric",
                "readTime": f"2026-10-{p + 1:02d} {i:02d}:00:00",
                "value": 100.0 + i,
                "unit": "kWh",
                "periodType": "day",
            }
            for i in range(per_page)
        ]
        pages.append(orjson.dumps({"code": 0, "data": {"records": rows, "hasMore": True}}))
    return pages


def test_pages_stored_before_a_source_failure_stay_stored(hub: Hub) -> None:
    """A pull that fails on its third page keeps the two before it, and the cursor with them
    (on PostgreSQL the second page is still in flight when the source fails)."""
    from parkhub.adapters.vendors.base import RawMessage
    from parkhub.errors import SourceError

    adapter = hub.adapter("qisheng-lc")
    bodies = _reading_pages(2)

    def pull() -> Any:
        for n, body in enumerate(bodies, start=1):
            yield RawMessage("qisheng-lc", "readings", body), ("readings", str(n * 3))
        raise SourceError("qisheng-lc: HTTP 503 on page 3")

    results = []
    with pytest.raises(SourceError):
        for res in hub.ingest_many(adapter, pull()):
            results.append(res)
    assert [r.new for r in results] == [3, 3]
    assert hub.store.records.counts()["measurement"] == 6
    assert hub.store.cursors.get("qisheng-lc", "readings") == "6"


def test_a_page_the_database_refuses_is_rolled_back_alone(
    db_url: str,
    qisheng: tuple[QishengSim, ServerHandle],
    provincial: tuple[ProvincialSim, ServerHandle],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A page whose transaction the database refuses leaves nothing of itself (its records, raw
    message and cursor roll back together); the pages before it stay, also when they shared
    its transaction (SQLite groups pages), each reported and its bad records logged once, and
    the hub carries on (PostgreSQL: with a fresh connection)."""
    import sqlite3

    import orjson
    import psycopg
    from sqlalchemy.exc import DBAPIError

    from parkhub.adapters.vendors.base import RawMessage

    hub = Hub.open(make_config(qisheng[1].url, provincial[1].url, db_url), url=db_url)
    try:
        adapter = hub.adapter("qisheng-lc")
        first, second, third = _reading_pages(3)
        page = orjson.loads(first)
        page["data"]["records"].append({"id": 99, "readTime": "2026-10-01 00:00:00"})
        first = orjson.dumps(page)  # three readings and one without a meter number
        stream: list[Any] = [
            (RawMessage("qisheng-lc", "readings", first), ("readings", "3")),
            (RawMessage("qisheng-lc", "readings", second), ("readings", "6")),
            # a cursor without a stream (a broken adapter): the database refuses the page
            (RawMessage("qisheng-lc", "readings", third), (None, "9")),
        ]
        done = []
        with pytest.raises((DBAPIError, psycopg.Error, sqlite3.Error)):
            for res in hub.ingest_many(adapter, stream):
                done.append(res)
        assert [r.new for r in done] == [3, 3]
        assert [len(r.errors) for r in done] == [1, 0]
        logged = [r for r in caplog.records if r.getMessage().startswith("rejected record")]
        assert len(logged) == 1 and "readings#99" in logged[0].getMessage()
        assert hub.store.records.counts()["measurement"] == 6
        assert hub.store.cursors.get("qisheng-lc", "readings") == "6"
        assert len(_raw_rows(hub)) == 2
        [again] = hub.ingest_many(adapter, [(stream[2][0], ("readings", "9"))])
        assert again.new == 3 and hub.store.cursors.get("qisheng-lc", "readings") == "9"
    finally:
        hub.close()


def test_an_over_long_device_id_fails_alone(hub: Hub) -> None:
    """A key longer than the store takes is a bad record of the page, not a failed page."""
    import orjson

    from parkhub.adapters.vendors.base import RawMessage

    [good] = _reading_pages(1, per_page=2)
    page = orjson.loads(good)
    page["data"]["records"][1]["meterNo"] = "M" * 200
    [res] = hub.ingest_many(
        hub.adapter("qisheng-lc"),
        [(RawMessage("qisheng-lc", "readings", orjson.dumps(page)), ("readings", "2"))],
    )
    assert res.status == "partial" and res.new == 1
    [error] = res.errors
    assert error.record == "readings#2" and error.field == "meterNo"
    assert "128" in error.reason


def test_a_reading_without_a_meter_number_fails_alone(hub: Hub) -> None:
    """A reading must say which meter it is from: without `meterNo` it is a bad record naming
    that field (never a reading of a meter called "None"); a bad value names `value`."""
    import orjson

    from parkhub.adapters.vendors.base import RawMessage

    [good] = _reading_pages(1, per_page=3)
    page = orjson.loads(good)
    del page["data"]["records"][0]["meterNo"]
    page["data"]["records"][1]["value"] = "约300"
    page["data"]["records"][2]["meterType"] = ["water"]  # an odd shape, not a broken page
    [res] = hub.ingest_many(
        hub.adapter("qisheng-lc"),
        [(RawMessage("qisheng-lc", "readings", orjson.dumps(page)), ("readings", "3"))],
    )
    assert res.status == "partial" and res.new == 1
    assert [(e.record, e.field) for e in res.errors] == [
        ("readings#1", "meterNo"),
        ("readings#2", "value"),
    ]
    assert "表号" in res.errors[0].reason and "约300" in res.errors[1].reason


def test_an_unparseable_page_in_a_pull_is_kept_with_its_reason(hub: Hub) -> None:
    from parkhub.adapters.vendors.base import RawMessage

    [good] = _reading_pages(1)
    bad = b"<html>502 Bad Gateway</html>"
    results = list(
        hub.ingest_many(
            hub.adapter("qisheng-lc"),
            [
                (RawMessage("qisheng-lc", "readings", bad), ("readings", "0")),
                (RawMessage("qisheng-lc", "readings", good), ("readings", "3")),
                (RawMessage("qisheng-lc", "readings", good), ("readings", "3")),  # again
            ],
        )
    )
    assert [(r.status, r.new, r.duplicate) for r in results] == [
        ("rejected", 0, False),
        ("parsed", 3, False),
        ("parsed", 0, True),
    ]
    assert results[1].raw_id == results[2].raw_id
    [row] = [r for r in _raw_rows(hub) if r["id"] == results[0].raw_id]
    assert row["body"] == bad and row["status"] == "rejected" and "unparseable" in row["reason"]
    assert hub.store.cursors.get("qisheng-lc", "readings") == "3"


def test_a_page_stored_meanwhile_by_another_pull_is_a_duplicate(
    pg_url: str,
    qisheng: tuple[QishengSim, ServerHandle],
    provincial: tuple[ProvincialSim, ServerHandle],
) -> None:
    """PostgreSQL: two pulls of one source at once (the scheduler and a `parkhub sync`) store a
    page once; the one that waited on the other reports a duplicate of the row it kept."""
    import threading

    from parkhub.adapters.vendors.base import RawMessage

    hub = Hub.open(make_config(qisheng[1].url, provincial[1].url, pg_url), url=pg_url)
    try:
        adapter = hub.adapter("qisheng-lc")
        [body] = _reading_pages(1)
        page = RawMessage("qisheng-lc", "readings", body)
        other = hub.store.engine.connect()
        other.begin()  # the other pull: its page is in, not yet committed
        raw_id, _ = hub.store.inbox.add(other, source="qisheng-lc", stream="readings", body=body)
        results: list[Any] = []
        waiting = threading.Thread(
            target=lambda: results.extend(hub.ingest_many(adapter, [(page, ("readings", "3"))]))
        )
        waiting.start()
        waiting.join(1.0)
        assert waiting.is_alive()  # blocked on the other transaction's row
        other.commit()
        other.close()
        waiting.join(10)
        [res] = results
        assert res.duplicate and res.raw_id == raw_id and res.new == 0
        assert hub.store.records.counts().get("measurement", 0) == 0
    finally:
        hub.close()


def test_a_pull_stopped_early_leaves_records_and_cursor_together(hub: Hub) -> None:
    """A reader that stops after the first result: whatever was stored (on PostgreSQL the next
    page may already be in flight, on SQLite pages pulled back to back share a transaction;
    either is committed whole) moved the cursor with it."""
    from parkhub.adapters.vendors.base import RawMessage

    stream = [
        (RawMessage("qisheng-lc", "readings", body), ("readings", str(3 * n)))
        for n, body in enumerate(_reading_pages(3), start=1)
    ]
    for first in hub.ingest_many(hub.adapter("qisheng-lc"), stream):
        assert first.new == 3
        break
    stored = hub.store.records.counts()["measurement"]
    assert stored in (3, 6, 9)  # SQLite: the pages that shared the first one's transaction
    assert hub.store.cursors.get("qisheng-lc", "readings") == str(stored)
    assert len(_raw_rows(hub)) == stored // 3


def test_each_result_comes_once_its_page_is_committed(hub: Hub) -> None:
    """Whether pages are stored one to a transaction or several (SQLite groups the pages a pull
    yields back to back), a page's result means its records, raw message and cursor are in
    the database, as another connection sees them."""
    from parkhub.adapters.vendors.base import RawMessage

    stream = [
        (RawMessage("qisheng-lc", "readings", body), ("readings", str(3 * n)))
        for n, body in enumerate(_reading_pages(4), start=1)
    ]
    seen = []
    for n, res in enumerate(hub.ingest_many(hub.adapter("qisheng-lc"), stream), start=1):
        assert res.new == 3
        with hub.store.engine.connect() as other:
            count = other.execute(
                select(func.count()).select_from(t.records).where(t.records.c.raw_id == res.raw_id)
            ).scalar()
        seen.append((count, hub.store.cursors.get("qisheng-lc", "readings")))
        assert int(seen[-1][1] or 0) >= 3 * n
    assert [c for c, _ in seen] == [3, 3, 3, 3]
    assert seen[-1][1] == "12"
