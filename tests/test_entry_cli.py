"""`parkhub entry template` and `parkhub entry import`, as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
import yaml
from typer.testing import CliRunner

from parkhub.cli import app
from parkhub.config import parse_config
from parkhub.hub import Hub
from tests.entry.test_import import fill, row_of


def test_template_fill_import_and_reimport(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = {
        "database_url": f"sqlite:///{tmp_path / 'e.db'}",
        "parks": [{"id": "p1", "name": "鹿城智造小微企业园", "division_code": "330302"}],
    }
    Path("parkhub.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    hub = Hub.open(parse_config(config))
    from parkhub.canonical import Enterprise

    hub.ingest_records(
        [Enterprise(park_id="p1", credit_code="913303020000000278", name="温州瓯江电气有限公司")],
        source="test",
    )
    hub.close()
    runner = CliRunner()
    result = runner.invoke(
        app, ["entry", "template", "--park", "p1", "--period", "2026-10", "-o", "t.xlsx"]
    )
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook("t.xlsx")
    ws = wb["月度数据"]
    fill(ws, row_of(ws, "913303020000000278"), output=523.6, revenue="约300", employees=86)
    wb.save("t.xlsx")

    result = runner.invoke(app, ["entry", "import", "t.xlsx", "--json"])
    out = json.loads(result.output)
    assert result.exit_code == 1 and out["new"] == 0
    [problem] = [p for p in out["problems"] if p["level"] == "error"]
    assert problem["column"] == "营业收入(万元)" and problem["value"] == "约300"

    wb = openpyxl.load_workbook("t.xlsx")
    ws = wb["月度数据"]
    fill(ws, row_of(ws, "913303020000000278"), revenue=300)
    wb.save("t.xlsx")
    result = runner.invoke(app, ["entry", "import", "t.xlsx", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["new"] == 1
    result = runner.invoke(app, ["entry", "import", "t.xlsx"])
    assert result.exit_code == 0 and "已导入过" in result.output
