"""`parkhub status` shows what the quality rules found and what waits for a reviewer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from parkhub.cli import app, console
from parkhub.hub import Hub
from parkhub.store import Store
from tests.ingest.support import CODE, PARK, config, make_park, monthly


def test_status_lists_held_records_and_findings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(console, "width", 250)
    url = f"sqlite:///{tmp_path / 's.db'}"
    cfg = config()
    data = {**cfg.model_dump(mode="json", exclude_defaults=True), "database_url": url}
    Path("parkhub.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    store = Store.open(url)
    park = make_park(store, cfg)
    park.feed([monthly(CODE, "2026-10", revenue_yuan=1e19)])
    park.feed([monthly(CODE, "2026-11", revenue_yuan=100.0, tax_yuan=200.0)])
    store.close()
    runner = CliRunner()
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    assert "1 waiting for a reviewer" in result.output
    assert f"enterprise_monthly#{CODE}|2026-10" in result.output
    assert "税收 0.02 万元 大于营业收入 0.01 万元" in result.output
    out = json.loads(runner.invoke(app, ["status", "--json"]).stdout)["quality"]
    assert out["counts"] == {"info": 0, "warn": 1, "hold": 1, "waiting": 1}
    assert out["held"][0]["park"] == PARK and "超出上限" in out["held"][0]["findings"][0]
    assert [f["rule"] for f in out["findings"]] == ["tax_revenue", "range"]
    hub = Hub.open(cfg, url=url)
    assert hub.status()["quality"]["conflicts"] == 0
    hub.close()
