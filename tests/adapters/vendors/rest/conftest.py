"""The smart-park simulator on loopback and REST adapters pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from parkhub.adapters.vendors.base import SourceContext
from parkhub.adapters.vendors.rest import RestAdapter, RestConfig
from parkhub.sandbox.server import ServerHandle, serve_in_thread
from parkhub.sandbox.smartpark_sim import DEMO_KEY, DEMO_SECRET, DEMO_TOKEN, SmartParkSim
from tests.helpers import FIXTURES

ROOT = Path(__file__).resolve().parents[4]
EXAMPLE = ROOT / "examples" / "vendors" / "smartpark.vendor.yaml"
FULL = FIXTURES / "rest" / "smartpark_full.yaml"
Make = Callable[..., RestAdapter]


def spec_of(path: Path = FULL, **changes: Any) -> dict[str, Any]:
    """A spec file as a mapping, with top-level keys changed."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {**data, **changes}


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SP_SECRET", DEMO_SECRET)
    monkeypatch.setenv("SP_TOKEN", DEMO_TOKEN)
    monkeypatch.setenv("SP_WRONG", "not-the-secret")


@pytest.fixture
def sim() -> SmartParkSim:
    return SmartParkSim()


@pytest.fixture
def server(sim: SmartParkSim) -> Iterator[ServerHandle]:
    with serve_in_thread(sim.app) as handle:
        yield handle


@pytest.fixture
def make(server: ServerHandle) -> Iterator[Make]:
    """`make(spec=..., **config)`: a REST adapter on the simulator (the full spec, signed)."""
    made: list[RestAdapter] = []

    def build(spec: Any = FULL, source: str = "sp", **config: Any) -> RestAdapter:
        data = {
            "spec": str(spec) if isinstance(spec, Path) else spec,
            "base_url": server.url,
            "app_key": DEMO_KEY,
            "app_secret": "env:SP_SECRET",
            **config,
        }
        made.append(RestAdapter(SourceContext(source, "p1"), RestConfig.model_validate(data)))
        return made[-1]

    yield build
    for adapter in made:
        adapter.close()
