"""Paging against the simulator: page number, cursor token, offset, next link and one request
each read every record once; the stop conditions hold; an API that pages wrong is stopped with
an error that says what to check, never looped on."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest

from parkhub.adapters.vendors.base import SourceContext
from parkhub.adapters.vendors.rest import RestAdapter, RestConfig
from parkhub.errors import PermanentSourceError
from parkhub.sandbox.smartpark_sim import SmartParkSim
from parkhub.testing import pull_all

from .conftest import Make, spec_of


def test_every_paging_style_reads_every_record_once(sim: SmartParkSim, make: Make) -> None:
    run = pull_all(make(), {})
    assert run.failure is None
    # page (12 enterprises, 5 a page), cursor (160 readings, 40), offset (6 alarms, 4),
    # next link (16 devices, 10 a page), one request (12 monthly figures)
    assert dict(run.pages) == {"enterprises": 3, "readings": 4, "alarms": 2, "devices": 2,
                               "monthly": 1}  # fmt: skip
    kinds = Counter(kind for kind, _ in run.records)
    assert kinds == {"enterprise": 12, "measurement": 159, "event": 6, "device": 16,
                     "enterprise_monthly": 12}  # fmt: skip
    assert [str(e) for e in run.errors] == [
        "[sp] readings#81 value: 应为数字 (must be a number, got '--')"  # one bad reading, alone
    ]
    paths = Counter(path for path, _ in sim.requests)
    assert paths["/openapi/v1/enterprises"] == 3  # stopped at total, no empty page asked for
    assert paths["/openapi/v1/alarms"] == 2
    assert paths["/openapi/v1/meter-readings"] == 4  # stopped when no cursor followed
    assert paths["/openapi/v1/devices"] == 2  # stopped when no link followed


def test_the_cursor_token_and_the_link_go_back_as_the_vendor_gave_them(
    sim: SmartParkSim, make: Make
) -> None:
    pull_all(make(), {})
    readings = [p for path, p in sim.requests if path.endswith("meter-readings")]
    assert readings[0] == {**readings[0], "sinceId": "0", "limit": "40"}
    assert "cursor" not in readings[0] and all("cursor" in p for p in readings[1:])
    devices = [p for path, p in sim.requests if path.endswith("devices")]
    assert {k: devices[1][k] for k in ("page", "size")} == {"page": "2", "size": "10"}


def test_without_total_the_list_ends_at_an_empty_page(sim: SmartParkSim, make: Make) -> None:
    spec = spec_of()
    spec["streams"]["alarms"]["paging"] = {"type": "offset", "limit": 4}
    run = pull_all(make(spec=spec), {})
    assert run.failure is None and run.pages["alarms"] == 2  # the empty third page is not kept
    assert sum(path.endswith("alarms") for path, _ in sim.requests) == 3


def _answers(pages: list[dict[str, Any]]) -> RestAdapter:
    """A REST adapter whose vendor answers `pages` in turn (an API paging wrong)."""
    answers = iter(pages)

    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=next(answers))

    spec = spec_of(auth=None)
    spec["streams"] = {"readings": spec["streams"]["readings"]}
    config = RestConfig.model_validate({"spec": spec, "base_url": "http://127.0.0.1:9"})
    http = httpx.Client(transport=httpx.MockTransport(handle))
    return RestAdapter(SourceContext("sp", "p1"), config, http=http)


def _reading(n: int) -> dict[str, Any]:
    return {"id": n, "meterNo": "M1", "type": "electric", "readTime": "2026-10-01 00:00:00",
            "value": 1.0, "unit": "kWh"}  # fmt: skip


def test_a_cursor_given_twice_stops_the_pull() -> None:
    page = {"code": 0, "data": {"list": [_reading(1)], "nextCursor": "abc"}}
    again = {"code": 0, "data": {"list": [_reading(2)], "nextCursor": "abc"}}
    run = pull_all(_answers([page, again]), {})
    assert isinstance(run.failure, PermanentSourceError)
    assert "gave the cursor 'abc' twice: is `token` right?" in str(run.failure)
    assert run.pages["readings"] == 2  # the pages before stay, with their cursor
    assert run.cursors["readings"] == "2"


def test_the_same_page_twice_stops_the_pull() -> None:
    same = {"code": 0, "data": {"list": [_reading(1)], "nextCursor": "abc"}}
    run = pull_all(_answers([same, same]), {})
    assert "the API gave the same page twice" in str(run.failure)


def test_records_that_are_no_list_name_the_records_path() -> None:
    run = pull_all(_answers([{"code": 0, "data": {"list": {"id": 1}}}]), {})
    assert "the records at data.list are no list: is `records` right?" in str(run.failure)


def test_max_pages_stops_a_list_that_never_ends(make: Make) -> None:
    spec = spec_of(max_pages=2)
    run = pull_all(make(spec=spec), {})
    assert "more than max_pages pages" in str(run.failure)
    assert run.pages["enterprises"] == 2


def test_a_next_link_to_another_host_is_not_followed() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        link = "http://elsewhere.example/openapi/v1/devices?page=2"
        return httpx.Response(200, json={"code": 0, "data": {"items": [
            {"code": "D1", "kind": "electric_meter"}], "next": link}})  # fmt: skip

    spec = spec_of(auth=None)
    spec["streams"] = {"devices": spec["streams"]["devices"]}
    config = RestConfig.model_validate({"spec": spec, "base_url": "http://127.0.0.1:9"})
    adapter = RestAdapter(
        SourceContext("sp", "p1"), config, http=httpx.Client(transport=httpx.MockTransport(handle))
    )
    run = pull_all(adapter, {})
    assert "the next link leaves 127.0.0.1:9 for elsewhere.example" in str(run.failure)
    assert run.pages["devices"] == 1


def test_the_link_header_pages_too(sim: SmartParkSim, make: Make) -> None:
    spec = spec_of()
    spec["streams"]["devices"]["paging"] = {"type": "link"}  # rel="next" in the Link header
    run = pull_all(make(spec=spec), {})
    assert run.failure is None and run.pages["devices"] == 2


@pytest.mark.parametrize("pager", [{"type": "page", "has_more": "data.more"}])
def test_has_more_false_ends_the_list(pager: dict[str, Any]) -> None:
    pages = [{"code": 0, "data": {"list": [_reading(1)], "more": False}}]
    spec = spec_of(auth=None)
    spec["streams"] = {"readings": {**spec["streams"]["readings"], "paging": pager}}
    config = RestConfig.model_validate({"spec": spec, "base_url": "http://127.0.0.1:9"})
    answers = iter(pages)
    http = httpx.Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json=next(answers)))
    )
    run = pull_all(RestAdapter(SourceContext("sp", "p1"), config, http=http), {})
    assert run.failure is None and run.pages["readings"] == 1
