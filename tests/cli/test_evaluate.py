"""`parkhub evaluate --year 2022`: the county-style result table printed and exported."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
import yaml
from typer.testing import CliRunner

from parkhub.cli import app, console
from parkhub.hub import Hub
from parkhub.store import Store
from tests.reports.test_mu_average import PARK, config, seed


def test_evaluate_prints_exports_and_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(console, "width", 250)
    url = f"sqlite:///{tmp_path / 'e.db'}"
    cfg = config(url)
    Path("parkhub.yaml").write_text(
        yaml.safe_dump(cfg.model_dump(mode="json", exclude_defaults=True), allow_unicode=True),
        encoding="utf-8",
    )
    hub = Hub(cfg, Store.open(url))
    seed(hub)
    hub.close()
    runner = CliRunner()
    result = runner.invoke(app, ["evaluate", "--year", "2022", "--xlsx", "out.xlsx", "--report"])
    assert result.exit_code == 0, result.output
    assert "黄岩区 2022 规则" in result.output and "温州示例电气有限公司" in result.output
    assert "97.93" in result.output and "A 0, B 4, C 0, D 0" in result.output
    wb = openpyxl.load_workbook("out.xlsx")
    assert wb["评价结果"]["B3"].value == "温州示例电气有限公司"
    result = runner.invoke(app, ["evaluate", "--year", "2022", "--json", "--no-xlsx"])
    [ev] = json.loads(result.stdout)
    assert ev["park_id"] == PARK and ev["grades"] == {"A": 0, "B": 4, "C": 0, "D": 0}
    assert not Path(f"{ev['park_name']}_2022年度_亩均评价.xlsx").exists()
    hub = Hub(cfg, Store.open(url))
    assert [d["year"] for d in hub.store.records.docs("park_annual")] == [2022]
    hub.close()
    bad = runner.invoke(app, ["evaluate", "--year", "2022", "--below", "profit"])
    assert bad.exit_code == 2 and "--below" in bad.output
