"""The source contract: what `parse` yields is sorted into records, errors and warnings; what
was yielded before a message fails stays."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

from parkhub.adapters.common import AdapterConfig
from parkhub.adapters.vendors.base import Parsed, RawMessage, SourceContext, VendorAdapter
from parkhub.adapters.vendors.devicemap import DeviceMap, DeviceMapper, MapSession
from parkhub.canonical import Enterprise, Measurement
from parkhub.errors import InputError, InputWarning

PILOT_CODE = "91350100M0001TGQXM"  # published, fails its check character: kept with a warning


class Script(VendorAdapter[AdapterConfig]):
    """Yields what the message body names, in order: a record, an error, a warning, a raise."""

    name: ClassVar[str] = "script"
    config_model: ClassVar[type[AdapterConfig]] = AdapterConfig

    def parse(self, raw: RawMessage) -> Iterator[Parsed]:
        for step in raw.body.decode().split(","):
            if step == "record":
                yield from self.build(
                    Measurement,
                    "row#1",
                    {"device_id": "d1", "metric": "electricity", "ts": "2026-01-01T00:00:00Z"},
                )
            elif step == "error":
                yield InputError(self.source.name, "row#2", "value", "bad")
            elif step == "warning":
                yield InputWarning(self.source.name, "row#3", None, "odd")
            elif step == "refuse":
                raise InputError(self.source.name, "page#raw", None, "unusable")
            elif step == "bug":
                raise KeyError("data")


def parse(body: str) -> Any:
    adapter = Script(SourceContext("script-a", "p1"), AdapterConfig())
    return adapter.parse_message(RawMessage("script-a", "page", body.encode()))


def test_yielded_items_are_sorted_by_what_they_are() -> None:
    result = parse("record,error,warning")
    assert [type(r) for r in result.records] == [Measurement]
    assert [(e.record, type(e)) for e in result.errors] == [("row#2", InputError)]
    assert [(w.record, type(w)) for w in result.warnings] == [("row#3", InputWarning)]


def test_what_was_yielded_before_the_message_failed_stays() -> None:
    refused = parse("record,warning,refuse,record")
    assert len(refused.records) == 1 and len(refused.warnings) == 1
    assert [str(e) for e in refused.errors] == ["[script-a] page#raw: unusable"]
    broken = parse("record,bug")
    assert len(broken.records) == 1
    assert [e.reason for e in broken.errors] == ["无法解析 (unparseable: KeyError: 'data')"]


def test_build_gives_the_record_and_its_warnings_or_the_error() -> None:
    adapter = Script(SourceContext("script-a", "p1"), AdapterConfig())
    record, warning = adapter.build(Enterprise, "ent#1", {"credit_code": PILOT_CODE, "name": "x"})
    assert isinstance(record, Enterprise) and record.park_id == "p1"
    assert isinstance(warning, InputWarning) and warning.record == "ent#1"
    [error] = adapter.build(
        Enterprise, lambda: "ent#2", {"credit_code": PILOT_CODE}, field_names={"name": "entName"}
    )
    assert type(error) is InputError and (error.record, error.field) == ("ent#2", "entName")


def test_a_device_map_session_gives_what_it_made_before_its_message_failed() -> None:
    adapter = Script(SourceContext("script-a", "p1"), AdapterConfig())
    mapper = DeviceMapper("script-a", "script", DeviceMap(), adapter.build)

    def work(session: MapSession) -> None:
        dev = session.device("msg#1", "dev-9")
        assert dev is not None
        session.value(dev, "power", 1.5, 1790000000000, "msg#1")
        raise ValueError("a shape never seen")

    made = []
    try:
        for item in mapper.map_message(work):
            made.append(item)
    except ValueError:
        pass
    else:
        raise AssertionError("the error must go on")
    warnings = [i for i in made if isinstance(i, InputWarning)]
    [m] = [i for i in made if isinstance(i, Measurement)]
    assert m.metric == "script:power" and len(warnings) == 2  # unknown device, unmapped key
