"""Helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from parkhub.config import HubConfig
from parkhub.demo import demo_config

FIXTURES = Path(__file__).parent / "fixtures"
"""Captured payloads and files, named after the case they exercise (see each folder's README)."""

PERIOD = "2026-10"


def make_config(qisheng_url: str, provincial_url: str, db_url: str, **retry: Any) -> HubConfig:
    config = demo_config({"qisheng": qisheng_url, "provincial": provincial_url}, db_url)
    if retry:
        data = config.model_dump()
        data["platforms"][0]["retry"].update(retry)
        config = HubConfig.model_validate(data)
    return config


def make_failed_due(hub: Any) -> None:
    """Skip the persisted backoff wait of failed deliveries: a test checks the policy, not the
    clock."""
    from sqlalchemy import update

    from parkhub.store import schema as t

    with hub.store.begin() as conn:
        conn.execute(
            update(t.deliveries)
            .where(t.deliveries.c.status == "failed")
            .values(next_attempt_at=t.deliveries.c.created_at)
        )
