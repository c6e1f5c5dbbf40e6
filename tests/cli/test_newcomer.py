"""The command line as a newcomer meets it: the README's commands against the sandbox, paths
relative to the config, the database named, every config problem at once, read-only commands
without secrets, exit codes, clear errors, tables that fit 80 columns."""

from __future__ import annotations

import json
import logging
import random
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml
from sqlalchemy import update
from typer.testing import CliRunner

from parkhub.canonical import Enterprise
from parkhub.canonical.timeutil import previous_period
from parkhub.cli import app
from parkhub.cli import console as cli_console
from parkhub.cli.root import BeijingFormatter
from parkhub.cli.sandbox import ports
from parkhub.demo import DEMO_SECRETS, Sandbox
from parkhub.hub import Hub
from parkhub.store import schema as t
from tests.helpers import PERIOD, make_config

README = Path(__file__).resolve().parents[2] / "README.md"
runner = CliRunner()


def _readme_commands() -> list[list[str]]:
    """The README's "try the CLI" block, as argument lists (comments dropped)."""
    text = README.read_text(encoding="utf-8").split("Then try the CLI.")[1]
    block = text.split("```sh\n")[1].split("```")[0]
    out = []
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if words and words[0] == ".venv/bin/parkhub":
            out.append(words[1:])
    return out


@pytest.fixture
def sandbox() -> object:
    """The simulators on a free run of loopback ports, as `parkhub sandbox` starts them."""
    for _ in range(20):
        base = random.randrange(20000, 40000, 10)
        sims = Sandbox(previous_period(), ports=ports(base))
        try:
            sims.start()
        except OSError:
            sims.stop()
            continue
        yield base
        sims.stop()
        return
    pytest.skip("no free run of loopback ports")


def test_every_readme_command_works_as_written(
    sandbox: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PARKHUB_CONFIG", raising=False)
    monkeypatch.delenv("PARKHUB_DATABASE_URL", raising=False)
    monkeypatch.delenv("PARKHUB_SECRETS_FILE", raising=False)
    commands = _readme_commands()
    assert commands[0][0] == "sandbox" and commands[1] == ["init", "--sandbox"]
    assert commands[-1] == ["run"]
    for args in commands[1:-1]:
        if args[:2] == ["init", "--sandbox"]:
            args = [*args, "--base-port", str(sandbox)]  # the test's free ports
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
    status = json.loads(runner.invoke(app, ["status", "--json"]).stdout)
    assert status["platforms"]["provincial"]["sent"] == 13
    assert (tmp_path / "var" / "parkhub.db").exists()
    written = (tmp_path / "parkhub.yaml").read_text(encoding="utf-8")
    assert not any(value in written for value in DEMO_SECRETS.values())  # in parkhub.secrets


def _no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in DEMO_SECRETS:
        monkeypatch.delenv(name, raising=False)


def _config(tmp_path: Path, **changes: object) -> Path:
    data = make_config("http://127.0.0.1:1", "http://127.0.0.1:2", "sqlite:///x.db").model_dump(
        mode="json", exclude_none=True
    )
    data.update(changes)
    folder = tmp_path / "etc"
    folder.mkdir(exist_ok=True)
    path = folder / "parkhub.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_paths_follow_the_config_and_the_database_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, database_url="sqlite:///var/hub.db")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    first = runner.invoke(app, ["status", "-c", str(config)])
    assert first.exit_code == 0, first.output
    db = tmp_path / "etc" / "var" / "hub.db"
    assert db.exists() and not (elsewhere / "var").exists()  # beside the config, not here
    assert "creating a new database" in first.stderr and str(db) in first.stderr.replace("\n", "")
    again = runner.invoke(app, ["status", "-c", str(config)])
    assert "creating" not in again.stderr and "database: " in again.stderr


def test_read_only_commands_need_no_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, database_url=f"sqlite:///{tmp_path / 'r.db'}")
    _no_secrets(monkeypatch)
    template = ["entry", "template", "--park", "wz-lc-0001", "-o", str(tmp_path / "t.xlsx")]
    for args in (["platforms"], ["calendar"], ["status"], ["deliveries"], template):
        result = runner.invoke(app, [*args, "-c", str(config)])
        assert result.exit_code == 0, (args, result.output)
    result = runner.invoke(app, ["sync", "-c", str(config)])
    assert result.exit_code == 2 and "PARKHUB_DEMO" in result.output  # sync needs them


def test_check_names_every_problem_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = make_config("http://127.0.0.1:1", "http://127.0.0.1:2", "sqlite://").model_dump(
        mode="json", exclude_none=True
    )
    _no_secrets(monkeypatch)
    data["sources"][0]["config"]["base_url"] = "qisheng.example.com"  # no scheme
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(app, ["check", "-c", str(good)])
    assert result.exit_code == 2
    out = result.output.replace("\n", "")
    assert "base_url" in out and "qisheng.example.com" in out  # the source's URL ...
    assert "PARKHUB_DEMO_QISHENG_SECRET" in out  # ... its secret ...
    assert "PARKHUB_DEMO_PROVINCIAL_SECRET" in out  # ... and the platform's secret

    data["parks"][0]["division_code"] = 330302  # unquoted in YAML: a number
    data["sources"][0]["schedule"] = {"cron": "61 * * * *"}
    data["reports"] = {"monthly": {"cron": "0 1 1 * *", "bogus": 1}}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(app, ["check", "-c", str(bad)])
    assert result.exit_code == 2
    out = result.output
    assert "division_code" in out and "quote it" in out
    assert "cron" in out and "61 * * * *" in out
    assert "bogus" in out
    assert "Value error," not in out
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) == len(set(lines))  # no line twice
    run = runner.invoke(app, ["run", "-c", str(bad)])  # run refuses the same file, no crash
    assert (run.exit_code == 2 and "cron" in run.output and run.exception is None) or isinstance(
        run.exception, SystemExit
    )


def test_exit_codes_and_input_checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(tmp_path, database_url=f"sqlite:///{tmp_path / 'e.db'}")
    bogus = runner.invoke(app, ["deliveries", "--status", "bogus", "-c", str(config)])
    assert bogus.exit_code == 2 and "unknown status 'bogus'" in bogus.output
    assert "dead" in bogus.output  # the valid ones named
    dry = runner.invoke(app, ["replay", "--dry-run", "-c", str(config)])
    assert dry.exit_code == 0 and "would be queued again" in dry.output
    missing = runner.invoke(app, ["hj212", "decode", str(tmp_path / "rx.log")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    assert "Traceback" not in missing.output
    period = runner.invoke(app, ["reports", "build", "--period", "2026-13", "-c", str(config)])
    assert period.exit_code == 2 and "YYYY-MM" in period.output
    unknown = runner.invoke(app, ["schema", "nope"])
    assert unknown.exit_code == 2 and "provincial" in unknown.output and "qisheng" in unknown.output
    pretty = runner.invoke(app, ["schema", "provincial"])
    assert pretty.stdout.startswith("{\n  ") and json.loads(pretty.stdout)["properties"]
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.stdout.startswith("parkhub ")


def test_replay_without_a_filter_asks_first(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'q.db'}"
    config = _config(tmp_path, database_url=db)
    hub = Hub.open(make_config("http://127.0.0.1:1", "http://127.0.0.1:9", db))
    firm = Enterprise(park_id="wz-lc-0001", credit_code="91330302000000019D", name="新企业")
    hub.ingest_records([firm], source="test")  # a roster delivery to the province
    with hub.store.begin() as conn:  # ... that died
        conn.execute(update(t.deliveries).values(status="dead", last_error="HTTP 503"))
    hub.close()
    no = runner.invoke(app, ["replay", "-c", str(config)], input="n\n")
    assert no.exit_code == 1 and "Replay all 1 dead deliveries?" in no.output
    dry = runner.invoke(app, ["replay", "--dry-run", "--json", "-c", str(config)])
    assert json.loads(dry.stdout) == {"count": 1}
    yes = runner.invoke(app, ["replay", "-c", str(config)], input="y\n")
    assert yes.exit_code == 0 and "1 deliveries queued again" in yes.output
    filtered = runner.invoke(app, ["replay", "--error", "503", "-c", str(config)])
    assert filtered.exit_code == 0 and "nothing to replay" in filtered.output  # no question


def test_a_park_without_enterprises_gets_no_empty_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, database_url=f"sqlite:///{tmp_path / 'p.db'}")
    result = runner.invoke(app, ["reports", "build", "--period", PERIOD, "-c", str(config)])
    assert result.exit_code == 1
    assert "no enterprises in the park yet" in result.output.replace("\n", "")
    out = runner.invoke(app, ["deliveries", "--json", "-c", str(config)])
    assert json.loads(out.stdout) == []


def test_tables_fit_80_columns_and_every_option_has_help(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, database_url=f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setattr(cli_console, "width", 80)
    for args in (["platforms"], ["calendar"], ["status"], ["deliveries"], ["adapters"]):
        result = runner.invoke(app, [*args, "-c", str(config)] if args != ["adapters"] else args)
        assert result.exit_code == 0, result.output
        assert max(len(line) for line in result.stdout.splitlines()) <= 80, args
    group = typer.main.get_command(app)

    def walk(cmd: Any, path: str) -> list[str]:
        if hasattr(cmd, "commands"):
            return [x for name, sub in cmd.commands.items() for x in walk(sub, f"{path} {name}")]
        return [f"{path} {p.name}" for p in cmd.params if not getattr(p, "help", None)]

    assert len(group.commands) > 15  # type: ignore[attr-defined]
    assert walk(group, "parkhub") == []  # every option and argument explains itself


def test_run_logs_in_beijing_time() -> None:
    record = logging.LogRecord("parkhub", logging.INFO, "x", 1, "job %s done", ("dispatch",), None)
    record.created = 0.0  # 1970-01-01 00:00 UTC
    line = BeijingFormatter("%(asctime)s %(message)s").format(record)
    assert line == "1970-01-01 08:00:00+0800 job dispatch done"


def test_fixed_inbox_problems_clear_and_others_can_be_dismissed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _config(tmp_path, database_url=f"sqlite:///{tmp_path / 'i.db'}")
    code = "913303020000000278"
    bad = tmp_path / "月报.csv"
    bad.write_text(f"统一社会信用代码,统计期间,营业收入(万元)\n{code},{PERIOD},约300\n")
    args = ["--park", "wz-lc-0001", "-c", str(config)]
    assert runner.invoke(app, ["entry", "import", str(bad), *args]).exit_code == 1
    other = tmp_path / "另一个.csv"
    other.write_text(f"统一社会信用代码,统计期间,营业收入(万元)\n{code},{PERIOD},十二\n")
    runner.invoke(app, ["entry", "import", str(other), *args])
    problems = json.loads(runner.invoke(app, ["status", "--json", "-c", str(config)]).stdout)
    assert len(problems["inbox_problems"]) == 2

    bad.write_text(f"统一社会信用代码,统计期间,营业收入(万元)\n{code},{PERIOD},300\n")
    fixed = runner.invoke(app, ["entry", "import", str(bad), *args])
    assert fixed.exit_code == 0, fixed.output
    status = json.loads(runner.invoke(app, ["status", "--json", "-c", str(config)]).stdout)
    [left] = status["inbox_problems"]  # the file fixed and imported again is no problem now
    assert "十二" in left["reason"]

    dismissed = runner.invoke(app, ["inbox", "dismiss", str(left["raw_id"]), "-c", str(config)])
    assert dismissed.exit_code == 0 and "1 problems dismissed" in dismissed.output
    status = json.loads(runner.invoke(app, ["status", "--json", "-c", str(config)]).stdout)
    assert status["inbox_problems"] == []
    again = runner.invoke(app, ["inbox", "dismiss", str(left["raw_id"]), "-c", str(config)])
    assert again.exit_code == 1  # not an open problem any more
    listed = runner.invoke(app, ["inbox", "list", "--json", "-c", str(config)])
    assert json.loads(listed.stdout) == []


def test_progress_shows_only_when_work_takes_a_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    import io
    import time

    from rich.console import Console

    from parkhub.cli import root

    screen = io.StringIO()
    monkeypatch.setattr(root, "err_console", Console(file=screen, force_terminal=True, width=80))
    with root.progress("同步 quick", total=1) as bar:
        bar.advance()
    assert screen.getvalue() == ""  # done at once: no bar at all
    with root.progress("同步 slow", total=2) as bar:
        time.sleep(0.8)
        bar.advance(2)
    assert "同步 slow" in screen.getvalue()
    piped = io.StringIO()
    monkeypatch.setattr(root, "err_console", Console(file=piped, force_terminal=False))
    with root.progress("piped", total=1):
        time.sleep(0.7)
    assert piped.getvalue() == ""  # not a terminal: never
