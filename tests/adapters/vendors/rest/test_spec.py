"""A REST vendor spec is checked when it loads: every problem is named at its place in the file,
in words an integrator can act on, before anything is pulled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from parkhub.adapters.vendors.rest import RestConfig, RestSpec, load_spec, parse_spec
from parkhub.config import parse_config
from parkhub.errors import ConfigError

from .conftest import EXAMPLE, FULL, spec_of

ROOT = Path(__file__).resolve().parents[4]
PUBLISHED = ROOT / "parkhub" / "schemas" / "adapters" / "vendor.rest.spec.schema.json"


def _problem(data: Any) -> str:
    with pytest.raises(ValueError) as caught:
        parse_spec(data, origin="acme.vendor.yaml")
    return str(caught.value)


def _stream(**changes: Any) -> dict[str, Any]:
    stream = {
        "path": "/alarms",
        "kind": "event",
        "fields": {"event_id": "id", "event_kind": {"const": "alarm"}, "ts": "time"},
    }
    return {"name": "acme", "streams": {"alarms": {**stream, **changes}}}


def test_the_example_and_the_full_spec_load() -> None:
    assert load_spec(EXAMPLE).streams.keys() == {"enterprises", "readings", "alarms"}
    assert set(load_spec(FULL).streams) == {
        "enterprises",
        "readings",
        "alarms",
        "devices",
        "monthly",
    }


def test_a_field_the_kind_does_not_have_is_named_with_the_fields_it_has() -> None:
    text = _problem(_stream(fields={"event_id": "id", "event_kind": "k", "ts": "t", "when": "x"}))
    assert text.startswith("acme.vendor.yaml: streams.alarms")
    assert "fields.when: event has no such field" in text and "event_kind" in text


def test_a_missing_required_field_is_named() -> None:
    assert "fields: event needs ts" in _problem(
        _stream(fields={"event_id": "i", "event_kind": "k"})
    )


def test_a_bad_jmespath_is_refused_at_its_place() -> None:
    text = _problem({**_stream(), "records": "data.[list"})
    assert "records:" in text and "not a valid JMESPath" in text


def test_units_must_convert_to_the_canonical_unit() -> None:
    monthly = {
        "path": "/m",
        "kind": "enterprise_monthly",
        "fields": {"credit_code": "c", "period": "p", "revenue_yuan": {"path": "r", "unit": "kWh"}},
    }
    text = _problem({"name": "acme", "streams": {"monthly": monthly}})
    assert "fields.revenue_yuan: kWh cannot become yuan" in text
    monthly["fields"]["revenue_yuan"] = {"path": "r", "unit": "万元"}  # type: ignore[index]
    assert parse_spec({"name": "acme", "streams": {"monthly": monthly}})
    readings = {
        "path": "/r",
        "kind": "measurement",
        "fields": {
            "device_id": "d",
            "metric": "m",
            "ts": "t",
            "value": {"path": "v", "unit": "度电"},
        },
    }
    assert "unknown unit '度电'" in _problem({"name": "acme", "streams": {"readings": readings}})


def test_a_unit_on_a_field_that_is_no_quantity_is_refused() -> None:
    fields = {**_stream()["streams"]["alarms"]["fields"], "title": {"path": "t", "unit": "kWh"}}
    assert "units apply to value and *_yuan/_kwh/_m2/_tce fields" in _problem(
        _stream(fields=fields)
    )


def test_signatures_name_only_known_parts_and_plain_digests_hash_the_secret() -> None:
    text = _problem({**_stream(), "auth": {"type": "signed", "canonical": "{params}{salt}"}})
    assert "canonical: unknown ['salt']" in text and "{secret}" in text
    text = _problem({**_stream(), "auth": {"type": "signed", "digest": "md5"}})
    assert "a md5 signature must hash the secret: put {secret} in canonical" in text
    assert parse_spec({**_stream(), "auth": {"type": "signed", "digest": "md5",
                                             "canonical": "{secret}{params}{secret}"}})  # fmt: skip


def test_an_unknown_auth_or_paging_type_names_the_known_ones() -> None:
    text = _problem({**_stream(), "auth": {"type": "kerberos"}})
    assert "auth" in text and "'token', 'signed', 'oauth2'" in text
    text = _problem({**_stream(), "paging": {"type": "pages"}})
    assert "'page', 'offset', 'cursor', 'link', 'none'" in text


def test_times_and_zones_are_checked() -> None:
    fields = {**_stream()["streams"]["alarms"]["fields"], "ts": {"path": "t", "time": "YYYY"}}
    assert "time: iso, epoch_ms, epoch_s or a strptime format" in _problem(_stream(fields=fields))
    assert "unknown time zone 'Mars/Base'" in _problem({**_stream(), "timezone": "Mars/Base"})


def test_map_keys_read_as_numbers_or_booleans_by_yaml_are_text() -> None:
    spec = load_spec(EXAMPLE)
    severity = spec.streams["alarms"].field("severity")
    assert severity is not None and severity.map == {"1": "info", "2": "warning", "3": "critical"}


def test_a_missing_file_is_named_by_its_full_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"spec file not found: .*nowhere\.vendor\.yaml"):
        load_spec(tmp_path / "nowhere.vendor.yaml")


def test_a_source_with_a_broken_spec_is_a_config_error_naming_source_file_and_place(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "acme.vendor.yaml"
    broken.write_text("name: acme\nstreams:\n  alarms: {path: /a, kind: incident, fields: {}}\n")
    config = {
        "parks": [{"id": "p1", "name": "园区", "division_code": "330302"}],
        "sources": [{"name": "acme-lc", "vendor": "rest", "park": "p1",
                     "config": {"spec": str(broken), "base_url": "http://127.0.0.1:9"}}],
    }  # fmt: skip
    with pytest.raises(ConfigError) as caught:
        parse_config(config)
    text = str(caught.value)
    assert "source acme-lc (rest)" in text and str(broken) in text
    assert "streams.alarms.kind" in text and "'measurement', 'event'" in text


def test_the_source_gives_the_credentials_its_spec_needs() -> None:
    with pytest.raises(ValueError, match="authenticates by signed: give app_key, app_secret"):
        RestConfig.model_validate({"spec": str(EXAMPLE), "base_url": "http://127.0.0.1:9"})
    with pytest.raises(ValueError, match="has no base_url: give the source's base_url"):
        RestConfig.model_validate({"spec": spec_of(auth=None)})


def test_the_spec_schema_is_published_and_validates_the_example() -> None:
    """parkhub/schemas/adapters/vendor.rest.spec.schema.json is checked in (a drift test in
    tests/cli keeps it equal to the model): an editor validates a spec file with it."""
    schema = json.loads(PUBLISHED.read_text(encoding="utf-8"))
    assert schema == json.loads(json.dumps(RestSpec.model_json_schema()))
    jsonschema.validate(spec_of(EXAMPLE), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**spec_of(EXAMPLE), "paging": {"type": "pages"}}, schema)
