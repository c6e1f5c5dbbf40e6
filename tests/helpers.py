"""Helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class CorpusFrame:
    """One real HJ 212 frame of tests/fixtures/hj212/corpus/real_frames.txt."""

    name: str
    expect: str  # "ok", or why it is refused: "crc", "length", "mn"
    source: str
    frame: str

    @property
    def raw(self) -> bytes:
        return self.frame.encode("utf-8") + b"\r\n"


HJ212_CORPUS = FIXTURES / "hj212" / "corpus" / "real_frames.txt"


def hj212_corpus() -> list[CorpusFrame]:
    """The frames with their case, expectation and source, in file order."""
    cases, fields = [], {}
    for line in HJ212_CORPUS.read_text("utf-8").splitlines():
        key, sep, value = line.removeprefix("# ").partition(": ")
        if line.startswith("# ") and sep and key in ("case", "expect", "source"):
            fields[key] = value
        elif line.startswith("##"):
            name, expect, source = fields.pop("case"), fields.pop("expect"), fields.pop("source")
            cases.append(CorpusFrame(name, expect, source, line))
    return cases


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
