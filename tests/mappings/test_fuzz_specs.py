"""Fuzzing mapping specs: the built-in specs with parts broken (a path, a transform, its
argument, a field), and YAML text that says anything, compiled as a plugin's spec would be; then
each compiled spec applied to documents that say anything.

A broken spec is a ConfigError naming it (at `parkhub check`, not at the first delivery); a
document the spec cannot map is a MappingError naming the field (the delivery fails alone).
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from parkhub.errors import ConfigError, MappingError
from parkhub.mappings import TRANSFORMS, CompiledMapping, compile_spec
from parkhub.mappings.engine import SPECS
from tests.fuzzing import FUZZ, broken, json_values, plain

pytestmark = pytest.mark.fuzz

BUILT_IN = {f.name: yaml.safe_load(f.read_text(encoding="utf-8")) for f in SPECS.iterdir()
            if f.name.endswith(".yaml")}  # fmt: skip

transform = st.sampled_from(sorted(TRANSFORMS)).flatmap(
    lambda name: st.just(name) | json_values.map(lambda arg: {name: arg})
)
field = st.fixed_dictionaries(
    {},
    optional={
        "path": st.sampled_from(["period", "a.b", "x[0]", "abs(x)", "[", "`1`", "length(@)"])
        | st.text(max_size=10),
        "const": json_values,
        "transforms": st.lists(transform | json_values, max_size=3),
        "required": st.booleans(),
    },
)
specs = st.sampled_from(sorted(BUILT_IN)).flatmap(lambda n: broken(BUILT_IN[n])) | st.builds(
    lambda fields: {"name": "x", "version": "1", "record_kind": "x", "fields": fields},
    st.dictionaries(st.sampled_from(["a", "b.c", "d"]), field, max_size=3),
)
docs = (
    st.dictionaries(
        st.sampled_from(["period", "park_id", "credit_code", "x", "a", "_meta", "revenue_yuan"]),
        json_values,
    )
    | json_values
)


def compiles_cleanly(text: str) -> CompiledMapping | None:
    try:
        return compile_spec(text, "fuzz.yaml")
    except ConfigError as exc:
        assert "fuzz.yaml" in str(exc)
        return None


def applies_cleanly(mapping: CompiledMapping, doc: Any) -> None:
    try:
        mapping.apply(doc if isinstance(doc, dict) else {"x": doc}, record="r1")
    except MappingError as exc:
        assert "r1" in str(exc)


@FUZZ
@given(specs, st.lists(docs, max_size=3))
def test_specs_compile_or_refuse_and_map_or_refuse(spec: Any, documents: list[Any]) -> None:
    mapping = compiles_cleanly(yaml.safe_dump(plain(spec), allow_unicode=True))
    for doc in [] if mapping is None else documents:
        applies_cleanly(mapping, doc)


@FUZZ
@given(st.text(max_size=200))
def test_any_yaml_text(text: str) -> None:
    compiles_cleanly(text)


def test_the_built_in_specs_compile() -> None:
    """The fuzzers start from specs that compile (so they reach the transforms)."""
    for name, spec in BUILT_IN.items():
        assert compile_spec(yaml.safe_dump(plain(spec), allow_unicode=True), name).fields
