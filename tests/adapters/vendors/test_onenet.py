"""OneNET adapter: signatures, pushes (plain, cached, encrypted, Studio), device map, pulls."""

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

from parkhub.adapters.vendors.base import ParseResult, PushRequest, RawMessage, SourceContext
from parkhub.adapters.vendors.onenet import OneNetAdapter, OneNetConfig, api_token, push_signature
from parkhub.canonical import Event, EventKind, Measurement
from parkhub.canonical.timeutil import utcnow
from parkhub.errors import SourceError
from parkhub.protocols import onenet as onenet_protocol
from parkhub.protocols.onenet import raw_member
from parkhub.sandbox import onenet_sim
from parkhub.sandbox.data import credit_code
from parkhub.sandbox.onenet_sim import OneNetSim, PushSender

TOKEN = onenet_sim.DEMO_TOKEN
OLD_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")  # 43-char EncodingAESKey
STUDIO_KEY = "k3Y8sAmple16chr!"
FIXTURE_TIME = 1591340648197  # the `time` in the Studio fixtures
CREDIT = credit_code("330302", 1)
UTC = dt.UTC

DEVICE_MAP: dict[str, Any] = {
    "keys": {
        "datastream_id": {"metric": "electricity", "unit": "kWh", "scale": 0.01},
        "WF": {"metric": "temperature", "unit": "degC"},
        "3300_0_5700": {"metric": "sensor_value"},
        "identifier1": {"event": "fire_alarm", "title": "火警"},
        "Alarm_Status": {
            "event": "fire_alarm",
            "when": {2: {"severity": "critical", "title": "烟雾报警"}, 0: {"status": "closed"}},
        },
    },
    "devices": [
        {"vendor_ids": [2016617], "device_id": "meter-01", "credit_code": CREDIT},
        {"vendor_ids": ["861931046156398"], "device_id": "nb-01"},
        {"vendor_ids": ["iot-0001"], "device_id": "socket-01"},
        {"vendor_ids": "2016618", "device_id": "smoke-01"},
    ],
}


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONENET_TOKEN", TOKEN)
    monkeypatch.setenv("ONENET_OLD_KEY", OLD_KEY)
    monkeypatch.setenv("ONENET_STUDIO_KEY", STUDIO_KEY)
    monkeypatch.setenv("ONENET_API_KEY", "sandbox-api-key")
    monkeypatch.setenv("ONENET_ACCESS_KEY", onenet_sim.DEMO_ACCESS_KEY)
    monkeypatch.setenv("ONENET_WRONG_KEY", base64.b64encode(b"w" * 32).decode())


def make(
    clock_ms: int | None = FIXTURE_TIME + 2000, http: httpx.Client | None = None, **config: Any
) -> OneNetAdapter:
    settings: dict[str, Any] = {"token": "env:ONENET_TOKEN", "device_map": DEVICE_MAP, **config}
    clock = (lambda: dt.datetime.fromtimestamp(clock_ms / 1000, UTC)) if clock_ms else None
    extra = {"clock": clock} if clock else {}
    return OneNetAdapter(
        SourceContext("onenet-a", "park-1"),
        OneNetConfig.model_validate(settings),
        http=http,
        **extra,
    )


def post(body: bytes) -> PushRequest:
    return PushRequest("POST", "/push/onenet/onenet-a", {}, {}, body, "127.0.0.1")


def ingest(adapter: OneNetAdapter, body: bytes) -> ParseResult:
    verdict = adapter.verify_push(post(body))
    assert verdict.accept, verdict.reason
    live = adapter.parse_message(
        RawMessage("onenet-a", verdict.stream, body, decoded=verdict.decoded)
    )
    # a reparse from the inbox (no decoded body) makes exactly the same
    again = adapter.parse_message(RawMessage("onenet-a", verdict.stream, body))
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


# -- vectors ----------------------------------------------------------------------------------


def test_push_signature_vector() -> None:
    msg = '{"type":1,"dev_id":2016617,"ds_id":"datastream_id","at":1466133706841,"value":42}'
    assert (
        push_signature("abcdefghijkmlnopqrstuvwxyz", "abcdefgh", msg) == "FroU5qg+JQK2SGRPSC+T9A=="
    )


def test_api_token_vector() -> None:
    token = api_token("720e323b10d54d3a8cdbe5dd4e641052", "userid/511932", 1770000000, "sha1")
    assert token == (
        "version=2022-05-01&res=userid%2F511932&et=1770000000&method=sha1"
        "&sign=xRvkt1q2HU7quic8C8xb28%2BdrQ4%3D"
    )


def test_protocol_doctests() -> None:
    assert doctest.testmod(onenet_protocol).failed == 0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"msg":{"a":1},"nonce":"x"}', b'{"a":1}'),
        (b'{ "msg" :\n [ {"a":"}]"} , 2 ] }', b'[ {"a":"}]"} , 2 ]'),
        (b'{"nonce":"msg","x":{"msg":0},"msg":{"s":"\\"{"}}', b'{"s":"\\"{"}'),
        (b'{"msg":"text","n":1}', b'"text"'),
        (b'{"msg": 12.50 }', b"12.50"),
        (b'{"other":1}', None),
    ],
)
def test_raw_member_finds_the_top_level_value_as_written(body: bytes, expected: bytes) -> None:
    assert raw_member(body, "msg") == expected


# -- fixtures into canonical records ----------------------------------------------------------


def test_old_push_datapoint(fixture_bytes: Callable[[str, str], bytes]) -> None:
    result = ingest(make(), fixture_bytes("onenet", "old_push_datapoint.json"))
    assert not result.errors and not result.warnings
    [m] = result.records
    assert isinstance(m, Measurement)
    assert (m.device_id, m.metric, m.value, m.unit) == ("meter-01", "electricity", 0.42, "kWh")
    assert m.ts == dt.datetime(2016, 6, 17, 3, 21, 46, 841000, tzinfo=UTC)
    assert m.credit_code == CREDIT and m.park_id == "park-1"


def test_old_push_device_offline(fixture_bytes: Callable[[str, str], bytes]) -> None:
    result = ingest(make(), fixture_bytes("onenet", "old_push_device_offline.json"))
    [e] = result.records
    assert isinstance(e, Event)
    assert e.event_kind is EventKind.DEVICE_OFFLINE
    assert e.event_id == "onenet-a:meter-01:1466133706841:status"
    assert (e.severity, e.status, e.device_id) == ("warning", "open", "meter-01")
    assert e.ts == at(1466133706841) and e.extra is not None and e.extra["login_type"] == 1


def test_old_push_cached_array(fixture_bytes: Callable[[str, str], bytes]) -> None:
    result = ingest(make(), fixture_bytes("onenet", "old_push_cached_array.json"))
    assert [(m.ts, m.value) for m in result.records if isinstance(m, Measurement)] == [
        (dt.datetime(2016, 6, 17, 3, 21, 46, 841000, tzinfo=UTC), 0.42),
        (dt.datetime(2016, 6, 17, 3, 22, 46, 841000, tzinfo=UTC), 0.43),
    ]


def test_real_nb_push_parses_by_imei_but_its_foreign_signature_is_refused(
    fixture_bytes: Callable[[str, str], bytes],
) -> None:
    body = fixture_bytes("onenet", "old_push_nb_lwm2m.json")
    adapter = make()
    verdict = adapter.verify_push(post(body))
    assert (verdict.accept, verdict.status_code) == (False, 403)
    result = adapter.parse_message(RawMessage("onenet-a", "push", body))
    [m] = result.records
    assert isinstance(m, Measurement)
    assert (m.device_id, m.metric, m.value) == ("nb-01", "sensor_value", -115.0)
    assert m.ts == dt.datetime(2019, 4, 22, 3, 46, 45, 407000, tzinfo=UTC)
    # the same push signed with our token passes: its nonce has punctuation (C1z3?giR)
    msg = raw_member(body, "msg")
    assert msg is not None
    signed = body.replace(
        b"9XFwVl4VRJ2Lub2ryUJK8g==", push_signature(TOKEN, "C1z3?giR", msg).encode()
    )
    assert adapter.verify_push(post(signed)).accept


def test_studio_property_maps_known_and_keeps_unknown(
    fixture_bytes: Callable[[str, str], bytes],
) -> None:
    result = ingest(make(), fixture_bytes("onenet", "studio_push_property.json"))
    by_metric = {m.metric: m for m in result.records if isinstance(m, Measurement)}
    wf = by_metric["temperature"]
    assert (wf.device_id, wf.value, wf.unit) == ("socket-01", 23.6, "degC")
    assert wf.ts == dt.datetime(2018, 4, 23, 1, 58, 42, 123000, tzinfo=UTC)
    power = by_metric["onenet:Power"]
    assert power.value is None
    assert power.extra == {"unmapped": True, "vendor_key": "Power", "raw": "on"}
    [warning] = result.warnings
    assert (warning.source, warning.field) == ("onenet-a", "Power")
    assert "iot-0001" in warning.reason and "onenet:Power" in warning.reason


def test_studio_lifecycle(fixture_bytes: Callable[[str, str], bytes]) -> None:
    [e] = ingest(make(), fixture_bytes("onenet", "studio_push_lifecycle.json")).records
    assert isinstance(e, Event)
    assert (e.event_kind, e.severity, e.status) == (EventKind.DEVICE_ONLINE, "info", "closed")
    assert e.ts == at(1524448722123)


def test_studio_event(fixture_bytes: Callable[[str, str], bytes]) -> None:
    result = ingest(make(), fixture_bytes("onenet", "studio_push_event.json"))
    [event] = [r for r in result.records if isinstance(r, Event)]
    assert (event.event_kind, event.title) == (EventKind.FIRE_ALARM, "火警")
    assert event.event_id == "onenet-a:socket-01:1524448722123:identifier1"
    assert event.extra is not None and event.extra["value"] == {"Power": "on", "WF": "2"}
    [kept] = [r for r in result.records if isinstance(r, Measurement)]
    assert kept.metric == "onenet:identifier2"
    assert kept.extra is not None and kept.extra["raw"] == {"Power": "on", "WF": "2"}
    assert [w.field for w in result.warnings] == ["identifier2"]


def test_studio_lwm2m_property_found_by_imei_when_mapped(
    fixture_bytes: Callable[[str, str], bytes],
) -> None:
    devices = [{"vendor_ids": ["509830501643080"], "device_id": "nb-02"}]
    adapter = make(
        device_map={"keys": {"3_0_20": {"metric": "battery", "unit": "%"}}, "devices": devices}
    )
    [m] = ingest(adapter, fixture_bytes("onenet", "studio_push_lwm2m_property.json")).records
    assert isinstance(m, Measurement)
    assert (m.device_id, m.metric, m.value, m.ts) == ("nb-02", "battery", 4.0, at(1612768757420))


def test_smoke_alarm_status_maps_to_fire_alarm_events() -> None:
    adapter = make()
    for value, expected in ((2, ("critical", "open")), (0, ("warning", "closed"))):
        msg = (
            '{"type":1,"dev_id":2016618,"ds_id":"Alarm_Status","at":1700000000000,'
            f'"value":{value}}}'
        )
        [e] = ingest(adapter, onenet_sim.old_body(TOKEN, msg)).records
        assert isinstance(e, Event)
        assert e.event_kind is EventKind.FIRE_ALARM and (e.severity, e.status) == expected
    msg = '{"type":1,"dev_id":2016618,"ds_id":"Alarm_Status","at":1700000000000,"value":7}'
    result = ingest(adapter, onenet_sim.old_body(TOKEN, msg))
    [kept] = result.records
    assert isinstance(kept, Measurement) and kept.metric == "onenet:Alarm_Status"
    assert "`when`" in result.warnings[0].reason


def test_unknown_device_is_kept_with_a_warning() -> None:
    msg = '{"type":1,"dev_id":999,"ds_id":"datastream_id","at":1466133706841,"value":5}'
    result = ingest(make(), onenet_sim.old_body(TOKEN, msg))
    [m] = result.records
    assert isinstance(m, Measurement)
    assert (m.device_id, m.metric, m.value) == ("onenet-a:999", "electricity", 0.05)
    [w] = result.warnings
    assert w.source == "onenet-a" and "999" in w.reason and "device_map" in w.reason


def test_type7_is_kept_in_the_inbox_without_records() -> None:
    msg = '{"type":7,"dev_id":2016617,"imei":"861931046156398","at":1466133706841,"cmd_id":"c1"}'
    result = ingest(make(), onenet_sim.old_body(TOKEN, msg))
    assert (result.records, result.errors, result.warnings) == ([], [], [])


def test_same_push_twice_gives_equal_records(fixture_bytes: Callable[[str, str], bytes]) -> None:
    for name in ("old_push_device_offline.json", "studio_push_event.json"):
        body = fixture_bytes("onenet", name)
        first, second = ingest(make(), body), ingest(make(), body)
        assert first.records == second.records
        assert [r.key for r in first.records] == [r.key for r in second.records]


def test_signature_is_checked_on_the_raw_msg_text() -> None:
    # spacing and \\u escapes as a sender might write them; re-serialising would change them
    msg = (
        '{"type": 1, "dev_id": 2016617, "ds_id": "\\u6e29\\u5ea6", '
        '"at": 1466133706841, "value": 4.20}'
    )
    body = onenet_sim.old_body(TOKEN, msg)
    reserialised = orjson.dumps(orjson.loads(msg))
    assert push_signature(TOKEN, "abcdefgh", reserialised) != push_signature(TOKEN, "abcdefgh", msg)
    result = ingest(make(), body)
    [m] = result.records
    assert isinstance(m, Measurement) and m.metric == "onenet:温度" and m.value == 4.2


# -- refusals -----------------------------------------------------------------------------------


def _refused(adapter: OneNetAdapter, body: bytes) -> tuple[int, str]:
    verdict = adapter.verify_push(post(body))
    assert not verdict.accept
    assert "[onenet-a]" in verdict.reason
    assert TOKEN not in verdict.reason
    return verdict.status_code, verdict.reason


def test_forged_tampered_unsigned_and_malformed_pushes_are_refused(
    fixture_bytes: Callable[[str, str], bytes],
) -> None:
    adapter = make()
    good = fixture_bytes("onenet", "old_push_datapoint.json")
    status, reason = _refused(adapter, onenet_sim.old_body(TOKEN + "x", onenet_sim.OLD_DATAPOINT))
    assert status == 403 and "签名" in reason and "signature mismatch" in reason
    assert _refused(adapter, good.replace(b'"value":42', b'"value":43'))[0] == 403
    assert _refused(adapter, good.replace(b'"nonce":"abcdefgh"', b'"nonce":"abcdefgX"'))[0] == 403
    # a second "msg" appended to a genuine body: the parser would take it, unsigned
    evil = b',"msg":{"type":1,"dev_id":2016617,"ds_id":"datastream_id","at":1,"value":9999}}'
    assert _refused(adapter, good[:-1] + evil)[0] == 403
    status, reason = _refused(adapter, good.replace(b'"msg_signature"', b'"sig"'))
    assert status == 401 and "unsigned" in reason
    for garbage in (b"\x00\xffnot json{", b"[1,2]", b'{"nonce":"abcdefgh"}', b""):
        status, reason = _refused(adapter, garbage)
        assert status == 400, garbage
    studio = fixture_bytes("onenet", "studio_push_property.json")
    assert (
        _refused(adapter, studio.replace(b'"id":"3799902"', b'"id":"1"').replace(b"VHcA", b"VHcB"))[
            0
        ]
        == 403
    )


def test_stale_future_and_timeless_studio_pushes_are_refused(
    fixture_bytes: Callable[[str, str], bytes],
) -> None:
    body = fixture_bytes("onenet", "studio_push_property.json")
    status, reason = _refused(make(clock_ms=FIXTURE_TIME + 4 * 3600_000), body)
    assert status == 403 and "stale" in reason and "过期" in reason
    assert (
        make(clock_ms=FIXTURE_TIME + 4 * 3600_000, push_max_age_s=None)
        .verify_push(post(body))
        .accept
    )
    assert make(clock_ms=FIXTURE_TIME + 2 * 3600_000).verify_push(post(body)).accept
    status, reason = _refused(make(clock_ms=FIXTURE_TIME - 3600_000), body)
    assert status == 403 and "future" in reason
    timeless = onenet_sim.studio_body(TOKEN, onenet_sim.STUDIO_PROPERTY)
    doc = orjson.loads(timeless)
    del doc["time"]
    assert _refused(make(), orjson.dumps(doc))[0] == 400


def test_pushes_are_refused_without_a_configured_token(
    fixture_bytes: Callable[[str, str], bytes],
) -> None:
    adapter = make(token=None)
    status, reason = _refused(adapter, fixture_bytes("onenet", "old_push_datapoint.json"))
    assert status == 403 and "token" in reason
    verdict = adapter.verify_push(PushRequest("PUT", "/", {}, {}, b"", None))
    assert verdict.status_code == 405


def test_url_verification_echoes_msg() -> None:
    adapter = make()
    msg, nonce = "wVd+x/y=", "ab+c/d=e"
    sig = push_signature(TOKEN, nonce, msg)
    verdict = adapter.verify_push(
        PushRequest("GET", "/", {"msg": msg, "nonce": nonce, "signature": sig}, {}, b"")
    )
    assert (verdict.accept, verdict.store, verdict.response_body) == (True, False, msg.encode())
    # form decoding turns + into a space; the official SDK undoes that, and so do we
    spaced = {"msg": msg, "nonce": nonce, "signature": sig.replace("+", " ")}
    assert adapter.verify_push(PushRequest("GET", "/", spaced, {}, b"")).accept
    bad = {"msg": msg, "nonce": nonce, "signature": push_signature("other", nonce, msg)}
    verdict = adapter.verify_push(PushRequest("GET", "/", bad, {}, b""))
    assert (verdict.accept, verdict.status_code) == (False, 403)
    verdict = adapter.verify_push(PushRequest("GET", "/", {"msg": msg}, {}, b""))
    assert (verdict.accept, verdict.status_code) == (False, 400)


# -- encrypted variants -------------------------------------------------------------------------


def test_old_encrypted_push_round_trip() -> None:
    adapter = make(aes_key="env:ONENET_OLD_KEY")
    body = onenet_sim.old_encrypted_body(TOKEN, OLD_KEY, onenet_sim.OLD_DATAPOINT)
    [m] = ingest(adapter, body).records
    assert isinstance(m, Measurement) and (m.device_id, m.value) == ("meter-01", 0.42)
    # signed over enc_msg: changing the ciphertext breaks the signature
    doc = orjson.loads(body)
    doc["enc_msg"] = onenet_sim.encrypt_old(OLD_KEY, b'{"type":1}')
    assert _refused(adapter, orjson.dumps(doc))[0] == 403
    # a correctly signed ciphertext under another key cannot be decrypted
    other = base64.b64encode(b"z" * 32).decode().rstrip("=")
    status, reason = _refused(
        adapter, onenet_sim.old_encrypted_body(TOKEN, other, onenet_sim.OLD_DATAPOINT)
    )
    assert status == 400 and ("aes_key" in reason or "decrypt" in reason)
    assert OLD_KEY not in reason
    assert _refused(make(), body)[0] == 403  # no key configured


def test_studio_secure_mode_round_trip() -> None:
    adapter = make(aes_key="env:ONENET_STUDIO_KEY")
    body = onenet_sim.studio_body(
        TOKEN, onenet_sim.STUDIO_PROPERTY, time_ms=FIXTURE_TIME, aes_key=STUDIO_KEY
    )
    assert not orjson.loads(body)["msg"].startswith("{")
    result = ingest(adapter, body)
    assert {m.metric for m in result.records if isinstance(m, Measurement)} == {
        "temperature",
        "onenet:Power",
    }
    wrong = onenet_sim.studio_body(
        TOKEN, onenet_sim.STUDIO_PROPERTY, time_ms=FIXTURE_TIME, aes_key="0123456789abcdef"
    )
    assert _refused(adapter, wrong)[0] == 400


def test_parse_takes_the_push_as_verify_push_opened_it() -> None:
    """Decrypted once, by verify_push; any adapter instance (another worker) parses what it
    opened, and the adapter keeps nothing of it."""
    body = onenet_sim.studio_body(
        TOKEN, onenet_sim.STUDIO_PROPERTY, time_ms=FIXTURE_TIME, aes_key=STUDIO_KEY
    )
    adapter = make(aes_key="env:ONENET_STUDIO_KEY")
    state = dict(vars(adapter))
    verdict = adapter.verify_push(post(body))
    assert verdict.accept and vars(adapter) == state
    keyless = make()  # could not decrypt the body: it takes what was decoded
    opened = keyless.parse_message(RawMessage("onenet-a", "push", b"{}", decoded=verdict.decoded))
    assert summary(opened) == summary(ingest(adapter, body))


def test_config_rejects_bad_keys_and_missing_pull_credentials() -> None:
    with pytest.raises(ValidationError, match="aes_key"):
        OneNetConfig.model_validate({"aes_key": "env:ONENET_API_KEY"})
    with pytest.raises(ValidationError, match="env:NAME"):
        OneNetConfig.model_validate({"token": TOKEN})
    with pytest.raises(ValidationError, match="api_key"):
        OneNetConfig.model_validate({"datapoints": [{"device": "1", "keys": ["a"]}]})
    with pytest.raises(ValidationError, match="access_key, token_res, project_id, product_id"):
        OneNetConfig.model_validate({"property_history": [{"device": "1", "keys": ["a"]}]})
    duplicate = [{"vendor_ids": "1", "device_id": "a"}, {"vendor_ids": "1", "device_id": "b"}]
    with pytest.raises(ValidationError, match="vendor id"):
        OneNetConfig.model_validate({"device_map": {"devices": duplicate}})


# -- pushes over real HTTP ----------------------------------------------------------------------


def test_push_sender_over_loopback(
    receiver: Callable[[Any], tuple[Any, str]],
) -> None:
    adapter = make(clock_ms=None, aes_key="env:ONENET_OLD_KEY")
    rec, url = receiver(adapter)
    with PushSender(url, TOKEN, aes_key=OLD_KEY) as sender:
        check = sender.verify()
        assert (check.status_code, check.text) == (200, "sandbox+check/=")
        assert sender.old().status_code == 200
        assert sender.old_encrypted().status_code == 200
        assert sender.studio().status_code == 200
        first, second = sender.replay(onenet_sim.old_body(TOKEN, onenet_sim.OLD_OFFLINE))
        assert (first.status_code, second.status_code) == (200, 200)
        assert sender.forged().status_code == 403
        assert sender.tampered().status_code == 403
        assert sender.unsigned().status_code == 401
        assert sender.stale().status_code == 403
        assert sender.garbage().status_code == 400
    assert [len(r.records) for r in rec.results] == [1, 1, 2, 1, 1]
    assert rec.results[3].records == rec.results[4].records  # the replay: same records
    assert all(not r.errors for r in rec.results)


# -- pulls against the simulator ----------------------------------------------------------------


def _old_points(batches: list[Any]) -> list[tuple[str, str, int, float]]:
    out = []
    for batch in batches:
        page = orjson.loads(batch.message.body)
        for p in page["points"]:
            ms = int(dt.datetime.strptime(p["at"], "%Y-%m-%d %H:%M:%S.%f")
                     .replace(tzinfo=onenet_sim.BEIJING).timestamp() * 1000)  # fmt: skip
            out.append((page["device"], page["key"], ms, p["value"]))
    return out


def _studio_points(batches: list[Any]) -> list[tuple[str, str, int, float]]:
    out = []
    for batch in batches:
        page = orjson.loads(batch.message.body)
        out += [
            (page["device"], page["key"], int(p["time"]), float(p["value"])) for p in page["points"]
        ]
    return out


def test_pull_datapoints_pages_and_resumes_without_gaps_or_duplicates(
    serve: Callable[[Any], Any],
) -> None:
    sim = OneNetSim(points=40)
    url = serve(sim.app).url
    config: dict[str, Any] = {
        "api_base": url,
        "api_key": "env:ONENET_API_KEY",
        "datapoints": [{"device": "2016617", "keys": ["temperature", "power"]}],
        "page_size": 10,  # splits the first same-millisecond pair across two pages
        "pull_since": at(sim.start_ms),
    }
    with httpx.Client() as client:
        adapter = make(clock_ms=None, http=client, **config)
        adapter.check()
        with pytest.raises(SourceError, match="cursor"):
            list(adapter.pull("datapoints", "not json"))
        batches = list(adapter.pull("datapoints", None))
        points = _old_points(batches)
        assert len(points) == len(set(points)) == len(sim.expected_old()) == 88
        assert set(points) == sim.expected_old()
        result = adapter.parse_message(batches[0].message)
        assert not result.errors
        first = result.records[0]
        assert isinstance(first, Measurement)
        assert first.device_id == "meter-01" and first.ts == at(sim.start_ms)
        assert first.metric == "onenet:temperature"  # not in the map: kept, flagged
        # crash after any page: resume from its cursor, neither gaps nor duplicates
        for k in range(0, len(batches), 3):
            rest = list(adapter.pull("datapoints", batches[k].next_cursor))
            resumed = _old_points(batches[: k + 1]) + _old_points(rest)
            assert sorted(resumed) == sorted(points), k
        # nothing new: the final cursor yields nothing
        assert list(adapter.pull("datapoints", batches[-1].next_cursor)) == []


def test_pull_studio_history_pages_and_resumes(serve: Callable[[Any], Any]) -> None:
    sim = OneNetSim(points=30)
    url = serve(sim.app).url
    config: dict[str, Any] = {
        "studio_base": url,
        "access_key": "env:ONENET_ACCESS_KEY",
        "token_res": "userid/511932",
        "project_id": "990909090",
        "product_id": "00001",
        "property_history": [{"device": "iot-0001", "keys": ["WF"]}],
        "page_size": 7,
        "pull_since": at(sim.start_ms),
    }
    with httpx.Client() as client:
        adapter = make(clock_ms=None, http=client, **config)
        batches = list(adapter.pull("property_history", None))
        points = _studio_points(batches)
        expected = {p for p in sim.expected_studio() if p[1] == "WF"}
        assert len(points) == len(expected) == 33 and set(points) == expected
        [m, *_] = adapter.parse_message(batches[0].message).records
        assert isinstance(m, Measurement) and (m.metric, m.unit) == ("temperature", "degC")
        for k in (0, 2, len(batches) - 2):
            rest = _studio_points(list(adapter.pull("property_history", batches[k].next_cursor)))
            assert sorted(_studio_points(batches[: k + 1]) + rest) == sorted(points)
        assert all(
            r.startswith(f"{url}/application?action=QueryDevicePropertyHistory")
            for r in sim.requests
        )


def test_pull_auth_errors_are_source_errors(serve: Callable[[Any], Any]) -> None:
    sim = OneNetSim(points=5)
    url = serve(sim.app).url
    studio: dict[str, Any] = {
        "studio_base": url,
        "token_res": "userid/511932",
        "project_id": "990909090",
        "product_id": "00001",
        "property_history": [{"device": "iot-0001", "keys": ["WF"]}],
    }
    with httpx.Client() as client:
        wrong = make(clock_ms=None, http=client, access_key="env:ONENET_WRONG_KEY", **studio)
        with pytest.raises(SourceError, match="signature error") as info:
            list(wrong.pull("property_history", None))
        with pytest.raises(SourceError, match="signature error"):
            wrong.check()
        assert "onenet-a" in str(info.value) and "access_key" in str(info.value)
        two_hours_ago = int((utcnow().timestamp() - 7200) * 1000)
        expired = make(
            clock_ms=two_hours_ago, http=client, access_key="env:ONENET_ACCESS_KEY", **studio
        )
        with pytest.raises(SourceError, match="token expired"):
            list(expired.pull("property_history", None))
        old = make(
            clock_ms=None,
            http=client,
            api_base=url,
            api_key="env:ONENET_WRONG_KEY",
            datapoints=[{"device": "2016617", "keys": ["temperature"]}],
        )
        with pytest.raises(SourceError, match="auth failed"):
            list(old.pull("datapoints", None))
        sim.fail_next = 1
        old_ok = make(
            clock_ms=None,
            http=client,
            api_base=url,
            api_key="env:ONENET_API_KEY",
            datapoints=[{"device": "2016617", "keys": ["temperature"]}],
        )
        with pytest.raises(SourceError, match="HTTP 500"):
            list(old_ok.pull("datapoints", None))


@respx.mock
def test_pull_html_error_page_and_connection_failure_are_source_errors() -> None:
    respx.get("http://onenet.test/devices/1/datapoints").mock(
        return_value=httpx.Response(502, text="<html>Bad Gateway</html>")
    )
    respx.get("http://down.test/devices/1/datapoints").mock(
        side_effect=httpx.ConnectError("refused")
    )
    target = [{"device": "1", "keys": ["a"]}]
    with httpx.Client() as client:
        adapter = make(
            http=client,
            api_base="http://onenet.test",
            api_key="env:ONENET_API_KEY",
            datapoints=target,
        )
        with pytest.raises(SourceError, match="HTTP 502"):
            list(adapter.pull("datapoints", None))
        adapter = make(
            http=client,
            api_base="http://down.test",
            api_key="env:ONENET_API_KEY",
            datapoints=target,
        )
        with pytest.raises(SourceError, match="cannot reach"):
            list(adapter.pull("datapoints", None))
