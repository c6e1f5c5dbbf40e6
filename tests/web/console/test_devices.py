"""A park's data loggers on its dashboard: per device what was forgiven in reading its frames,
what was refused and why, its last heartbeat (reports/devices.py, `_devices.html`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from parkhub.adapters.vendors.hj212 import listener_meta
from parkhub.config import HubConfig
from parkhub.protocols.hj212 import (
    FrameError,
    ReceivedFrame,
    encode_frame,
    heartbeat_frame,
    parse_frame,
)
from tests.helpers import hj212_corpus
from tests.web.console import conftest
from tests.web.console.support import P1, ConsoleEnv, console_config

AT = dt.datetime(2026, 1, 5, 2, 0, tzinfo=dt.UTC)


def with_logger_source(provincial_url: str, db_url: str) -> HubConfig:
    data = console_config(provincial_url, db_url).model_dump(mode="json")
    data["sources"] = [{"name": "hj212-p1", "vendor": "hj212", "park": P1, "config": {"port": 0}}]
    return HubConfig.model_validate(data)


def keep(env: ConsoleEnv, raw: bytes) -> None:
    """What the listener hands over for a frame (read, or refused), kept by the hub."""
    try:
        received = ReceivedFrame(raw, ("10.0.0.9", 5000), AT, frame=parse_frame(raw, tolerant=True))
    except FrameError as exc:
        received = ReceivedFrame(raw, ("10.0.0.9", 5000), AT, error=exc)
    env.hub.receive_raw(
        "hj212-p1",
        raw,
        stream="frame",
        rejected_reason=str(received.error) if received.error else None,
        meta=listener_meta(received),
    )


def test_dashboard_shows_warnings_refusals_and_heartbeats_per_logger(
    make_env: Callable[[str], ConsoleEnv], sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(conftest, "console_config", with_logger_source)
    env = make_env(sqlite_url)
    corpus = {c.name: c.raw for c in hj212_corpus()}
    keep(env, corpus["2061_air_pw24_c181"])  # read, with a warning (PW of 24 characters)
    keep(env, corpus["2011_dust_st39_crc_no_algorithm_ea38"])  # refused: CRC
    keep(env, encode_frame(heartbeat_frame(st="22", mn="Z13401000010301", pw="123456")))
    html = env.web("alice").get("/console/parks/p1").text
    section = html.split('id="devices"')[1].split("</section>")[0]
    quirky = section.split('data-device="Z13401000010301"')[1].split("</tr>")[0]
    assert "PW has 24 characters" in quirky and "—" not in quirky  # a heartbeat came
    refused = section.split('data-device="ZYJCY2019012200000000001"')[1].split("</tr>")[0]
    assert "CRC mismatch" in refused
    data = env.web("alice").get("/api/parks/p1/dashboard").json()
    devices = {d["device"]: d for d in data["devices"]}
    assert devices["Z13401000010301"]["warned"] == 1 and devices["Z13401000010301"]["frames"] == 2
    assert devices["ZYJCY2019012200000000001"]["rejected"] == 1
    assert env.web("bob").get("/api/parks/p2/dashboard").json()["devices"] == []  # not p2's
