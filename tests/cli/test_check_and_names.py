"""`parkhub check` names every problem at once, even those hidden behind another (a source
with a bad schedule still has its config checked; a park reference is checked while a field
is wrong); `check --live` calls each enabled source's and platform's check() and says which
cannot be reached, without creating a database; a platform or source typed on the command
line must be one of the config's; a rejected record is printed once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from parkhub.cli import app
from parkhub.errors import SourceError
from tests.helpers import PERIOD, make_config

runner = CliRunner()


def _data(db: str = "sqlite:///var/x.db") -> dict[str, Any]:
    return make_config("http://127.0.0.1:1", "http://127.0.0.1:2", db).model_dump(
        mode="json", exclude_none=True
    )


def _write(tmp_path: Path, data: dict[str, Any], name: str = "parkhub.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_check_names_problems_hidden_behind_others(tmp_path: Path) -> None:
    data = _data()
    data["parks"][0]["land_area_m2"] = -5  # a field wrong: the references are still checked
    source = data["sources"][0]
    source["park"] = "no-such-park"
    source["schedule"] = {"cron": "bogus"}  # the source itself is wrong ...
    source["config"]["base_url"] = "not a url"  # ... and its adapter config is still checked
    source["config"]["app_secret"] = "plain-text"
    platform = data["platforms"][0]
    platform["reports"].append("nonsense")  # a report the platform does not have ...
    platform["config"]["base_url"] = "ftp://x"  # ... and its config: both named
    data["parks"].append(dict(data["parks"][0]))  # the same park id twice
    result = runner.invoke(app, ["check", "-c", str(_write(tmp_path, data))])
    assert result.exit_code == 2
    out = result.stderr.replace("\n", "")
    for expected in (
        "land_area_m2",
        "unknown park 'no-such-park'",
        "duplicate park names: wz-lc-0001",
        "invalid cron 'bogus'",
        "'not a url'",
        "a secret must be a reference",
        "has no report 'nonsense'",
        "'ftp://x'",
    ):
        assert expected in out, expected
    assert "Value error," not in out
    assert not (tmp_path / "var").exists()  # check creates no database


def test_a_division_code_read_as_a_number_is_quoted_back_as_typed(tmp_path: Path) -> None:
    data = _data()
    data["parks"][0]["division_code"] = 330304
    result = runner.invoke(app, ["check", "-c", str(_write(tmp_path, data))])
    assert result.exit_code == 2 and 'division_code: "330304"' in result.stderr


def test_check_live_calls_every_check_and_names_what_is_unreachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = _write(tmp_path, _data())  # the source on port 1, the province on port 2: closed
    result = runner.invoke(app, ["check", "--live", "-c", str(config)])
    assert result.exit_code == 2, result.output
    out = result.stderr.replace("\n", "")
    assert "unreachable" in out
    assert "source qisheng-lc (qisheng)" in out and "platform provincial (provincial)" in out
    assert "127.0.0.1:2" in out and "Traceback" not in out
    assert not (tmp_path / "var").exists()  # reaching the systems opens no database

    calls: list[str] = []

    def refused(self: Any) -> None:
        calls.append(self.source.name)
        raise SourceError(f"[{self.source.name}] 认证失败 (authentication failed twice)")

    def answers(self: Any) -> None:
        calls.append(self.name)

    from parkhub.adapters.platforms.base import Platform
    from parkhub.adapters.vendors.qisheng import QishengAdapter

    monkeypatch.setattr(QishengAdapter, "check", refused)
    monkeypatch.setattr(Platform, "check", answers)
    monkeypatch.setattr("parkhub.adapters.platforms.base.JsonApiPlatform.check", answers)
    result = runner.invoke(app, ["check", "--live", "-c", str(config)])
    assert result.exit_code == 2
    out = result.stderr.replace("\n", "")
    assert "source qisheng-lc (qisheng): [qisheng-lc] 认证失败 (authentication failed" in out
    assert "1 problem(s)" in out
    assert "qisheng-lc" in calls and "provincial" in calls  # each enabled one was asked

    monkeypatch.setattr(QishengAdapter, "check", answers)
    ok = runner.invoke(app, ["check", "--live", "-c", str(config)])
    assert ok.exit_code == 0 and "all reachable" in ok.stdout


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["deliveries", "--platform", "bogus"], "unknown platform 'bogus'; known: provincial"),
        (["replay", "--platform", "bogus"], "unknown platform 'bogus'; known: provincial"),
        (["dispatch", "--platform", "bogus"], "unknown platform 'bogus'; known: provincial"),
        (["retry", "--platform", "bogus"], "unknown platform 'bogus'; known: provincial"),
        (["reparse", "--source", "bogus"], "unknown source 'bogus'; known: qisheng-lc"),
        (["inbox", "list", "--source", "bogus"], "unknown source 'bogus'; known: qisheng-lc"),
        (["sync", "bogus"], "unknown source 'bogus'; known: qisheng-lc"),
    ],
)
def test_a_name_typed_must_be_one_of_the_configs(
    tmp_path: Path, args: list[str], named: str
) -> None:
    config = _write(tmp_path, _data(f"sqlite:///{tmp_path / 'n.db'}"))
    result = runner.invoke(app, [*args, "-c", str(config)])
    assert result.exit_code == 2, result.output
    assert named in result.output.replace("\n", "") and "Traceback" not in result.output


def test_a_rejected_record_is_printed_once(tmp_path: Path) -> None:
    config = _write(tmp_path, _data(f"sqlite:///{tmp_path / 'o.db'}"))
    bad = tmp_path / "月报.csv"
    bad.write_text(f"统一社会信用代码,统计期间,营业收入(万元)\n913303020000000278,{PERIOD},约300\n")
    imported = runner.invoke(
        app, ["entry", "import", str(bad), "--park", "wz-lc-0001", "-c", str(config)]
    )
    assert imported.exit_code == 1
    assert "rejected record" not in imported.output  # the table says it; no log line too
    reparsed = runner.invoke(app, ["reparse", "-c", str(config)])
    assert reparsed.exit_code == 0
    assert "rejected record" not in reparsed.output
    assert reparsed.output.count("应填数字") == 1, reparsed.output
    again = runner.invoke(app, ["reparse", "--json", "-c", str(config)])
    assert len(json.loads(again.stdout)) == 1


def test_run_keeps_the_libraries_chatter_at_debug() -> None:
    import logging

    from parkhub.cli.root import setup_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging(verbose=True)  # as `parkhub run`
        assert logging.getLogger("parkhub.scheduler").isEnabledFor(logging.INFO)
        for chatty in ("apscheduler.scheduler", "alembic.runtime.migration"):
            assert not logging.getLogger(chatty).isEnabledFor(logging.INFO), chatty
    finally:
        root.handlers[:], root.level = saved


def test_config_before_the_command_works_as_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PARKHUB_CONFIG", raising=False)  # restored after the test
    config = _write(tmp_path, _data("sqlite:///var/before.db"))
    monkeypatch.chdir(tmp_path.parent)
    result = runner.invoke(app, ["-c", str(config), "status", "--json"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "var" / "before.db").exists()  # the file's database, beside it
    nested = runner.invoke(app, ["-c", str(config), "reports", "build", "--period", PERIOD])
    assert "before.db" in nested.stderr.replace("\n", "")
    assert "PARKHUB_CONFIG" not in __import__("os").environ  # nothing left behind


def test_hj212_decode_of_a_folder_says_so(tmp_path: Path) -> None:
    result = runner.invoke(app, ["hj212", "decode", str(tmp_path)])
    assert result.exit_code == 2 and "a folder, not a file" in result.output
    empty = tmp_path / "empty.log"
    empty.write_bytes(b"no frames here\n")
    none = runner.invoke(app, ["hj212", "decode", str(empty)])
    assert none.exit_code == 2 and "no HJ 212 frame" in none.output
    bad = tmp_path / "bad.json"
    bad.write_text("{not json\n")
    encoded = runner.invoke(app, ["hj212", "encode", str(bad)])
    assert encoded.exit_code == 2 and "line 1: not JSON" in encoded.output


def test_entry_import_checks_its_options_first(tmp_path: Path) -> None:
    config = _write(tmp_path, _data(f"sqlite:///{tmp_path / 'k.db'}"))
    rows = tmp_path / "rows.csv"
    rows.write_text("统一社会信用代码,营业收入(万元)\n913303020000000278,1\n")
    args = ["entry", "import", str(rows), "--park", "wz-lc-0001", "-c", str(config)]
    kind = runner.invoke(app, [*args, "--kind", "bogus"])
    assert kind.exit_code == 2 and "enterprise_monthly or enterprise_roster" in kind.output
    period = runner.invoke(app, [*args, "--period", "2026-13"])
    assert period.exit_code == 2 and "YYYY-MM" in period.output
