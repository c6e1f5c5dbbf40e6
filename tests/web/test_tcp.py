"""Listeners beside the web app: one for every enabled source whose adapter listens, plugins
included; a message is stored before its sender is answered."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from parkhub.config import parse_config
from parkhub.hub import Hub
from parkhub.store import schema as t
from parkhub.web.tcp import TcpListeners


@pytest.fixture
def listening(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Hub, dict[str, int]]]:
    monkeypatch.setenv("PARKHUB_TEST_SECRET", "not-a-real-secret")
    config = parse_config(
        {
            "parks": [{"id": "p1", "name": "测试园区", "division_code": "330302"}],
            "sources": [
                {  # a listening vendor from another package
                    "name": "lines-lc",
                    "vendor": "lines",  # the plugin package's entry point
                    "park": "p1",
                },
                {"name": "hj212-off", "vendor": "hj212", "park": "p1", "enabled": False},
                {
                    "name": "qisheng-lc",
                    "vendor": "qisheng",
                    "park": "p1",
                    "config": {
                        "base_url": "http://127.0.0.1:9",
                        "app_id": "a",
                        "app_secret": "env:PARKHUB_TEST_SECRET",
                    },
                },
            ],
        }
    )
    hub = Hub.open(config, url=db_url)
    tcp = TcpListeners(hub)
    try:
        yield hub, tcp.start()
    finally:
        tcp.stop()
        hub.close()


def test_a_listener_from_a_plugin_needs_no_change_to_parkhub(
    listening: tuple[Hub, dict[str, int]],
) -> None:
    hub, ports = listening
    assert list(ports) == ["lines-lc"]  # not the disabled one, not the one that pulls
    with socket.create_connection(("127.0.0.1", ports["lines-lc"]), timeout=5) as conn:
        conn.sendall(b"M1,1790000000000,3.5\n")
        answer = conn.makefile("rb").readline()
        # answered only once stored and parsed
        assert answer == b"OK\n"
        with hub.store.engine.connect() as db:
            [raw] = db.execute(select(t.raw_inbox)).mappings().all()
        [m] = hub.store.records.docs("measurement")
    assert (raw["stream"], raw["status"], raw["body"]) == (
        "line",
        "parsed",
        b"M1,1790000000000,3.5",
    )
    assert (m["device_id"], m["value"], m["unit"]) == ("lines:M1", 3.5, "kWh")
