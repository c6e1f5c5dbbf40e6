"""The store and outbox on SQLite and PostgreSQL: revisions, claims, leases, migrations."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from alembic import command
from sqlalchemy import insert, inspect, select

from parkhub.canonical import Enterprise, Measurement
from parkhub.canonical.jsonutil import bytes_hash
from parkhub.store import Route, RouteTable, Sent, Store, idempotency_key
from parkhub.store import schema as t
from parkhub.store.db import alembic_config, make_engine, migrate

ROUTES = [Route("provincial", "enterprise_roster", "1"), Route("econ", "roster", "2", 50)]
routes = RouteTable.of(("enterprise", park, r) for park in ("p1", "p2") for r in ROUTES)


def ent(name: str = "温州瓯江电气有限公司", code: str = "913303020000000278") -> Enterprise:
    return Enterprise(park_id="p1", credit_code=code, name=name)


def upsert(store: Store, recs: list[Enterprise] | list[Measurement]) -> tuple[int, int, int, int]:
    with store.begin() as conn:
        r = store.writer.upsert(conn, recs, source="test", raw_id=None, routes=routes)
    return r.new, r.changed, r.unchanged, r.deliveries


def test_revisions_and_deliveries(store: Store) -> None:
    assert upsert(store, [ent()]) == (1, 0, 0, 2)
    assert upsert(store, [ent()]) == (0, 0, 1, 0)
    assert upsert(store, [ent("温州瓯江电气股份有限公司")]) == (0, 1, 0, 2)
    row = store.records.get("enterprise", "913303020000000278")
    assert row is not None and row["revision"] == 2
    statuses = sorted(
        (d["revision"], d["platform"], d["status"]) for d in store.outbox.deliveries()
    )
    assert statuses == [
        (1, "econ", "superseded"),
        (1, "provincial", "superseded"),
        (2, "econ", "pending"),
        (2, "provincial", "pending"),
    ]
    # the same key on SQLite (computed here) and PostgreSQL (computed by the server)
    keys = {d["idempotency_key"] for d in store.outbox.deliveries()}
    assert keys == {
        idempotency_key("enterprise", "913303020000000278", revision, platform, report, version)
        for revision in (1, 2)
        for platform, report, version in (
            ("provincial", "enterprise_roster", "1"),
            ("econ", "roster", "2"),
        )
    }
    assert all(k.startswith("ph2-") and len(k) == 44 for k in keys)
    # what is sent is what was listed: the claim stores the key (SQLite: first derived there)
    claimed = {c.idempotency_key for c in store.outbox.claim("w1", limit=10)}
    assert claimed == {d["idempotency_key"] for d in store.outbox.deliveries(status=["in_flight"])}
    assert claimed < keys and len(claimed) == 2
    with store.engine.connect() as conn:
        stored = conn.execute(select(t.deliveries.c.status, t.deliveries.c.idempotency_key)).all()
    assert {k for status, k in stored if status == "in_flight"} == claimed


def test_last_one_wins_inside_a_batch(store: Store) -> None:
    assert upsert(store, [ent("a"), ent("b")]) == (1, 0, 0, 2)
    row = store.records.get("enterprise", "913303020000000278")
    assert row is not None and '"name":"b"' in row["doc"]


def test_large_batch_crosses_statement_chunks(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("parkhub.store.writers.postgres.RECORDS_PER_STATEMENT", 500)  # as SQLite
    base = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    recs = [
        Measurement(
            park_id="p1",
            device_id=f"m{i % 7}",
            metric="electricity",
            ts=base + dt.timedelta(minutes=i),
            value=float(i),
        )
        for i in range(1234)
    ]
    energy = RouteTable.of([("measurement", "p1", Route("energy", "readings", "1"))])
    with store.begin() as conn:
        first = store.writer.upsert(conn, recs, source="test", raw_id=None, routes=energy)
    assert (first.new, first.deliveries) == (1234, 1234)
    assert upsert(store, recs) == (0, 0, 1234, 0)
    assert len({d["record_id"] for d in store.outbox.deliveries(limit=5000)}) == 1234
    docs = list(
        store.records.docs_between(
            "measurement", park_id="p1", start=base, end=base + dt.timedelta(minutes=100), batch=30
        )
    )
    assert len(docs) == 100


def test_status_counts_of_every_park_in_one_query(store: Store) -> None:
    """The console's park list counts every park's deliveries at once: the same numbers as
    asking park by park."""
    upsert(store, [ent()])
    with store.begin() as conn:
        store.writer.upsert(
            conn,
            [Enterprise(park_id="p2", credit_code="91110000600037341L", name="乙公司")],
            source="test",
            raw_id=None,
            routes=routes,
        )
    store.outbox.claim("w1", limit=1)
    by_park = store.outbox.status_counts_by_park()
    assert set(by_park) == {"p1", "p2"}
    assert by_park == {p: store.outbox.status_counts(park_id=p) for p in ("p1", "p2")}
    assert sum(sum(c.values()) for c in by_park["p2"].values()) == 2


def test_priority_then_age_order_and_platform_filter(store: Store) -> None:
    upsert(store, [ent()])
    claimed = store.outbox.claim("w1", limit=10)
    assert [c.platform for c in claimed] == ["econ", "provincial"]  # econ has priority 50
    upsert(store, [ent("x", "91110000600037341L")])
    assert [c.platform for c in store.outbox.claim("w1", platforms=["provincial"])] == [
        "provincial"
    ]


def test_claims_are_disjoint_across_concurrent_workers(store: Store) -> None:
    codes = [
        c
        for c in (
            "91110000600037341L",
            "91350200776049653A",
            "91350503MA31DKY80A",
            "91440101MA5CJQ4N59",
            "9135021359498494XQ",
            "91350213678251743X",
        )
    ]
    upsert(store, [ent(f"e{i}", c) for i, c in enumerate(codes)])  # 12 deliveries
    got: dict[str, list[int]] = {}
    barrier = threading.Barrier(4)

    def worker(name: str) -> None:
        barrier.wait()
        ids: list[int] = []
        while batch := store.outbox.claim(name, limit=2):
            ids.extend(c.id for c in batch)
        got[name] = ids

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    all_ids = [i for ids in got.values() for i in ids]
    assert len(all_ids) == 12 and len(set(all_ids)) == 12


def test_expired_lease_returns_the_row(store: Store) -> None:
    upsert(store, [ent()])
    first = store.outbox.claim("crashed", limit=1, lease_seconds=0.5)
    assert len(first) == 1
    assert [c.id for c in store.outbox.claim("w2", limit=10)] != [first[0].id]
    time.sleep(0.6)
    again = store.outbox.claim("w2", limit=10)
    assert first[0].id in [c.id for c in again]
    retaken = next(c for c in again if c.id == first[0].id)
    assert retaken.attempts == 2
    # the crashed worker's late receipt cannot overwrite the new owner's row
    with store.begin() as conn:
        assert store.outbox.mark_sent(conn, "crashed", [Sent(first[0].id, "{}", "x", {})]) == 0
        assert store.outbox.mark_sent(conn, "w2", [Sent(first[0].id, "{}", "y", {})]) == 1


def test_raw_inbox_keeps_a_body_once(store: Store) -> None:
    with store.begin() as conn:
        a, new_a = store.inbox.add(conn, source="s", stream="x", body=b'{"a":1}')
        b, new_b = store.inbox.add(conn, source="s", stream="x", body=b'{"a":1}')
        c, new_c = store.inbox.add(conn, source="other", stream="x", body=b'{"a":1}')
    assert a == b and new_a and not new_b and new_c and c != a


def test_cursors(store: Store) -> None:
    assert store.cursors.get("s", "readings") is None
    with store.begin() as conn:
        store.cursors.set(conn, "s", "readings", "42")
        store.cursors.set(conn, "s", "readings", "43")
    assert store.cursors.get("s", "readings") == "43"


def test_migrations_create_exactly_the_models(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), t.metadata)
        tables = set(inspect(conn).get_table_names())
    assert diff == []
    assert {"raw_inbox", "records", "deliveries", "cursors", "audit"} <= tables
    Store.open(str(store.engine.url.render_as_string(hide_password=False))).close()  # idempotent


def test_migration_0004_moves_the_time_to_the_front_of_time_series_keys(db_url: str) -> None:
    """A database written before 0004 keeps its readings: the same reading again is no news."""
    engine = make_engine(db_url)
    migrate(engine, "0003")
    reading = Measurement(
        park_id="p1", device_id="qs:DB-E01", metric="electricity", ts=dt.datetime(2026, 10, 1, 8)
    )
    old_key = "qs:DB-E01|electricity|instant|2026-10-01T00:00:00+00:00"
    now = dt.datetime.now(dt.UTC)
    stamps = {"created_at": now, "updated_at": now}
    with engine.begin() as conn:
        rid = conn.execute(
            insert(t.records)
            .values(
                kind="measurement",
                key=old_key,
                park_id="p1",
                revision=1,
                content_hash=bytes_hash(reading.document_json()),
                ts=reading.ts,
                doc=reading.document_json().decode(),
                source="test",
                **stamps,
            )
            .returning(t.records.c.id)
        ).scalar_one()
        delivery = {
            "record_kind": "measurement", "revision": 1, "park_id": "p1", "platform": "energy",
            "report": "readings", "mapping_version": "1", "next_attempt_at": now, **stamps,
        }  # fmt: skip
        conn.execute(
            insert(t.deliveries).values(
                **delivery,
                record_id=rid,
                record_key=old_key,
                idempotency_key="ph1-old",
                status="sent",
            )
        )
        orphan = {"record_id": 999_999, "idempotency_key": "ph1-orphan", "record_key": "x|y"}
        conn.execute(  # a delivery whose record was deleted by hand: the upgrade goes on
            insert(t.deliveries).values(**orphan, **delivery, status="dead")
        )
        roster = {"kind": "enterprise", "key": "913303020000000278", "park_id": "p1"}
        conn.execute(
            insert(t.records).values(
                **roster, revision=1, content_hash="x", doc="{}", source="test", **stamps
            )
        )
    migrate(engine, "head")
    with engine.connect() as conn:
        keys = dict(conn.execute(select(t.records.c.kind, t.records.c.key)).all())
        delivered = conn.execute(
            select(t.deliveries.c.record_key, t.deliveries.c.idempotency_key).order_by(
                t.deliveries.c.id
            )
        )
        # the key issued stays; the orphan keeps what it had
        assert delivered.all() == [(reading.key, "ph1-old"), ("x|y", "ph1-orphan")]
    assert keys == {"measurement": reading.key, "enterprise": "913303020000000278"}
    assert reading.key == "2026-10-01T00:00:00+00:00|qs:DB-E01|electricity|instant"
    store = Store(engine)
    energy = RouteTable.of([("measurement", reading.park_id, Route("energy", "readings", "1"))])
    with store.begin() as conn:
        again = store.writer.upsert(conn, [reading], source="test", raw_id=None, routes=energy)
    assert (again.new, again.changed, again.unchanged, again.deliveries) == (0, 0, 1, 0)
    command.downgrade(alembic_config(engine), "0003")  # and back
    with engine.connect() as conn:
        key = conn.execute(select(t.records.c.key).where(t.records.c.id == rid)).scalar()
    assert key == old_key
    store.close()


def test_migration_0005_downgrade_stores_the_keys_of_waiting_deliveries(db_url: str) -> None:
    """Going back to a schema where every delivery holds its key fills in the keys SQLite left
    to the first claim: the very keys the claim would have stored."""
    store = Store.open(db_url)
    upsert(store, [ent()])
    expected = {d["id"]: d["idempotency_key"] for d in store.outbox.deliveries()}
    engine = store.engine
    command.downgrade(alembic_config(engine), "0004")
    with engine.connect() as conn:
        rows = dict(conn.execute(select(t.deliveries.c.id, t.deliveries.c.idempotency_key)).all())
    assert rows == expected and len(rows) == 2
    command.upgrade(alembic_config(engine), "head")
    store.close()


def test_a_period_holds_its_readings_and_no_others(store: Store) -> None:
    """Readings are found by time range of their keys: the first instant of a month is in it,
    the first instant of the next is not, and fractions of a second sort where they belong."""
    utc = dt.UTC
    times = [
        dt.datetime(2026, 9, 30, 15, 59, 59, 999999, tzinfo=utc),  # Sept in Beijing
        dt.datetime(2026, 9, 30, 16, 0, tzinfo=utc),  # Oct 1, 00:00 in Beijing
        dt.datetime(2026, 9, 30, 16, 0, 0, 500000, tzinfo=utc),
        dt.datetime(2026, 10, 15, 4, 30, tzinfo=utc),
        dt.datetime(2026, 10, 31, 15, 59, 59, 999999, tzinfo=utc),
        dt.datetime(2026, 10, 31, 16, 0, tzinfo=utc),  # Nov 1 in Beijing
    ]
    readings = [
        Measurement(park_id=park, device_id=f"{park}:m{n}", metric="electricity", ts=ts, value=n)
        for n, ts in enumerate(times)
        for park in ("p1", "p2")
    ]
    upsert(store, readings)
    from parkhub.canonical.timeutil import month_bounds

    start, end = month_bounds("2026-10")
    found = list(
        store.records.docs_between("measurement", park_id="p1", start=start, end=end, batch=2)
    )
    assert sorted(d["value"] for d in found) == [1, 2, 3, 4]
    assert {d["park_id"] for d in found} == {"p1"}


@pytest.mark.parametrize("filtered", [False, True], ids=["every-reading", "per-reading"])
def test_a_batch_of_new_changed_and_unchanged_readings(store: Store, filtered: bool) -> None:
    """New, changed and unchanged readings in one batch: counted apart, the new and changed
    ones queued (a change as a correction, its older undelivered revision superseded), the
    unchanged ones left alone. The same whether the report takes every reading or decides per
    reading."""
    route = Route("energy", "readings", "1", accepts=(lambda r: True) if filtered else None)
    base = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)

    def batch(values: dict[int, float]) -> tuple[int, int, int, int]:
        recs = [
            Measurement(park_id="p1", device_id=f"m{i}", metric="electricity",
                        ts=base + dt.timedelta(hours=i), value=v)
            for i, v in values.items()
        ]  # fmt: skip
        with store.begin() as conn:
            r = store.writer.upsert(
                conn,
                recs,
                source="t",
                raw_id=None,
                routes=RouteTable.of([("measurement", "p1", route)]),
            )
        return r.new, r.changed, r.unchanged, r.deliveries

    assert batch({i: 1.0 for i in range(600)}) == (600, 0, 0, 600)
    # 0-299 unchanged, 300-599 changed, 600-899 new: more than one statement's worth of each
    assert batch({i: 1.0 if i < 300 else 2.0 for i in range(900)}) == (300, 300, 300, 600)
    rows = store.outbox.deliveries(limit=5000)
    assert len(rows) == 1200
    by_status = sorted({(d["revision"], d["correction"], d["status"]) for d in rows})
    assert by_status == [(1, 0, "pending"), (1, 0, "superseded"), (2, 1, "pending")]
    superseded = {d["record_key"] for d in rows if d["status"] == "superseded"}
    changed = {d["record_key"] for d in rows if d["revision"] == 2}
    assert superseded == changed
    assert {int(k.split("|")[1][1:]) for k in changed} == set(range(300, 600))
    assert batch({i: 2.0 for i in range(300, 900)}) == (0, 0, 600, 0)


def test_two_processes_stamping_the_same_instant_lose_no_delivery(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite: `parkhub run` and a `parkhub sync` (two stores on one file) may stamp upserts
    with the same microsecond. A reading the second leaves unchanged keeps its pending
    delivery: only the rows its own raw message changed count as changed."""
    instant = dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC)
    monkeypatch.setattr("parkhub.store.writers.sqlite.utcnow", lambda: instant)
    route = Route("energy", "readings", "1")
    one, other = Store.open(sqlite_url), Store.open(sqlite_url)

    def batch(store: Store, raw: bytes, values: dict[str, float]) -> tuple[int, int, int, int]:
        recs = [
            Measurement(park_id="p1", device_id=d, metric="electricity", ts=instant, value=v)
            for d, v in values.items()
        ]
        with store.begin() as conn:
            raw_id, _ = store.inbox.add(conn, source="t", stream="readings", body=raw)
            r = store.writer.upsert(
                conn,
                recs,
                source="t",
                raw_id=raw_id,
                routes=RouteTable.of([("measurement", "p1", route)]),
            )
        return r.new, r.changed, r.unchanged, r.deliveries

    try:
        assert batch(one, b"first", {"m0": 1.0, "m2": 1.0}) == (2, 0, 0, 2)
        assert batch(other, b"second", {"m0": 1.0, "m2": 2.0}) == (0, 1, 1, 1)
        pending = sorted(
            (d["record_key"].split("|")[1], d["revision"])
            for d in one.outbox.deliveries(status=["pending"])
        )
        assert pending == [("m0", 1), ("m2", 2)]
    finally:
        one.close()
        other.close()


def test_a_report_that_takes_some_records_of_a_kind_gets_only_those(store: Store) -> None:
    """Route filters (ReportSpec.when) decide per record, on both databases."""
    fire_only = Route("fire", "fire_events", "1", 0, accepts=lambda r: r.device_id.endswith("F"))
    everything = Route("energy", "readings", "1")
    base = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    recs = [
        Measurement(park_id="p1", device_id=f"d{i}{'F' if i % 3 == 0 else ''}", metric="smoke",
                    ts=base + dt.timedelta(minutes=i))
        for i in range(9)
    ]  # fmt: skip
    with store.begin() as conn:
        res = store.writer.upsert(
            conn,
            recs,
            source="test",
            raw_id=None,
            routes=RouteTable.of(("measurement", "p1", r) for r in (fire_only, everything)),
        )
    assert (res.new, res.deliveries) == (9, 12)
    fire = store.outbox.deliveries(platform="fire")
    assert sorted(d["record_key"].split("|")[1] for d in fire) == ["d0F", "d3F", "d6F"]
    assert {d["priority"] for d in fire} == {0}
    assert len(store.outbox.deliveries(platform="energy")) == 9


def test_period_queries_use_an_index_on_sqlite(tmp_path: Any) -> None:
    """Events through the partial (park, kind, ts) index, readings through a key range."""
    from sqlalchemy import event

    store = Store.open(f"sqlite:///{tmp_path / 'plan.db'}")
    seen: list[tuple[str, Any]] = []
    event.listen(
        store.engine,
        "before_cursor_execute",
        lambda conn, cursor, sql, params, context, many: seen.append((sql, params)),
    )
    start, end = dt.datetime(2026, 10, 1, tzinfo=dt.UTC), dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    plans = {}
    for kind in ("event", "measurement"):
        seen.clear()
        list(store.records.docs_between(kind, park_id="p1", start=start, end=end))
        [(sql, params)] = [(q, p) for q, p in seen if "FROM records" in q]
        with store.engine.connect() as conn:
            plans[kind] = " ".join(
                row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
            )
    store.close()
    assert "USING INDEX ix_records_park_kind_ts" in plans["event"]
    assert "key>? AND key<?" in plans["measurement"]
    assert "SCAN records" not in plans["event"] + plans["measurement"]


def test_sqlite_checkpoints_run_in_a_thread_of_the_store_that_ends_with_it(tmp_path: Any) -> None:
    """The WAL is copied back by the store's own thread (no commit waits for it), and closing
    the store ends that thread: a process that opens and closes stores leaks none."""
    import threading

    def checkpointers() -> int:
        return sum(t.name == "sqlite-checkpoint" for t in threading.enumerate())

    before = checkpointers()
    store = Store.open(f"sqlite:///{tmp_path / 'wal.db'}")
    assert checkpointers() == before + 1
    upsert(store, [ent()])
    store.close()
    assert checkpointers() == before
