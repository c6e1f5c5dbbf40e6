"""parkhub.yaml validation and the command line, as an operator uses them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from parkhub.cli import SAMPLE_CONFIG, app
from parkhub.config import load_config, parse_config
from parkhub.errors import ConfigError
from parkhub.sandbox.provincial_sim import ProvincialSim
from parkhub.sandbox.qisheng_sim import QishengSim
from parkhub.sandbox.server import ServerHandle
from tests.helpers import PERIOD, make_config

runner = CliRunner()


def _write(tmp_path: Path, data: dict[str, object]) -> Path:
    path = tmp_path / "parkhub.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_sample_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QISHENG_APP_SECRET", "x")
    monkeypatch.setenv("PROVINCIAL_APP_SECRET", "y")
    config = parse_config(yaml.safe_load(SAMPLE_CONFIG))
    assert config.platforms[0].subscriptions()[0].report == "park_monthly"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["sources"][0].update(park="nope"), "unknown park 'nope'"),
        (lambda d: d["platforms"][0].update(reports=["monthly"]), "has no report 'monthly'"),
        (lambda d: d["platforms"][0].update(type="nope"), "unknown platform 'nope'"),
        (lambda d: d["sources"][0]["config"].update(page_size=5000), "page_size"),
        (lambda d: d["parks"][0].update(division_code="33"), "6位"),
        (lambda d: d.update(colour="blue"), "colour"),
    ],
)
def test_config_errors_name_the_place(change: object, message: str) -> None:
    data = make_config("http://127.0.0.1:1", "http://127.0.0.1:2", "sqlite://").model_dump(
        mode="json"
    )
    change(data)  # type: ignore[operator]
    with pytest.raises(ConfigError, match=message):
        parse_config(data)


def test_missing_config_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="parkhub init"):
        load_config(tmp_path / "none.yaml")


def test_init_writes_a_config_and_a_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "parkhub.yaml").exists() and (tmp_path / "var" / "parkhub.db").exists()


def test_a_parkhub_command_tunes_the_collector_once_its_hub_is_open(tmp_path: Path) -> None:
    """The command's process freezes what start-up loaded and collects young objects every
    20,000 allocations (docs/performance.md); a second hub in the process freezes nothing more.
    In a process of its own: the settings are process-wide."""
    import subprocess
    import sys

    (tmp_path / "parkhub.yaml").write_text(SAMPLE_CONFIG, encoding="utf-8")
    code = (
        "import gc, os; from pathlib import Path; from parkhub.cli.root import open_hub\n"
        "before = (gc.get_threshold()[0], gc.get_freeze_count())\n"
        "open_hub(Path('parkhub.yaml')).close(); first = gc.get_freeze_count()\n"
        "open_hub(Path('parkhub.yaml')).close()\n"
        "print(before, gc.get_threshold()[0], first > 0, gc.get_freeze_count() <= first)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={
            **os.environ,
            "PARKHUB_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
            "QISHENG_APP_SECRET": "x",
            "PROVINCIAL_APP_SECRET": "y",
        },
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")[-2]
    assert out == "(700, 0) 20000 True True"


def test_cli_cycle_and_status_json(
    tmp_path: Path,
    qisheng: tuple[QishengSim, ServerHandle],
    provincial: tuple[ProvincialSim, ServerHandle],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("parkhub.adapters.vendors.qisheng.previous_period", lambda now: PERIOD)
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    cfg = _write(
        tmp_path, make_config(qisheng[1].url, provincial[1].url, db).model_dump(mode="json")
    )
    monkeypatch.setenv("PARKHUB_CONFIG", str(cfg))

    result = runner.invoke(app, ["sync"])
    assert result.exit_code == 0, result.output
    assert "rejected" in result.output and "revenue" in result.output

    result = runner.invoke(app, ["reports", "build", "--period", PERIOD])
    assert result.exit_code == 0 and "1 deliveries queued" in result.output

    provincial[0].fail("business", times=1)
    result = runner.invoke(app, ["dispatch"])
    assert "12 sent" in result.output and "1 dead" in result.output
    assert result.exit_code == 1  # a delivery died: the command says so in its exit code

    result = runner.invoke(app, ["status", "--json"])
    status = json.loads(result.stdout)
    assert status["platforms"] == {
        "provincial": {"sent": 12, "pending": 0, "failed": 0, "dead": 1, "superseded": 0}
    }

    result = runner.invoke(app, ["deliveries", "--status", "dead", "--json"])
    [dead] = json.loads(result.stdout)
    assert dead["platform"] == "provincial" and "2002" in dead["last_error"]

    result = runner.invoke(app, ["replay", "--platform", "provincial", "--since", "2000-01-01"])
    assert "1 deliveries queued again" in result.output
    runner.invoke(app, ["dispatch"])
    status = json.loads(runner.invoke(app, ["status", "--json"]).stdout)
    assert status["platforms"]["provincial"]["sent"] == 13

    result = runner.invoke(app, ["status"])
    assert "provincial" in result.output and "Inbox problems" in result.output


def test_schema_command_prints_the_config_schema() -> None:
    result = runner.invoke(app, ["schema"])
    schema = json.loads(result.output)
    assert "parks" in schema["properties"]
    result = runner.invoke(app, ["schema", "provincial"])
    secret = json.loads(result.output)["properties"]["app_secret"]
    assert secret["secret"] is True and secret["pattern"].startswith("^(env|file)")


def test_schema_command_prints_the_rest_spec_schema() -> None:
    """`parkhub schema rest.spec`: what an editor validates a YAML vendor spec with."""
    result = runner.invoke(app, ["schema", "rest.spec"])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.output)
    assert {"name", "auth", "paging", "streams"} <= set(schema["properties"])
    assert runner.invoke(app, ["schema", "rest.nothing"]).exit_code == 2
