"""Fuzzing the config: the demo's parkhub.yaml with parts broken (a value replaced, dropped,
retyped), and YAML text that says anything. `parkhub check` and `parkhub run` read it the same
way: the config is valid, or a ConfigError names the file; never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from parkhub.config import load_config, parse_config
from parkhub.errors import ConfigError
from tests.fuzzing import FUZZ, broken, plain
from tests.helpers import make_config

pytestmark = pytest.mark.fuzz

DEMO = make_config("http://127.0.0.1:1", "http://127.0.0.1:2", "sqlite://").model_dump(
    mode="json", exclude_none=True
)


def reads_cleanly(data: Any) -> None:
    try:
        parse_config(data, origin="fuzz.yaml")
    except ConfigError as exc:
        assert "fuzz.yaml" in str(exc) or str(exc)


@FUZZ
@given(broken(DEMO))
def test_broken_configs(data: Any) -> None:
    reads_cleanly(plain(data))


@FUZZ
@given(
    st.text(max_size=300) | broken(DEMO).map(lambda d: yaml.safe_dump(plain(d), allow_unicode=True))
)
def test_config_files(tmp_path_factory: pytest.TempPathFactory, text: str) -> None:
    path: Path = tmp_path_factory.mktemp("cfg") / "parkhub.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        load_config(path)
    except ConfigError as exc:
        assert str(path) in str(exc) or "fuzz" not in str(exc)


def test_the_demo_config_reads() -> None:
    """The fuzzers start from a config that is valid."""
    assert parse_config(DEMO).parks
