"""Helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from parkhub.config import HubConfig
from parkhub.demo import demo_config

FIXTURES = Path(__file__).parent / "fixtures"
"""Captured payloads and files, named after the case they exercise (see each folder's README)."""

PERIOD = "2026-10"


NO_PAUSE = {"pause_after_failures": None}
"""Platform limits that never pause: every due delivery meets an outage on its own."""


def make_config(
    qisheng_url: str,
    provincial_url: str,
    db_url: str,
    limits: dict[str, Any] | None = None,
    **retry: Any,
) -> HubConfig:
    config = demo_config({"qisheng": qisheng_url, "provincial": provincial_url}, db_url)
    if retry or limits:
        data = config.model_dump()
        data["platforms"][0]["retry"].update(retry)
        data["platforms"][0]["limits"].update(limits or {})
        config = HubConfig.model_validate(data)
    return config
