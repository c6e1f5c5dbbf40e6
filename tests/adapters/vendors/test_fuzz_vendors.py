"""Fuzzing every vendor parser: Qisheng pages, OneNET and CTWing pages and push bodies (signed,
so the parser behind the signature is reached, and unsigned), HJ 212 frames. Whatever arrives,
a parser yields records and InputErrors, or raises an InputError; a push is accepted or refused
with a verdict; and every record it makes can be stored (its document serializes). Anything
else would be an adapter bug the operator sees as "unparseable: KeyError".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from parkhub.adapters.vendors.base import PushRequest, RawMessage, SourceContext, VendorAdapter
from parkhub.adapters.vendors.ctwing import CtwingAdapter, CtwingConfig
from parkhub.adapters.vendors.hj212 import Hj212Adapter, Hj212Config
from parkhub.adapters.vendors.onenet import OneNetAdapter, OneNetConfig
from parkhub.adapters.vendors.qisheng import QishengAdapter, QishengConfig
from parkhub.canonical import Record
from parkhub.errors import InputError
from parkhub.protocols.hj212 import Cp, Frame, FrameSplitter, crc16, encode_frame
from parkhub.sandbox import ctwing_sim, onenet_sim
from tests.fuzzing import FUZZ, bodies, broken, dumps, json_values
from tests.helpers import FIXTURES

pytestmark = pytest.mark.fuzz

TOKEN = onenet_sim.DEMO_TOKEN
CTWING_TOKEN = "fuzz-ctwing-token"
SENT_AT = 1591340648197
DEVICE_MAP: dict[str, Any] = {
    "keys": {
        "datastream_id": {"metric": "electricity", "unit": "kWh", "scale": 0.01},
        "WF": {"metric": "temperature", "unit": "degC"},
        "Alarm_Status": {
            "event": "fire_alarm",
            "when": {2: {"severity": "critical"}, 0: {"status": "closed"}},
        },
    },
    "devices": [
        {"vendor_ids": [2016617], "device_id": "meter-01"},
        {"vendor_ids": ["iot-0001"], "device_id": "socket-01"},
        {"vendor_ids": [ctwing_sim.SMOKE_DEVICE], "device_id": "smoke-01"},
    ],
}


def fixture(vendor: str, name: str) -> bytes:
    return (FIXTURES / vendor / name).read_bytes().strip()


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUZZ_ONENET_TOKEN", TOKEN)
    monkeypatch.setenv("FUZZ_CTWING_TOKEN", CTWING_TOKEN)
    monkeypatch.setenv("FUZZ_QISHENG_SECRET", "demo-secret")


def qisheng() -> QishengAdapter:
    config = {
        "base_url": "http://127.0.0.1:9",
        "app_id": "a",
        "app_secret": "env:FUZZ_QISHENG_SECRET",
    }
    return QishengAdapter(SourceContext("qs", "p1"), QishengConfig.model_validate(config))


def onenet() -> OneNetAdapter:
    settings = {"token": "env:FUZZ_ONENET_TOKEN", "device_map": DEVICE_MAP}
    config = OneNetConfig.model_validate(settings)
    clock = lambda: dt.datetime.fromtimestamp(SENT_AT / 1000, dt.UTC)  # noqa: E731
    return OneNetAdapter(SourceContext("on", "p1"), config, clock=clock)


def ctwing() -> CtwingAdapter:
    config = {"push_token": "env:FUZZ_CTWING_TOKEN", "device_map": DEVICE_MAP}
    return CtwingAdapter(SourceContext("ct", "p1"), CtwingConfig.model_validate(config))


def hj212() -> Hj212Adapter:
    config = Hj212Config.model_validate({"devices": {"M1": {"password": "123456"}}})
    return Hj212Adapter(SourceContext("hj", "p1"), config)


def parses_cleanly(adapter: VendorAdapter[Any], raw: RawMessage) -> None:
    """The property: records and InputErrors, or an InputError; every record storable."""
    try:
        for item in adapter.parse(raw):
            assert isinstance(item, Record | InputError), item
            if isinstance(item, Record):
                item.document_json()
                assert item.key
    except InputError:
        pass


# -- Qisheng: pulled pages ---------------------------------------------------------------------

QISHENG = {
    "enterprises": fixture("qisheng", "enterprises.roster_page.json"),
    "monthly": fixture("qisheng", "monthly.october_page.json"),
    "readings": fixture("qisheng", "readings.daily_electricity.json"),
    "alarms": fixture("qisheng", "alarms.smoke_and_fault.json"),
}


qisheng_pages = st.sampled_from(sorted(QISHENG)).flatmap(
    lambda s: st.tuples(st.just(s), bodies(QISHENG[s]))
)


@FUZZ
@given(qisheng_pages)
def test_qisheng_pages(page: tuple[str, bytes]) -> None:
    stream, body = page
    parses_cleanly(qisheng(), RawMessage("qs", stream, body))


# -- OneNET: signed pushes (old platform and Studio), unsigned bodies, pulled series ------------

OLD = [orjson.loads(fixture("onenet", n))["msg"] for n in (
    "old_push_datapoint.json", "old_push_device_offline.json", "old_push_cached_array.json",
    "old_push_nb_lwm2m.json",
)]  # fmt: skip
STUDIO = [orjson.loads(orjson.loads(fixture("onenet", n))["msg"]) for n in (
    "studio_push_property.json", "studio_push_event.json", "studio_push_lifecycle.json",
    "studio_push_lwm2m_property.json",
)]  # fmt: skip


def _signed(kind: str, msg: Any) -> bytes:
    text = dumps(msg).decode()
    if kind == "old":
        return onenet_sim.old_body(TOKEN, text)
    return onenet_sim.studio_body(TOKEN, text, time_ms=SENT_AT)


signed_onenet = st.sampled_from(["old", "studio"]).flatmap(
    lambda kind: (
        st.sampled_from(OLD if kind == "old" else STUDIO).flatmap(broken) | json_values
    ).map(lambda msg: _signed(kind, msg))
)


def _push(adapter: VendorAdapter[Any], body: bytes, query: dict[str, str] | None = None) -> None:
    """What the push receiver does: verify, then parse what was accepted (as received and
    as a reparse from the inbox would, without the decoded body)."""
    request = PushRequest("POST", "/push/x", query or {}, {}, body, "127.0.0.1")
    verdict = adapter.verify_push(request)
    if not (verdict.accept and verdict.store):
        assert verdict.status_code >= 400 or not verdict.store
        return
    name = adapter.source.name
    parses_cleanly(adapter, RawMessage(name, verdict.stream, body, decoded=verdict.decoded))
    parses_cleanly(adapter, RawMessage(name, verdict.stream, body))


@FUZZ
@given(signed_onenet | bodies(*(fixture("onenet", n) for n in ("old_push_datapoint.json",))))
def test_onenet_pushes(body: bytes) -> None:
    _push(onenet(), body)


series_page = st.builds(
    lambda device, points: {"api": "datapoints", "device": device, "key": "WF", "points": points},
    st.sampled_from(["2016617", "iot-0001", "unknown"]),
    st.lists(
        st.fixed_dictionaries({"at": json_values, "value": json_values})
        | st.fixed_dictionaries({"time": json_values, "value": json_values})
        | json_values,
        max_size=4,
    ),
)


@FUZZ
@given(st.sampled_from(["datapoints", "property_history"]), series_page.map(dumps))
def test_onenet_pulled_series(stream: str, body: bytes) -> None:
    parses_cleanly(onenet(), RawMessage("on", stream, body))


# -- CTWing: pushes (token in the query) and pulled device status pages -------------------------

CTWING = [fixture("ctwing", n) for n in (
    "ctwing_dataReport_smoke.json", "ctwing_deviceOnlineOfflineReport.json",
    "ctwing_eventReport_low_battery.json", "ctwing_dataReport_flat_payload.json",
    "ctwing_APPdata_passthrough.json", "ctwing_commandResponse.json",
)]  # fmt: skip


@FUZZ
@given(bodies(*CTWING))
def test_ctwing_pushes(body: bytes) -> None:
    _push(ctwing(), body, {"token": CTWING_TOKEN})


status_page = st.builds(
    lambda device, items: {"api": "device_status", "device": device, "items": items},
    st.sampled_from([ctwing_sim.SMOKE_DEVICE, "unknown"]),
    st.lists(
        st.fixed_dictionaries({"timestamp": json_values, "Alarm_Status": json_values})
        | json_values,
        max_size=4,
    ),
)


@FUZZ
@given(status_page.map(dumps) | json_values.map(dumps))
def test_ctwing_pulled_status(body: bytes) -> None:
    parses_cleanly(ctwing(), RawMessage("ct", "device_status", body))


# -- HJ 212: frames whose data segment says anything ---------------------------------------------

cp_text = st.text(st.characters(codec="ascii", exclude_characters="\r\n"), max_size=80)


@st.composite
def hj212_frames(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):  # a well-formed frame whose fields say anything
        fields = draw(
            st.dictionaries(
                st.sampled_from(["DataTime", "w01018-Rtd", "w01018-Flag", "a21026-Avg", "x-Avg"]),
                st.text(st.characters(codec="ascii", exclude_characters=";=&,\r\n"), max_size=20),
                max_size=5,
            )
        )
        frame = Frame(
            qn="20260101000000000",
            st=draw(st.sampled_from(["32", "22", "91"])),
            cn=draw(st.sampled_from(["2011", "2051", "2061", "2031", "9014"])),
            pw=draw(st.sampled_from(["123456", "bad"])),
            mn=draw(st.sampled_from(["M1", "M2"])),
            flag=4,
            cp=Cp.build(fields),
        )
        return encode_frame(frame)
    seg = b"QN=20260101000000000;ST=32;CN=2011;PW=123456;MN=M1;Flag=4;CP=&&"
    seg += draw(cp_text).encode() + b"&&"
    return b"##%04d%s%s\r\n" % (len(seg), seg, crc16(seg).encode())


@FUZZ
@given(
    hj212_frames() | st.binary(max_size=120),
    st.sampled_from(["frame", "packet", "reassembled"]),
)
def test_hj212_frames(body: bytes, stream: str) -> None:
    parses_cleanly(hj212(), RawMessage("hj", stream, body, content_type="text/plain"))


def test_the_fuzzers_reach_the_parsers() -> None:
    """The strategies make bodies the parsers take as well as ones they refuse."""
    made: list[Callable[[], Any]] = [qisheng, onenet, ctwing, hj212]
    assert all(m() is not None for m in made)
    raw = RawMessage("qs", "enterprises", QISHENG["enterprises"])
    assert qisheng().parse_message(raw).records


@FUZZ
@given(
    st.lists(hj212_frames() | st.binary(max_size=40), min_size=1, max_size=6),
    st.lists(st.integers(1, 64), min_size=1, max_size=8),
)
def test_hj212_streams(pieces: list[bytes], cuts: list[int]) -> None:
    """A TCP stream of frames and garbage, cut anywhere: the splitter hands out frames and the
    parser makes records or InputErrors of each."""
    stream, splitter, frames = b"".join(pieces), FrameSplitter(), []
    at = 0
    for n in cuts * (len(stream) // max(sum(cuts), 1) + 1):
        frames += splitter.feed(stream[at : at + n])
        at += n
    frames += splitter.feed(stream[at:]) + splitter.flush()
    adapter = hj212()
    for frame in frames:
        parses_cleanly(adapter, RawMessage("hj", "frame", frame, content_type="text/plain"))
