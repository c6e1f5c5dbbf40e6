"""CTWing adapter: request signature, push token/IP checks, message types, APPdata, pulls."""

from __future__ import annotations

import base64
import datetime as dt
import doctest
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
import respx
from pydantic import ValidationError

from parkhub.adapters.vendors import ctwing
from parkhub.adapters.vendors.base import ParseResult, PushRequest, RawMessage, SourceContext
from parkhub.adapters.vendors.ctwing import (
    CtwingAdapter,
    CtwingConfig,
    json_appdata,
    register_appdata_codec,
    signature,
)
from parkhub.canonical import Event, EventKind, Measurement
from parkhub.errors import SourceError
from parkhub.protocols import ctwing as ctwing_protocol
from parkhub.sandbox import ctwing_sim
from parkhub.sandbox.ctwing_sim import CtwingSim, PushSender
from parkhub.sandbox.data import credit_code

PUSH_TOKEN = "s3cr3t-push-token-0001"
CREDIT = credit_code("330302", 2)
UTC = dt.UTC
SMOKE = ctwing_sim.SMOKE_DEVICE

DEVICE_MAP: dict[str, Any] = {
    "keys": {
        "Alarm_Status": {
            "event": "fire_alarm",
            "when": {
                2: {"severity": "critical", "title": "烟雾报警"},
                0: {"severity": "info", "status": "closed", "title": "报警解除"},
                1: None,
            },
        },
        "Battery_Level": {"metric": "battery", "unit": "%"},
        "TData": {"metric": "temperature", "unit": "degC"},
        "AlarmLevel": {"metric": "smoke_level", "unit": "%"},
        "IMEI": {"ignore": True},
        "Cell_ID": {"ignore": True},
        "Cell_ID_Length": {"ignore": True},
        "SNR": {"metric": "snr"},
        "RSRP": {"metric": "rsrp"},
        "CSQ": {"metric": "csq"},
    },
    "devices": [
        {
            "vendor_ids": [SMOKE, "860374051096202"],
            "device_id": "smoke-3F-01",
            "credit_code": CREDIT,
            "device_type": "smoke_detector",
        },
        {"vendor_ids": ["860803030676429"], "device_id": "wp-01"},
    ],
}


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CTWING_PUSH_TOKEN", PUSH_TOKEN)
    monkeypatch.setenv("CTWING_SECRET", ctwing_sim.DEMO_APP_SECRET)
    monkeypatch.setenv("CTWING_WRONG_SECRET", "not-the-secret")


def make(http: httpx.Client | None = None, **config: Any) -> CtwingAdapter:
    settings: dict[str, Any] = {
        "push_token": "env:CTWING_PUSH_TOKEN",
        "device_map": DEVICE_MAP,
        **config,
    }
    return CtwingAdapter(
        SourceContext("ctwing-a", "park-1"), CtwingConfig.model_validate(settings), http=http
    )


def post(body: bytes, token: str | None = PUSH_TOKEN, ip: str | None = "127.0.0.1") -> PushRequest:
    query = {"token": token} if token is not None else {}
    return PushRequest("POST", "/push/ctwing/ctwing-a", query, {}, body, ip)


def ingest(adapter: CtwingAdapter, body: bytes) -> ParseResult:
    verdict = adapter.verify_push(post(body))
    assert verdict.accept, verdict.reason
    live = adapter.parse_message(
        RawMessage("ctwing-a", verdict.stream, body, decoded=verdict.decoded)
    )
    # a reparse from the inbox (no decoded body) makes exactly the same
    again = adapter.parse_message(RawMessage("ctwing-a", verdict.stream, body))
    assert summary(again) == summary(live)
    return live


def summary(result: ParseResult) -> list[Any]:
    return [
        [r.document_json() for r in result.records],
        [e.as_dict() for e in result.errors],
        [w.as_dict() for w in result.warnings],
    ]


def at(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, UTC)


def smoke_with(payload: dict[str, Any], **fields: Any) -> bytes:
    doc = orjson.loads(ctwing_sim.DATA_REPORT_SMOKE)
    doc["payload"] = payload
    doc.update(fields)
    return orjson.dumps(doc)


# -- signature --------------------------------------------------------------------------------


def test_signature_vector_with_master_key() -> None:
    body = (
        '{"deviceName":"testDevice","deviceSn":"","imei":123456789012345,'
        '"operator":"admin","productId":"9392"}'
    )
    params = {"MasterKey": "25ce00cc28c1498c833276110ee483f0"}
    sig = signature("91Ebv1S0HBb", "FJDq8agNp5", 1600000000000, params, body)
    assert sig == "jvtpBUGU+nUOZ2bb5Xjq6Ld2S9k="
    assert signature("91Ebv1S0HBb", "FJDq8agNp5", "1600000000000", params, body.encode()) == sig
    assert signature("91Ebv1S0HBb", "FJDq8agNp5", 1600000000000, {}, body) != sig


def test_doctests() -> None:
    assert doctest.testmod(ctwing_protocol).failed == 0
    assert doctest.testmod(ctwing).failed == 0


# -- push verification --------------------------------------------------------------------------


def test_push_token_and_ip_allow_list(fixture_bytes: Callable[[str, str], bytes]) -> None:
    body = fixture_bytes("ctwing", "ctwing_dataReport_smoke.json")
    adapter = make()
    assert adapter.verify_push(post(body)).accept
    for request, status, words in (
        (post(body, token=None), 401, "?token="),
        (post(body, token=PUSH_TOKEN + "x"), 403, "does not match"),
        (post(body, token=""), 401, "?token="),
        (PushRequest("GET", "/", {"token": PUSH_TOKEN}, {}, b"", None), 405, "POST"),
        (post(b"\x00\xffgarbage"), 400, "not JSON"),
        (post(b'{"deviceId":"x"}'), 400, "messageType"),
        (post(b"[]"), 400, "messageType"),
    ):
        verdict = adapter.verify_push(request)
        assert (verdict.accept, verdict.status_code) == (False, status), request
        assert words in verdict.reason and "[ctwing-a]" in verdict.reason
        assert PUSH_TOKEN not in verdict.reason
    listed = make(allow_ips=["183.230.102.0/24", "10.1.2.3/32", "::1/128"])
    assert listed.verify_push(post(body, ip="183.230.102.84")).accept
    assert listed.verify_push(post(body, ip="::1")).accept
    for ip in ("183.230.103.1", None, "not-an-ip"):
        verdict = listed.verify_push(post(body, ip=ip))
        assert (verdict.accept, verdict.status_code) == (False, 403)
        assert "allow_ips" in verdict.reason
    unset = make(push_token=None).verify_push(post(body))
    assert (unset.accept, unset.status_code) == (False, 403)


# -- message types --------------------------------------------------------------------------------


def test_smoke_data_report(fixture_bytes: Callable[[str, str], bytes]) -> None:
    result = ingest(make(), fixture_bytes("ctwing", "ctwing_dataReport_smoke.json"))
    assert not result.errors and not result.warnings
    [event] = [r for r in result.records if isinstance(r, Event)]
    assert event.event_kind is EventKind.FIRE_ALARM
    assert (event.severity, event.status, event.title) == ("critical", "open", "烟雾报警")
    assert event.event_id == "ctwing-a:smoke-3F-01:1606982320277:Alarm_Status"
    assert event.ts == dt.datetime(2020, 12, 3, 7, 58, 40, 277000, tzinfo=UTC)
    assert (event.device_id, event.credit_code) == ("smoke-3F-01", CREDIT)
    values = {m.metric: (m.value, m.unit) for m in result.records if isinstance(m, Measurement)}
    assert values == {
        "temperature": (30.0, "degC"),
        "battery": (100.0, "%"),
        "smoke_level": (100.0, "%"),
        "snr": (1.0, None),
        "rsrp": (114.0, None),
        "csq": (5.0, None),
    }
    assert all(m.ts == event.ts for m in result.records if isinstance(m, Measurement))


def test_alarm_status_values() -> None:
    adapter = make()
    cleared = ingest(adapter, smoke_with({"serviceData": {"Alarm_Status": 0}}))
    [event] = cleared.records
    assert isinstance(event, Event) and (event.status, event.severity) == ("closed", "info")
    assert ingest(adapter, smoke_with({"serviceData": {"Alarm_Status": 1}})).records == []
    odd = ingest(adapter, smoke_with({"serviceData": {"Alarm_Status": "5"}}))
    [kept] = odd.records
    assert isinstance(kept, Measurement)
    # "5" as text, and no measurement says otherwise: kept as the text sent
    assert (kept.metric, kept.value) == ("ctwing:Alarm_Status", None)
    assert kept.extra is not None and kept.extra["raw"] == "5"
    [warning] = odd.warnings
    assert warning.field == "Alarm_Status" and "`when`" in warning.reason


def test_unknown_keys_and_devices_are_kept_with_warnings(
    fixture_bytes: Callable[[str, str], bytes],
) -> None:
    result = ingest(make(device_map={}), fixture_bytes("ctwing", "ctwing_dataReport_smoke.json"))
    metrics = {m.metric for m in result.records if isinstance(m, Measurement)}
    assert "ctwing:Alarm_Status" in metrics and len(metrics) == 10
    assert {m.device_id for m in result.records if isinstance(m, Measurement)} == {
        f"ctwing-a:{SMOKE}"
    }
    assert all(
        m.extra and m.extra["unmapped"] for m in result.records if isinstance(m, Measurement)
    )
    device_warning, *key_warnings = result.warnings
    assert SMOKE in device_warning.reason and device_warning.source == "ctwing-a"
    assert len(key_warnings) == 10 and {w.field for w in key_warnings} >= {"Alarm_Status"}


def test_app_data_passthrough_with_struct_codec_from_config(
    fixture_bytes: Callable[[str, str], bytes],
) -> None:
    body = fixture_bytes("ctwing", "ctwing_APPdata_passthrough.json")
    spec = {"codec": "struct", "format": ">BBH", "fields": ["head1", "head2", "frame_len"]}
    adapter = make(appdata={"10053421": spec})
    result = ingest(adapter, body)
    assert not result.errors
    values = {m.metric: m.value for m in result.records if isinstance(m, Measurement)}
    # the frame starts "PU" and a big-endian length of the 60 bytes after the header
    assert values == {"ctwing:head1": 0x50, "ctwing:head2": 0x55, "ctwing:frame_len": 60}
    assert {m.device_id for m in result.records} == {"wp-01"}  # found by IMEI
    assert all(m.ts == at(1589444235861) for m in result.records if isinstance(m, Measurement))


def test_app_data_without_codec_is_kept_raw(fixture_bytes: Callable[[str, str], bytes]) -> None:
    result = ingest(make(), fixture_bytes("ctwing", "ctwing_APPdata_passthrough.json"))
    [kept] = result.records
    assert isinstance(kept, Measurement) and kept.metric == "ctwing:APPdata"
    assert kept.extra is not None and kept.extra["raw"].startswith("UFUAPBAAAAYB")
    [warning] = result.warnings
    assert "10053421" in warning.reason and "codec" in warning.reason


def test_app_data_json_codec_from_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ctwing.appdata, "_CODECS", {})
    register_appdata_codec("15014772", json_appdata)
    encoded = base64.b64encode(b'{"Alarm_Status":2,"TData":31}').decode()
    result = ingest(make(), smoke_with({"APPdata": encoded}))
    kinds = {type(r).__name__: r for r in result.records}
    assert isinstance(kinds["Event"], Event) and kinds["Event"].event_kind is EventKind.FIRE_ALARM
    temp = kinds["Measurement"]
    assert isinstance(temp, Measurement) and (temp.metric, temp.value) == ("temperature", 31.0)
    broken = make().parse_message(
        RawMessage("ctwing-a", "push", smoke_with({"APPdata": "!!not base64!!"}))
    )
    assert broken.records == [] and broken.errors[0].field == "APPdata"
    hex_codec = ctwing.struct_appdata(">BB", ["Alarm_Status", "TData"], ascii_hex=True)
    register_appdata_codec("15014772", hex_codec)
    result = ingest(make(), smoke_with({"APPdata": base64.b64encode(b"021e").decode()}))
    assert {type(r).__name__ for r in result.records} == {"Event", "Measurement"}


def test_online_report(fixture_bytes: Callable[[str, str], bytes]) -> None:
    devices = [{"vendor_ids": ["44d0b9e48d404094bbbcf889e4e64ece"], "device_id": "wp-01"}]
    adapter = make(device_map={"devices": devices})
    [event] = ingest(
        adapter, fixture_bytes("ctwing", "ctwing_deviceOnlineOfflineReport.json")
    ).records
    assert isinstance(event, Event)
    assert (event.event_kind, event.severity) == (EventKind.DEVICE_ONLINE, "info")
    assert event.ts == at(1589444231825) and event.device_id == "wp-01"
    assert event.event_id == "ctwing-a:wp-01:1589444231825:status"


def test_event_report_with_int_service_id(fixture_bytes: Callable[[str, str], bytes]) -> None:
    body = fixture_bytes("ctwing", "ctwing_eventReport_low_battery.json")
    devices = [{"vendor_ids": ["161941770261953"], "device_id": "lock-01"}]
    result = ingest(make(device_map={"devices": devices}), body)
    [event] = result.records
    assert isinstance(event, Event)
    assert (event.event_kind, event.severity, event.title) == (EventKind.ALARM, "warning", "1002")
    assert event.event_id == "ctwing-a:lock-01:1619523767263:1002"
    assert event.extra is not None
    assert event.extra["content"] == {"battery_voltage": 1, "battery_state": 1}
    mapped = {"1002": {"event": "fault", "title": "低电量"}}
    [event] = ingest(make(device_map={"devices": devices, "keys": mapped}), body).records
    assert isinstance(event, Event)
    assert (event.event_kind, event.title) == (EventKind.FAULT, "低电量")
    for etype, kind in ((1, EventKind.INFO), (3, EventKind.FAULT)):
        doc = orjson.loads(body)
        doc["eventType"] = etype
        [event] = ingest(make(device_map={"devices": devices}), orjson.dumps(doc)).records
        assert isinstance(event, Event) and event.event_kind is kind


def test_command_response_is_kept_without_records(
    fixture_bytes: Callable[[str, str], bytes],
) -> None:
    result = ingest(make(), fixture_bytes("ctwing", "ctwing_commandResponse.json"))
    assert (result.records, result.errors, result.warnings) == ([], [], [])


def test_quirks_flat_payload_int_service_id_undefined_imsi(
    fixture_bytes: Callable[[str, str], bytes],
) -> None:
    body = fixture_bytes("ctwing", "ctwing_dataReport_flat_payload.json")
    keys = {"longitude": {"metric": "longitude"}, "latitude": {"metric": "latitude"}}
    devices = [{"vendor_ids": ["d01308047f864601a821e02dc328eab4"], "device_id": "lock-01"}]
    result = ingest(make(device_map={"keys": keys, "devices": devices}), body)
    values = {m.metric: m.value for m in result.records if isinstance(m, Measurement)}
    # `"time": 1619524019000` is when they were sampled, not a value `ctwing:time`
    assert values == {"longitude": -174.0, "latitude": -86.0}
    assert {m.ts for m in result.records} == {at(1619524019000)}
    # "undefined" IMSI and "" upPacketSN are not ids: an unmapped device is named by deviceId
    doc = orjson.loads(body)
    doc.update(deviceId="undefined", IMEI="undefined", upPacketSN="", serviceId="")
    result = ingest(make(), orjson.dumps(doc))
    assert result.records == [] and "no device id" in result.errors[0].reason


def test_unknown_message_type_warns(fixture_bytes: Callable[[str, str], bytes]) -> None:
    doc = orjson.loads(fixture_bytes("ctwing", "ctwing_commandResponse.json"))
    doc["messageType"] = "deviceDeletedReport"
    result = ingest(make(), orjson.dumps(doc))
    assert result.records == [] and "deviceDeletedReport" in result.warnings[0].reason


def test_same_push_twice_gives_equal_records(fixture_bytes: Callable[[str, str], bytes]) -> None:
    body = fixture_bytes("ctwing", "ctwing_dataReport_smoke.json")
    first, second = ingest(make(), body), ingest(make(), body)
    assert first.records == second.records and len(first.records) == 7


def test_parse_takes_the_push_as_verify_push_parsed_it(
    fixture_bytes: Callable[[str, str], bytes],
) -> None:
    body = fixture_bytes("ctwing", "ctwing_dataReport_smoke.json")
    adapter = make()
    state = dict(vars(adapter))
    verdict = adapter.verify_push(post(body))
    assert verdict.accept and vars(adapter) == state  # nothing of the push is kept
    parsed = make().parse_message(RawMessage("ctwing-a", "push", b"", decoded=verdict.decoded))
    assert summary(parsed) == summary(ingest(adapter, body))


def test_config_validation() -> None:
    with pytest.raises(ValidationError, match="app_key, app_secret, product_id"):
        CtwingConfig.model_validate({"devices": [{"device_id": "x"}]})
    with pytest.raises(ValidationError, match="struct"):
        CtwingConfig.model_validate({"appdata": {"1": {"codec": "struct", "format": ">B"}}})
    with pytest.raises(ValidationError, match="struct format"):
        CtwingConfig.model_validate(
            {"appdata": {"1": {"codec": "struct", "format": ">B", "fields": ["a", "b"]}}}
        )
    with pytest.raises(ValidationError):
        CtwingConfig.model_validate({"allow_ips": ["not-a-network"]})
    with pytest.raises(ValidationError, match="env:NAME"):
        CtwingConfig.model_validate({"push_token": PUSH_TOKEN})


# -- over real HTTP -------------------------------------------------------------------------------


def test_push_sender_over_loopback(receiver: Callable[[Any], tuple[Any, str]]) -> None:
    rec, url = receiver(make(allow_ips=["127.0.0.0/8"]))
    with PushSender(url, PUSH_TOKEN) as sender:
        first, second = sender.replay()
        assert (first.status_code, second.status_code) == (200, 200)
        assert sender.forged().status_code == 403
        assert sender.unsigned().status_code == 401
        assert sender.garbage().status_code == 400
    assert len(rec.results) == 2 and rec.results[0].records == rec.results[1].records
    with pytest.raises(ValueError, match="loopback"):
        PushSender("http://192.0.2.1/push", PUSH_TOKEN)


def _pulled(batches: list[Any]) -> list[tuple[str, int, int]]:
    out = []
    for batch in batches:
        page = orjson.loads(batch.message.body)
        out += [(page["device"], item["timestamp"], item["TData"]) for item in page["items"]]
    return out


def test_pull_history_pages_back_and_resumes(serve: Callable[[Any], Any]) -> None:
    other = "f" * 32
    sim = CtwingSim(
        points=30,
        devices={ctwing_sim.SMOKE_PRODUCT: [SMOKE, other]},
        clock_offset_ms=2 * 3600_000,  # the gateway's clock is 2 h ahead of ours
        max_skew_ms=60_000,
    )
    url = serve(sim.app).url
    config: dict[str, Any] = {
        "api_base": url,
        "app_key": ctwing_sim.DEMO_APP_KEY,
        "app_secret": "env:CTWING_SECRET",
        "product_id": ctwing_sim.SMOKE_PRODUCT,
        "devices": [{"device_id": SMOKE}, {"device_id": other}],
        "page_size": 10,  # the first page ends inside a same-millisecond pair
        "pull_since": at(sim.start_ms),
    }
    with httpx.Client() as client:
        adapter = make(http=client, **config)
        adapter.check()
        with pytest.raises(SourceError, match="cursor"):
            list(adapter.pull("device_status", '{"x": 1}'))
        batches = list(adapter.pull("device_status", None))
        items = _pulled(batches)
        assert len(items) == len(set(items)) == 66 and set(items) == sim.expected()
        result = adapter.parse_message(batches[0].message)
        assert not result.errors
        assert {m.metric for m in result.records if isinstance(m, Measurement)} == {
            "temperature",
            "battery",
        }
        headers = sim.requests[0]["headers"]
        assert headers["version"] == "20190928013337" and headers["application"] == "91Ebv1S0HBb"
        for k in range(len(batches)):
            rest = _pulled(list(adapter.pull("device_status", batches[k].next_cursor)))
            assert sorted(_pulled(batches[: k + 1]) + rest) == sorted(items), k
        assert list(adapter.pull("device_status", batches[-1].next_cursor)) == []


def test_pull_signature_and_server_errors_are_source_errors(serve: Callable[[Any], Any]) -> None:
    sim = CtwingSim(points=3)
    url = serve(sim.app).url
    config: dict[str, Any] = {
        "api_base": url,
        "app_key": ctwing_sim.DEMO_APP_KEY,
        "product_id": ctwing_sim.SMOKE_PRODUCT,
        "devices": [{"device_id": SMOKE}],
    }
    with httpx.Client() as client:
        wrong = make(http=client, app_secret="env:CTWING_WRONG_SECRET", **config)
        with pytest.raises(SourceError, match="signature verification failed") as info:
            list(wrong.pull("device_status", None))
        assert "app_secret" in str(info.value) and "not-the-secret" not in str(info.value)
        with pytest.raises(SourceError, match="signature verification failed"):
            wrong.check()
        sim.fail_next = 1
        right = make(http=client, app_secret="env:CTWING_SECRET", **config)
        with pytest.raises(SourceError, match="HTTP 500"):
            list(right.pull("device_status", None))
        assert len(list(right.pull("device_status", None))) == 1


@respx.mock
def test_echo_without_server_time_is_a_source_error() -> None:
    respx.get("http://ctwing.test/echo").mock(return_value=httpx.Response(200))
    with httpx.Client() as client:
        adapter = make(
            http=client,
            api_base="http://ctwing.test",
            app_key="k",
            app_secret="env:CTWING_SECRET",
            product_id="1",
            devices=[{"device_id": "d"}],
        )
        with pytest.raises(SourceError, match="x-ag-timestamp"):
            list(adapter.pull("device_status", None))


def test_sample_time_in_service_data_in_seconds_and_when_the_map_says_otherwise() -> None:
    keys = {"temp": {"metric": "temperature", "unit": "degC"}}
    devices = [{"vendor_ids": [SMOKE], "device_id": "t-01"}]
    adapter = make(device_map={"keys": keys, "devices": devices})
    payload = {"serviceData": {"temp": 21.5, "time": 1700000000}}  # seconds
    [reading] = ingest(adapter, smoke_with(payload)).records
    assert isinstance(reading, Measurement) and reading.ts == at(1700000000000)
    # a device map that names `time` a metric keeps it a value, at the push's timestamp
    mapped = make(device_map={"keys": {**keys, "time": {"metric": "uptime"}}, "devices": devices})
    records = ingest(mapped, smoke_with(payload, timestamp=1606982320277)).records
    assert {(m.metric, m.ts) for m in records if isinstance(m, Measurement)} == {
        ("temperature", at(1606982320277)),
        ("uptime", at(1606982320277)),
    }
    # not a time at all: an ordinary value
    odd = ingest(adapter, smoke_with({"serviceData": {"temp": 20.0, "time": "noon"}}))
    assert {m.metric for m in odd.records if isinstance(m, Measurement)} == {
        "temperature",
        "ctwing:time",
    }


def test_identifiers_that_look_like_numbers_stay_text() -> None:
    """`"860870050503148"` was stored as 860870050503148.0: text that no key map declares a
    measurement stays the text sent; a key map can declare a value's type."""
    devices = [{"vendor_ids": [SMOKE], "device_id": "t-01"}]
    payload = {"IMEI": "860870050503148", "SN": "0012345678", "signal": 23, "temp": "21.5"}
    keys = {"temp": {"metric": "temperature"}}
    records = ingest(make(device_map={"keys": keys, "devices": devices}), smoke_with(payload))
    by_metric = {m.metric: m for m in records.records if isinstance(m, Measurement)}
    imei, sn = by_metric["ctwing:IMEI"], by_metric["ctwing:SN"]
    assert imei.value is None and imei.extra is not None and imei.extra["raw"] == "860870050503148"
    assert sn.value is None and sn.extra is not None and sn.extra["raw"] == "0012345678"
    assert by_metric["ctwing:signal"].value == 23.0  # a number sent as a number
    assert by_metric["temperature"].value == 21.5  # declared a measurement: "21.5" is 21.5
    # a key map can say a mapped value is text (an identifier kept as a device property)
    keys = {"IMEI": {"metric": "imei", "value_type": "text"}, "SN": {"metric": "serial"}}
    typed = ingest(make(device_map={"keys": keys, "devices": devices}), smoke_with(payload))
    by_metric = {m.metric: m for m in typed.records if isinstance(m, Measurement)}
    assert by_metric["imei"].value is None
    assert by_metric["imei"].extra == {"raw": "860870050503148"}
    assert by_metric["serial"].value == 12345678.0  # declared a number: converted
