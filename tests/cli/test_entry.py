"""`parkhub entry template` and `parkhub entry import`, as an operator runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from typer.testing import CliRunner

from parkhub.cli import app
from parkhub.config import parse_config
from parkhub.hub import Hub
from tests.adapters.vendors.manual.test_import import fill, row_of

P1 = {"id": "p1", "name": "鹿城智造小微企业园", "division_code": "330302"}


def park_with_one_enterprise(tmp_path: Path, parks: list[dict[str, str]]) -> dict[str, Any]:
    """parkhub.yaml in the working directory, and 温州瓯江电气 on the roster of the first park."""
    from parkhub.canonical import Enterprise

    config = {"database_url": f"sqlite:///{tmp_path / 'e.db'}", "parks": parks}
    Path("parkhub.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    hub = Hub.open(parse_config(config))
    hub.ingest_records(
        [Enterprise(park_id="p1", credit_code="913303020000000278", name="温州瓯江电气有限公司")],
        source="test",
    )
    hub.close()
    return config


def test_template_fill_import_and_reimport(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    park_with_one_enterprise(tmp_path, [P1])
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
    out = json.loads(result.stdout)
    assert result.exit_code == 1 and out["new"] == 0
    [problem] = [p for p in out["problems"] if p["level"] == "error"]
    assert problem["column"] == "营业收入(万元)" and problem["value"] == "约300"

    wb = openpyxl.load_workbook("t.xlsx")
    ws = wb["月度数据"]
    fill(ws, row_of(ws, "913303020000000278"), revenue=300)
    wb.save("t.xlsx")
    result = runner.invoke(app, ["entry", "import", "t.xlsx", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["new"] == 1
    result = runner.invoke(app, ["entry", "import", "t.xlsx"])
    assert result.exit_code == 0 and "已导入过" in result.output


def test_a_file_naming_another_parks_enterprise_is_refused_unless_moved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Credit codes key enterprises across parks: an import must not silently take one over."""
    monkeypatch.chdir(tmp_path)
    config = park_with_one_enterprise(
        tmp_path, [P1, {"id": "p2", "name": "瓯海创业园", "division_code": "330304"}]
    )
    Path("roster.csv").write_text(
        "统一社会信用代码,企业名称,行业代码,是否规上企业,租用面积(平方米),入园日期,状态\r\n"
        "913303020000000278,温州瓯江电气有限公司,3823,否,1850,2026/11/1,在园\r\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    refused = runner.invoke(app, ["entry", "import", "roster.csv", "--park", "p2"])
    assert refused.exit_code == 2
    assert "属于其他园区" in refused.output and "913303020000000278" in refused.output
    assert "stored for park p1" in refused.output.replace("\n", "")

    def owner() -> str:
        hub = Hub.open(parse_config(config))
        try:
            record = hub.store.records.get("enterprise", "913303020000000278")
            assert record is not None
            return str(record["park_id"])
        finally:
            hub.close()

    assert owner() == "p1"  # nothing of the file was stored
    moved = runner.invoke(app, ["entry", "import", "roster.csv", "--park", "p2", "--move"])
    assert moved.exit_code == 0, moved.output
    assert owner() == "p2"
    hub = Hub.open(parse_config(config))
    try:
        [entry] = [a for a in hub.store.audit.log() if a["action"] == "entry_import"]
    finally:
        hub.close()
    assert "enterprise#913303020000000278 <- 属于园区 p1" in entry["detail"]
