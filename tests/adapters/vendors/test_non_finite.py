"""Numbers no quantity can be: infinity, NaN and "1e400" are refused where vendor data is parsed
(the device map of OneNET and CTWing, HJ 212 frames), each with an error naming the vendor's
field, and never stored as "no value"."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from parkhub.adapters.vendors.base import PushRequest, RawMessage, SourceContext
from parkhub.adapters.vendors.hj212 import Hj212Adapter, Hj212Config
from parkhub.adapters.vendors.onenet import OneNetAdapter, OneNetConfig
from parkhub.canonical import Measurement
from parkhub.protocols.hj212 import data_frame, encode_frame
from parkhub.sandbox import onenet_sim

NON_FINITE = ["1e400", "-1e400", "inf", "-Infinity", "nan"]
MN = "JLYP01_AIR01_0001"


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONENET_TOKEN", onenet_sim.DEMO_TOKEN)


def _onenet(**key: Any) -> OneNetAdapter:
    device_map = {"keys": {"datastream_id": {"metric": "electricity", "unit": "kWh", **key}}}
    config = OneNetConfig.model_validate({"token": "env:ONENET_TOKEN", "device_map": device_map})
    return OneNetAdapter(SourceContext("onenet-a", "park-1"), config)


def _onenet_push(adapter: OneNetAdapter, value: str) -> Any:
    msg = onenet_sim.OLD_DATAPOINT.replace('"value":42', f'"value":"{value}"')
    body = onenet_sim.old_body(onenet_sim.DEMO_TOKEN, msg)
    verdict = adapter.verify_push(PushRequest("POST", "/push", {}, {}, body, "127.0.0.1"))
    assert verdict.accept, verdict.reason
    return adapter.parse_message(
        RawMessage("onenet-a", verdict.stream, body, decoded=verdict.decoded)
    )


@pytest.mark.parametrize("value", NON_FINITE)
def test_a_device_value_that_is_no_number_is_an_error_naming_the_key(value: str) -> None:
    result = _onenet_push(_onenet(), value)
    assert result.records == []
    [err] = result.errors
    assert err.field == "datastream_id" and "not a number" in err.reason


def test_a_value_that_scaling_takes_past_a_float_is_an_error() -> None:
    result = _onenet_push(_onenet(scale=1e300), "1e300")
    assert result.records == []
    [err] = result.errors
    assert err.field == "datastream_id" and "out of range" in err.reason


@pytest.mark.parametrize("value", NON_FINITE)
def test_hj212_values_that_are_no_number_are_errors_naming_the_factor(value: str) -> None:
    adapter = Hj212Adapter(
        SourceContext("hj212-lc", "park-1"), Hj212Config.model_validate({"port": 0})
    )
    frame = data_frame(
        "2011",
        st="22",
        mn=MN,
        pw="123456",
        data_time=dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC),
        factors={"a21026": {"Rtd": value, "Flag": "N"}, "a21004": {"Rtd": "12.5", "Flag": "N"}},
    )
    result = adapter.parse_message(RawMessage("hj212-lc", "2011", encode_frame(frame)))
    values = {r.metric: r.value for r in result.records if isinstance(r, Measurement)}
    assert list(values.values()) == [12.5]  # the good factor stands alone
    [err] = result.errors
    assert err.field == "a21026-Rtd" and "not a finite number" in err.reason
