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


GUIDE = Path(__file__).resolve().parents[1] / "docs" / "integrator-guide.md"


def guide_blocks(info: str | None = None) -> list[tuple[str, str]]:
    """The fenced code blocks of docs/integrator-guide.md as (info string, text), in order;
    only those whose info string is `info`, if given."""
    import re

    text = GUIDE.read_text(encoding="utf-8")
    blocks = re.findall(r"^```([^\n`]*)\n(.*?)^```$", text, flags=re.S | re.M)
    return [(i.strip(), body) for i, body in blocks if info is None or i.strip() == info]


def guide_commands(info: str) -> list[list[str]]:
    """The `$ ` lines of the guide's one `console <info>` block, split as a shell would."""
    import shlex

    [(_, block)] = guide_blocks(f"console {info}")
    return [shlex.split(line[2:]) for line in block.splitlines() if line.startswith("$ ")]
