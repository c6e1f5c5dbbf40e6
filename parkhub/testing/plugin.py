"""The kit as a pytest plugin (entry point `pytest11`: parkhub): installed with parkhub, it
collects YAML vendor specs (`*.vendor.yaml`) with their samples as tests, and lends fixtures to
plugin packages' tests: `parkhub_loopback` (serve an ASGI app on 127.0.0.1) and `parkhub_hub`
(a hub on a fresh SQLite database)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from parkhub.config import HubConfig
    from parkhub.hub import Hub
    from parkhub.sandbox.server import ServerHandle

SPEC_SUFFIX = ".vendor.yaml"


def pytest_report_header(config: pytest.Config) -> str:
    from parkhub import __version__

    return f"parkhub {__version__}: conformance kit (parkhub.testing), *{SPEC_SUFFIX} collected"


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if file_path.name.endswith(SPEC_SUFFIX):
        from .specfiles import VendorSpecFile

        return VendorSpecFile.from_parent(parent, path=file_path)
    return None


@pytest.fixture
def parkhub_loopback() -> Iterator[Callable[[Any], ServerHandle]]:
    """`parkhub_loopback(app)` serves the ASGI app on a free port of 127.0.0.1 until the test
    ends; `.url` is its address."""
    from parkhub.sandbox.server import serve_in_thread

    handles: list[ServerHandle] = []

    def serve(app: Any) -> ServerHandle:
        handles.append(serve_in_thread(app))
        return handles[-1]

    yield serve
    for handle in handles:
        handle.stop()


@pytest.fixture
def parkhub_hub(tmp_path: Path) -> Iterator[Callable[..., Hub]]:
    """`parkhub_hub(config)` opens a hub (config: a parkhub.yaml mapping or a HubConfig) on a
    fresh SQLite database in the test's folder; it is closed when the test ends."""
    from parkhub.config import HubConfig, parse_config
    from parkhub.hub import Hub

    hubs: list[Hub] = []

    def open_hub(config: Mapping[str, Any] | HubConfig, url: str | None = None) -> Hub:
        cfg = config if isinstance(config, HubConfig) else parse_config(dict(config))
        hubs.append(Hub.open(cfg, url=url or f"sqlite:///{tmp_path / 'parkhub.db'}"))
        return hubs[-1]

    yield open_hub
    for hub in hubs:
        hub.close()
