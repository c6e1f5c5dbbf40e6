"""parkhub.testing is a pytest plugin (entry point pytest11): it collects YAML vendor specs with
their samples as tests, saying what is wrong where, and lends its fixtures to any test."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from parkhub.hub import Hub
from tests.adapters.vendors.rest.conftest import EXAMPLE


def test_the_plugin_is_registered_under_pytest11() -> None:
    [plugin] = [ep for ep in entry_points(group="pytest11") if ep.name == "parkhub"]
    assert plugin.value == "parkhub.testing.plugin"


def test_parkhub_loopback_serves_an_app_on_127_0_0_1(parkhub_loopback: Any) -> None:
    app = Starlette(routes=[Route("/ping", lambda request: PlainTextResponse("pong"))])
    server = parkhub_loopback(app)
    assert server.url.startswith("http://127.0.0.1:")
    assert httpx.get(f"{server.url}/ping", timeout=5).text == "pong"


def test_parkhub_hub_opens_a_hub_on_a_fresh_database(parkhub_hub: Any) -> None:
    hub: Hub = parkhub_hub({"parks": [{"id": "p1", "name": "园区", "division_code": "330302"}]})
    assert hub.store.records.counts() == {"park": 1}


def _pytest(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(folder)],
        cwd=folder, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_yaml_vendors_are_collected_and_a_broken_one_says_where(tmp_path: Path) -> None:
    good = EXAMPLE.read_text(encoding="utf-8")
    (tmp_path / "broken.vendor.yaml").write_text(good.replace("unit_at: unit", 'unit_at: "unit["'))
    (tmp_path / "lonely.vendor.yaml").write_text(good)  # no samples folder beside it
    (tmp_path / "notes.yaml").write_text("not: a vendor\n")  # not collected
    done = _pytest(tmp_path)
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "2 failed" in out and "1 passed" in out, out  # broken: spec; lonely: spec + samples
    assert "broken.vendor.yaml::spec" in out
    assert "streams.readings.fields.value.unit_at: 不是有效的 JMESPath" in out
    assert "lonely.vendor.yaml::samples: no samples: put answers captured from the vendor" in out
