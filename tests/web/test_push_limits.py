"""Push receivers under attack, over real HTTP: bodies past the limit are refused before they are
read, refused pushes leave a bounded record (so many per source and address), and accepted
pushes are kept whole all the same."""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from parkhub.canonical import jsonutil
from parkhub.config import parse_config
from parkhub.hub import Hub
from parkhub.sandbox import ctwing_sim, onenet_sim
from parkhub.sandbox.server import ServerHandle, serve_in_thread
from parkhub.store import schema as t
from parkhub.web.app import create_app

CTWING_TOKEN = "ctwing-path-token-7d1e"
MB = 1024 * 1024


def _config(**limits: Any) -> dict[str, Any]:
    return {
        "parks": [{"id": "p1", "name": "测试园区", "division_code": "330302"}],
        "sources": [
            {
                "name": "onenet-lc",
                "vendor": "onenet",
                "park": "p1",
                "config": {
                    "token": "env:PARKHUB_TEST_ONENET_TOKEN",
                    "device_map": {"keys": {"datastream_id": {"metric": "temperature"}}},
                },
            },
            {
                "name": "ctwing-lc",
                "vendor": "ctwing",
                "park": "p1",
                "config": {"push_token": "env:PARKHUB_TEST_CTWING_TOKEN"},
            },
            {
                "name": "onenet-small",
                "vendor": "onenet",
                "park": "p1",
                "push_body_bytes": 4096,
                "config": {"token": "env:PARKHUB_TEST_ONENET_TOKEN"},
            },
        ],
        "limits": limits,
    }


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARKHUB_TEST_ONENET_TOKEN", onenet_sim.DEMO_TOKEN)
    monkeypatch.setenv("PARKHUB_TEST_CTWING_TOKEN", CTWING_TOKEN)


@pytest.fixture
def web(db_url: str, env: None) -> Iterator[tuple[Hub, ServerHandle]]:
    hub = Hub.open(parse_config(_config()), url=db_url)
    with serve_in_thread(create_app(hub)) as server:
        yield hub, server
    hub.close()


def _raw(hub: Hub) -> list[dict[str, Any]]:
    with hub.store.engine.connect() as conn:
        return [
            dict(r._mapping) for r in conn.execute(select(t.raw_inbox).order_by(t.raw_inbox.c.id))
        ]


def _forged(i: int, size: int) -> bytes:
    """A OneNET push signed with the wrong token, padded to about `size` bytes."""
    msg = onenet_sim.OLD_DATAPOINT.replace("42", f'42, "pad": "{i:06d}{"x" * size}"')
    return onenet_sim.old_body("not-the-token", msg, nonce=f"n{i:07d}")


def _metric(server: ServerHandle, line_start: str) -> float:
    text = httpx.get(f"{server.url}/metrics").text
    found = [ln for ln in text.splitlines() if ln.startswith(line_start)]
    return float(found[0].rsplit(" ", 1)[1]) if found else 0.0


def test_the_attack_that_grew_the_database_by_150_mb_now_grows_it_by_nothing(
    tmp_path: Path, env: None
) -> None:
    """The reproduction: ten forged 10 MB OneNET pushes and five tokenless 10 MB CTWing pushes
    (before the fix each got 403/401 and was stored whole: the database grew by 157 MB)."""
    db = tmp_path / "hub.db"
    hub = Hub.open(parse_config(_config()), url=f"sqlite:///{db}")
    before = db.stat().st_size
    with serve_in_thread(create_app(hub)) as server, httpx.Client(timeout=30) as client:
        codes = [
            client.post(
                f"{server.url}/push/onenet/onenet-lc", content=_forged(i, 10 * MB)
            ).status_code
            for i in range(10)
        ]
        codes += [
            client.post(
                f"{server.url}/push/ctwing/ctwing-lc", content=b'{"x":"' + b"B" * 10 * MB + b'"}'
            ).status_code
            for _ in range(5)
        ]
    hub.close()
    assert codes == [413] * 15
    assert db.stat().st_size - before < 256 * 1024


def test_a_body_past_the_limit_is_refused_before_it_is_sent_whole(
    web: tuple[Hub, ServerHandle],
) -> None:
    """The client declares 100 MB and sends 64 KB: the 413 comes back at once, nothing waits
    for (or stores) the rest."""
    hub, server = web
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(
            b"POST /push/onenet/onenet-lc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 104857600\r\n\r\n" + b"{" * 65536
        )
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413")
    [raw] = _raw(hub)
    refused = jsonutil.loads(raw["meta"])["refused"]
    assert raw["status"] == "rejected" and "104857600" in raw["reason"]
    assert raw["body"] == b"" and refused["size"] == 104857600


def test_a_chunked_body_past_the_limit_is_refused_with_a_prefix_kept(
    web: tuple[Hub, ServerHandle],
) -> None:
    hub, server = web

    def chunks() -> Iterator[bytes]:
        for _ in range(3 * 16):  # 3 MB in 64 KB chunks, no Content-Length
            yield b"A" * 65536

    r = httpx.post(f"{server.url}/push/onenet/onenet-lc", content=chunks(), timeout=10)
    assert r.status_code == 413 and "1048576" in r.json()["msg"]
    [raw] = _raw(hub)
    refused = jsonutil.loads(raw["meta"])["refused"]
    assert raw["body"] == b"A" * 1024 and refused["kept_bytes"] == 1024
    assert MB < refused["read_bytes"] <= MB + 65536


def test_each_source_has_its_own_limit(web: tuple[Hub, ServerHandle]) -> None:
    _, server = web
    body = onenet_sim.old_body(onenet_sim.DEMO_TOKEN, onenet_sim.OLD_DATAPOINT)
    padded = body[:-1] + b', "pad": "' + b"x" * 5000 + b'"}'
    assert httpx.post(f"{server.url}/push/onenet/onenet-small", content=padded).status_code == 413
    assert httpx.post(f"{server.url}/push/onenet/onenet-lc", content=padded).status_code == 200


def test_a_refused_push_is_kept_as_a_bounded_record(web: tuple[Hub, ServerHandle]) -> None:
    """A forged 500 KB push: 403, and the inbox keeps its hash, size, reason and first KB."""
    hub, server = web
    body = _forged(1, 500 * 1024)
    r = httpx.post(f"{server.url}/push/onenet/onenet-lc", content=body)
    assert r.status_code == 403
    [raw] = _raw(hub)
    refused = jsonutil.loads(raw["meta"])["refused"]
    assert raw["status"] == "rejected" and "签名" in raw["reason"]
    assert raw["body"] == body[:1024]
    assert refused == {
        "size": len(body),
        "kept_bytes": 1024,
        "sha256": hashlib.sha256(body).hexdigest(),
    }
    # the same forged push again is the same record
    assert httpx.post(f"{server.url}/push/onenet/onenet-lc", content=body).status_code == 403
    assert len(_raw(hub)) == 1


def test_refused_pushes_kept_per_address_are_limited_and_the_rest_counted(
    web: tuple[Hub, ServerHandle],
) -> None:
    hub, server = web
    with httpx.Client() as client:
        codes = {
            client.post(f"{server.url}/push/onenet/onenet-lc", content=_forged(i, 100)).status_code
            for i in range(25)
        }
        with ctwing_sim.PushSender(f"{server.url}/push/ctwing/ctwing-lc", CTWING_TOKEN) as sender:
            assert sender.unsigned().status_code == 401
    assert codes == {403}
    kept = [r for r in _raw(hub) if r["source"] == "onenet-lc"]
    assert len(kept) == 10  # limits.push.refused_per_address
    assert [r["source"] for r in _raw(hub)].count("ctwing-lc") == 1  # its own budget
    kept_metric = 'parkhub_refused_pushes_kept_total{source="onenet-lc"}'
    dropped_metric = 'parkhub_refused_pushes_dropped_total{source="onenet-lc"}'
    assert _metric(server, dropped_metric) == 15
    assert _metric(server, kept_metric) == 10


def test_accepted_pushes_are_never_lost_to_the_limits(web: tuple[Hub, ServerHandle]) -> None:
    """With the refused budget spent, genuine pushes (one of 900 KB, under the limit) are still
    stored whole and parsed."""
    hub, server = web
    url = f"{server.url}/push/onenet/onenet-lc"
    with httpx.Client() as client:
        for i in range(15):
            assert client.post(url, content=_forged(i, 100)).status_code == 403
        genuine = [
            onenet_sim.old_body(
                onenet_sim.DEMO_TOKEN,
                onenet_sim.OLD_DATAPOINT.replace("1466133706841", str(1466133706841 + i)),
                nonce=f"g{i:07d}",
            )
            for i in range(5)
        ]
        big = onenet_sim.OLD_DATAPOINT.replace("1466133706841", "1466133799999")
        big = big.replace("42", f'43, "pad": "{"x" * 900 * 1024}"')
        genuine.append(onenet_sim.old_body(onenet_sim.DEMO_TOKEN, big, nonce="big00000"))
        assert [client.post(url, content=b).status_code for b in genuine] == [200] * 6
    stored = [r for r in _raw(hub) if r["status"] != "rejected"]
    assert sorted(r["body"] for r in stored) == sorted(genuine)
    assert hub.store.records.counts()["measurement"] == 6


def test_a_body_that_trickles_in_too_slowly_gets_408(db_url: str, env: None) -> None:
    hub = Hub.open(parse_config(_config(body_seconds=0.5)), url=db_url)
    with (
        serve_in_thread(create_app(hub)) as server,
        socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock,
    ):
        sock.sendall(
            b"POST /push/onenet/onenet-lc HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"
        )
        answer = sock.recv(4096)  # nothing more is sent
    hub.close()
    assert answer.startswith(b"HTTP/1.1 408")


def test_the_console_and_api_take_no_body_past_the_upload_limit(
    web: tuple[Hub, ServerHandle],
) -> None:
    _, server = web
    for path in ("/api/parks/p1/entry", "/console/parks/p1/entry/upload"):
        r = httpx.post(
            f"{server.url}{path}",
            content=b"x" * (22 * MB),
            headers={"content-type": "multipart/form-data; boundary=b"},
        )
        assert r.status_code == 413, path
