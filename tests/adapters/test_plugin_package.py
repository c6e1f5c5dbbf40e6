"""A plugin package pip-installed as a third party's would be (tests/fixtures/plugin, installed by
`make test`): its push vendor, its listening vendor and its platform, with the platform's own
mapping spec and payload schema, work with no change to parkhub."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import distribution

import httpx
import pytest
from parkhub_example_plugin.server import CountyEnergySim
from typer.testing import CliRunner

from parkhub.cli import app as cli
from parkhub.config import parse_config
from parkhub.hub import Hub
from parkhub.sandbox.server import ServerHandle, serve_in_thread
from parkhub.web.app import create_app
from parkhub.web.tcp import TcpListeners

DIST = "parkhub-example-plugin"
KEY = "acme-shared-key"
TOKEN = "county-token"


def test_the_plugin_is_an_installed_distribution() -> None:
    """`make test` installs it; a missing plugin fails here, it is never skipped."""
    dist = distribution(DIST)
    declared = {(ep.group, ep.name) for ep in dist.entry_points}
    assert declared == {
        ("parkhub.vendors", "acme"),
        ("parkhub.vendors", "lines"),
        ("parkhub.platforms", "county_energy"),
        ("parkhub.mappings", "example"),
        ("parkhub.schemas", "example"),
    }


def test_parkhub_adapters_names_the_plugin_and_what_its_adapters_do() -> None:
    result = CliRunner().invoke(cli, ["adapters", "--json"])
    assert result.exit_code == 0, result.output
    found = {a["name"]: a for a in json.loads(result.output) if a["distribution"] == DIST}
    assert {n: (a["kind"], a["capabilities"], a["reports"]) for n, a in found.items()} == {
        "acme": ("vendor", ["push"], []),
        "lines": ("vendor", ["listen"], []),
        "county_energy": ("platform", [], ["readings"]),
    }
    assert {a["origin"] for a in found.values()} == {f"{DIST} 0.1.0"}


@dataclass
class Running:
    hub: Hub
    web: ServerHandle
    county: CountyEnergySim
    line_port: int


@pytest.fixture
def running(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Running]:
    monkeypatch.setenv("T_ACME_KEY", KEY)
    monkeypatch.setenv("T_COUNTY_TOKEN", TOKEN)
    county = CountyEnergySim(TOKEN)
    with serve_in_thread(county.app) as county_server:
        config = parse_config(
            {
                "parks": [{"id": "p1", "name": "插件园区", "division_code": "330302"}],
                "sources": [
                    {"name": "acme-lc", "vendor": "acme", "park": "p1",
                     "config": {"key": "env:T_ACME_KEY"}},
                    {"name": "lines-lc", "vendor": "lines", "park": "p1"},
                ],
                "platforms": [
                    {"name": "county", "type": "county_energy", "reports": ["readings"],
                     "config": {"base_url": county_server.url, "token": "env:T_COUNTY_TOKEN"}},
                ],
            }
        )  # fmt: skip
        hub = Hub.open(config, url=db_url)
        tcp = TcpListeners(hub)
        try:
            ports = tcp.start()
            with serve_in_thread(create_app(hub)) as web:
                yield Running(hub, web, county, ports["lines-lc"])
        finally:
            tcp.stop()
            hub.close()


def _push(running: Running, path: str, body: dict[str, object], key: str = KEY) -> httpx.Response:
    return httpx.put(f"{running.web.url}{path}", json=body, headers={"X-Acme-Key": key}, timeout=10)


def test_pushes_and_lines_reach_the_county_through_the_plugins_spec_and_schema(
    running: Running,
) -> None:
    two = {"readings": [{"meter": "M1", "ms": 1790000000000, "kwh": 12.5},
                        {"meter": "M2", "ms": 1790000000000, "kwh": 7.25}]}  # fmt: skip
    # the vendor's own URL and the generic one; only the method the adapter declares
    assert _push(running, "/push/acme/acme-lc", two).text == "accepted"
    one = {"readings": [{"meter": "M3", "ms": 1790000060000, "kwh": 3.0}]}
    assert _push(running, "/push/acme-lc", one).status_code == 200
    assert httpx.post(f"{running.web.url}/push/acme-lc", json=one, timeout=10).status_code == 405
    assert _push(running, "/push/acme-lc", one, key="forged").status_code == 403
    with socket.create_connection(("127.0.0.1", running.line_port), timeout=5) as conn:
        conn.sendall(b"L1,1790000120000,4.5\n")
        assert conn.makefile("rb").readline() == b"OK\n"  # after it was stored

    stats = running.hub.dispatch()
    assert (stats.sent, stats.failed, stats.dead) == (4, 0, 0)
    sent = {p["meter"]: p for p in running.county.accepted.values()}
    assert sorted(sent) == ["acme:M1", "acme:M2", "acme:M3", "lines:L1"]
    assert {p["kwh"] for p in sent.values()} == {12.5, 7.25, 3.0, 4.5}
    assert sent["lines:L1"]["readAt"] == 1790000120000 and sent["lines:L1"]["revision"] == 1
    rows = running.hub.store.outbox.deliveries(platform="county")
    assert {r["status"] for r in rows} == {"sent"}
    assert {r["receipt_id"] for r in rows} == {p["_id"] for p in sent.values()}
    assert running.hub.dispatch().claimed == 0  # delivered once
