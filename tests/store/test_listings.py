"""What the faces read of the store, on SQLite and PostgreSQL: each platform's last delivery of a
park, brief delivery listings of several parks, and inbox problems without their bodies."""

from __future__ import annotations

from stdnum.cn import uscc

from parkhub.canonical import Enterprise, jsonutil
from parkhub.errors import InputError
from parkhub.store import DeliveryFilter, RawStatus, Route, RouteTable, Sent, Store
from parkhub.store.outbox import LISTED

ROUTES = [Route("provincial", "enterprise_roster", "1"), Route("econ", "roster", "2")]
ROUTED = RouteTable.of(("enterprise", park, r) for park in ("p1", "p2") for r in ROUTES)


def code(n: int) -> str:
    base = f"9133030257{n:07d}"
    return base + str(uscc.calc_check_digit(base))


def enterprises(store: Store, *parks: str) -> None:
    """One enterprise per park given (a park twice: two), each routed to both platforms."""
    recs = [Enterprise(park_id=p, credit_code=code(n), name=f"E{n}") for n, p in enumerate(parks)]
    with store.begin() as conn:
        store.writer.upsert(conn, recs, source="test", raw_id=None, routes=ROUTED)


def send_all(store: Store, *, fail: set[tuple[str, str]] = frozenset()) -> dict[int, str]:
    """Claim everything and send it, but kill the (record key, platform) pairs in `fail`; the
    receipt id of each delivery sent."""
    claimed = store.outbox.claim("w1", limit=100)
    receipts = {c.id: f"R-{c.id}" for c in claimed if (c.record_key, c.platform) not in fail}
    with store.begin() as conn:
        sent = [Sent(i, "{}", r, {"receipt_id": r}) for i, r in receipts.items()]
        store.outbox.mark_sent(conn, "w1", sent)
        for c in claimed:
            if c.id not in receipts:
                store.outbox.mark_failed(
                    conn, c.id, "w1", error="园区编码不存在", transient=False, next_attempt_at=None
                )
    return receipts


def test_last_sent_is_each_platforms_newest_delivery_of_the_park(store: Store) -> None:
    enterprises(store, "p1", "p1", "p2")
    assert store.outbox.last_sent("p1") == {}  # nothing sent yet
    receipts = send_all(store, fail={(code(1), "econ")})
    every = store.outbox.deliveries(limit=100)
    sent = [d for d in every if d["park_id"] == "p1" and d["status"] == "sent"]

    last = store.outbox.last_sent("p1")
    assert set(last) == {"provincial", "econ"}
    for platform, row in last.items():
        newest = max((d for d in sent if d["platform"] == platform), key=lambda d: d["id"])
        assert row == {
            "id": newest["id"],
            "report": newest["report"],
            "record_key": newest["record_key"],
            "revision": 1,
            "receipt_id": receipts[newest["id"]],
            "sent_at": newest["sent_at"],
        }
    assert last["econ"]["record_key"] == code(0)  # the newer econ delivery died
    assert last["provincial"]["record_key"] == code(1)
    assert set(store.outbox.last_sent("p2")) == {"provincial", "econ"}
    assert store.outbox.last_sent("elsewhere") == {}


def test_brief_listings_of_several_parks(store: Store) -> None:
    enterprises(store, "p1", "p2", "p3")
    send_all(store, fail={(code(1), "econ"), (code(0), "provincial")})
    full = store.outbox.deliveries(limit=100)

    brief = store.outbox.deliveries(park_ids=["p1", "p2"], brief=True)
    assert [d["id"] for d in brief] == [d["id"] for d in full if d["park_id"] in ("p1", "p2")]
    assert all(tuple(d) == LISTED for d in brief)  # no payload, receipt, lease or key
    assert [d["id"] for d in brief] == sorted((d["id"] for d in brief), reverse=True)
    one = next(d for d in full if d["id"] == brief[0]["id"])
    assert brief[0] == {c: one[c] for c in LISTED}

    dead = store.outbox.deliveries(DeliveryFilter(status=["dead"], park_ids=["p2", "p3"]))
    assert [(d["park_id"], d["platform"]) for d in dead] == [("p2", "econ")]
    [econ] = store.outbox.deliveries(park_ids=["p1"], platform="econ", brief=True)
    assert econ["status"] == "sent"
    # A user with no parks sees no deliveries, and a replay for no parks queues nothing.
    assert store.outbox.deliveries(park_ids=[], brief=True) == []
    assert store.outbox.replay(actor="t", where=DeliveryFilter(park_ids=[])) == 0
    assert store.outbox.replay(actor="t", where=DeliveryFilter(park_ids=["p2"])) == 1
    details = [jsonutil.loads(a["detail"]) for a in store.audit.log() if a["action"] == "replay"]
    assert [(d["parks"], d["count"]) for d in details] == [(["p2"], 1), ([], 0)]


def test_inbox_problems_of_some_sources_newest_first_without_bodies(store: Store) -> None:
    big = b"x" * 100_000
    with store.begin() as conn:
        refused, _ = store.inbox.add(
            conn, source="s1", stream="x", body=big, status=RawStatus.REJECTED, reason="forged",
            meta={"filename": "a.xlsx"},
        )  # fmt: skip
        partial, _ = store.inbox.add(conn, source="s2", stream="x", body=b"2")
        store.inbox.finish(conn, partial, records=1, errors=[InputError("s2", "r#1", "f", "bad")])
        parsed, _ = store.inbox.add(conn, source="s1", stream="x", body=b"3")
        store.inbox.finish(conn, parsed, records=1, errors=[])
        store.inbox.add(conn, source="s3", stream="x", body=b"4", status=RawStatus.REJECTED)

    rows = store.inbox.messages(sources=["s1", "s2"], newest_first=True, with_body=False)
    assert [(r["id"], r["status"]) for r in rows] == [(partial, "partial"), (refused, "rejected")]
    assert all("body" not in r for r in rows)
    assert rows[0]["reason"] and rows[1]["reason"] == "forged" and "a.xlsx" in rows[1]["meta"]
    assert rows[0]["received_at"] is not None
    [kept] = store.inbox.messages(ids=[refused])
    assert bytes(kept["body"]) == big  # with its body unless asked otherwise
    assert store.inbox.messages(sources=[], with_body=False) == []
