"""The canonical field reference (docs/canonical-fields.md), written from the models by `make
schemas`; a test fails when the file drifts from them."""

from __future__ import annotations

from typing import Any

from parkhub.canonical import RECORD_TYPES

KEYS = {
    "park": "park_id",
    "enterprise": "credit_code",
    "device": "device_id",
    "measurement": "ts | device_id | metric [| stat] | period",
    "event": "event_id",
    "enterprise_monthly": "credit_code | period",
    "enterprise_annual": "credit_code | year",
    "park_monthly": "park_id | period",
    "park_annual": "park_id | year",
    "environmental_data": "ts | device_id | period",
}
"""Each kind's natural key: the store keeps one record per (kind, key), a revision per change."""
UNITS = {"_yuan": "元 yuan", "_kwh": "kWh", "_m2": "m²", "_tce": "吨标准煤 tce"}
INTRO = """\
# Canonical fields

Every source maps into these records and every platform maps out of them (mapping specs select
with JMESPath over a record's document, which has these fields). Generated from
`parkhub/canonical/models.py` by `make schemas`; a test fails when this file drifts from the
models. The JSON Schemas are in `parkhub/schemas/canonical/`.

- Every record has `park_id` (the parkhub park, 1-64 characters), set from the source's park.
- Quantities are in base units, named by the field's ending: `_yuan` 元, `_kwh` kWh, `_m2` m²,
  `_tce` 吨标准煤 (a REST vendor's `unit:` is converted to these by pint).
- Times are ISO 8601 in UTC (`2026-10-01T00:00:00Z`); vendors' local times are converted
  on the way in. Periods are `YYYY-MM`.
- A field not given is left out of the document (`exclude_none`).
"""


def _type(prop: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in prop:
        target = defs.get(prop["$ref"].rsplit("/", 1)[-1], {})
        return " \\| ".join(f"`{v}`" for v in target.get("enum", [])) or "object"
    if "anyOf" in prop:
        kinds = [_type(p, defs) for p in prop["anyOf"] if p.get("type") != "null"]
        return " \\| ".join(kinds)
    if "enum" in prop:
        return " \\| ".join(f"`{v}`" for v in prop["enum"])
    if "const" in prop:
        return f"`{prop['const']}`"
    kind = str(prop.get("type", "any"))
    if kind == "string":
        return str(prop.get("format", "string")).replace("date-time", "datetime")
    return kind


LIMITS = (
    ("minLength", "length ≥"), ("maxLength", "length ≤"), ("minimum", "≥"), ("maximum", "≤"),
    ("pattern", "pattern"),
)  # fmt: skip


def _limits(prop: dict[str, Any]) -> str:
    for option in prop.get("anyOf", [prop]):
        parts = [f"{label} {option[key]}" for key, label in LIMITS if key in option]
        if parts:
            return ", ".join(parts)
    return ""


def _row(name: str, prop: dict[str, Any], required: bool, defs: dict[str, Any]) -> str:
    unit = next((u for suffix, u in UNITS.items() if name.endswith(suffix)), "")
    default = prop.get("default")
    cells = [
        f"`{name}`",
        _type(prop, defs),
        "yes" if required else f"no (`{default}`)" if default is not None else "no",
        unit,
        _limits(prop),
        prop.get("description", "").replace("|", "\\|"),
    ]
    return "| " + " | ".join(cells) + " |"


def canonical_fields_markdown() -> str:
    out = [INTRO]
    for kind, model in RECORD_TYPES.items():
        schema = model.model_json_schema()
        defs = schema.get("$defs", {})
        doc = (model.__doc__ or "").strip().split("\n\n")[0].replace("\n", " ")
        out.append(f"## `{kind}` ({model.__name__})\n")
        if doc:
            out.append(f"{doc}\n")
        out.append(f"Key: `{KEYS[kind]}`\n")
        out.append("| field | type | required | unit | limits | description |")
        out.append("|---|---|---|---|---|---|")
        required = set(schema.get("required", []))
        for name, prop in schema["properties"].items():
            out.append(_row(name, prop, name in required, defs))
        out.append("")
    return "\n".join(out)
