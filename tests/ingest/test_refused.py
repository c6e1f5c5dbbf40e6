"""What is kept of refused traffic (parkhub.ingest.refused): a bounded record each, so many per
source and client address, the rest counted; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from parkhub.canonical import jsonutil
from parkhub.config import parse_config
from parkhub.hub import Hub
from parkhub.ingest import PushRequest, Refusal
from parkhub.store import RawStatus


@pytest.fixture
def hub(db_url: str) -> Iterator[Hub]:
    config = parse_config(
        {
            "parks": [{"id": "p1", "name": "测试园区", "division_code": "330302"}],
            "sources": [
                {"name": "hj212-lc", "vendor": "hj212", "park": "p1", "config": {"port": 0}},
                {"name": "other", "vendor": "hj212", "park": "p1", "config": {"port": 0}},
            ],
            "limits": {"push": {"refused_per_address": 3, "refused_per_source": 5}},
        }
    )
    h = Hub.open(config, url=db_url)
    yield h
    h.close()


def _push(body: bytes, address: str) -> PushRequest:
    return PushRequest("POST", "/push/x", {}, {"content-type": "application/json"}, body, address)


def _kept(hub: Hub, source: str) -> list[dict[str, Any]]:
    return hub.store.inbox.messages(source=source, statuses=[RawStatus.REJECTED])


def test_per_address_and_per_source_allowances(hub: Hub) -> None:
    for address in ("192.0.2.1", "192.0.2.2", "192.0.2.3"):
        for i in range(4):
            hub.refuse_push(
                Refusal("hj212-lc", _push(f"{address}/{i}".encode(), address), "forged")
            )
    # 3 from each address, 5 from the source in all
    assert len(_kept(hub, "hj212-lc")) == 5
    assert hub.refused.kept["hj212-lc"] == 5 and hub.refused.dropped["hj212-lc"] == 7
    assert hub.refuse_push(Refusal("other", _push(b"x", "192.0.2.1"), "forged"))  # its own


def test_one_ipv6_network_is_one_address(hub: Hub) -> None:
    for i in range(6):
        hub.refuse_push(Refusal("hj212-lc", _push(b"%d" % i, f"2001:db8::{i + 1}"), "forged"))
    assert len(_kept(hub, "hj212-lc")) == 3


def test_unreadable_listener_frames_are_kept_whole_but_limited(hub: Hub) -> None:
    for i in range(6):
        result = hub.receive_raw(
            "hj212-lc",
            b"##garbage %d\r\n" % i,
            stream="frame",
            content_type="text/plain; charset=utf-8",
            rejected_reason="bad CRC",
            meta={"peer": "198.51.100.7:40001", "kind": "frame"},
        )
        assert result.status == RawStatus.REJECTED
    kept = _kept(hub, "hj212-lc")
    assert [r["body"] for r in kept] == [b"##garbage %d\r\n" % i for i in range(3)]
    assert {r["stream"] for r in kept} == {"frame"}
    assert jsonutil.loads(kept[0]["meta"]) == {"peer": "198.51.100.7:40001", "kind": "frame"}
    assert hub.refused.dropped["hj212-lc"] == 3
