"""`parkhub user ...`: console accounts as an administrator manages them from a shell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from parkhub.cli import app

PARKS = [
    {"id": "p1", "name": "鹿城智造小微企业园", "division_code": "330302"},
    {"id": "p2", "name": "瓯海小微园", "division_code": "330304"},
]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    config = {"database_url": f"sqlite:///{tmp_path / 'u.db'}", "parks": PARKS}
    Path("parkhub.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return CliRunner()


def accounts(cli: CliRunner) -> dict[str, dict[str, object]]:
    result = cli.invoke(app, ["user", "list", "--json"])
    assert result.exit_code == 0, result.output
    return {u["username"]: u for u in json.loads(result.stdout)}


def test_an_operator_account_from_add_to_token(cli: CliRunner) -> None:
    add = ["user", "add", "alice", "--park", "p1", "--password-stdin"]
    result = cli.invoke(app, add, input="long-enough-1\n")
    assert result.exit_code == 0, result.output
    assert "created alice (operator; parks: p1)" in result.output
    assert accounts(cli)["alice"] == {
        "username": "alice",
        "display_name": None,
        "role": "operator",
        "parks": ["p1"],
        "active": True,
        "api_token": False,
    }
    result = cli.invoke(app, ["user", "parks", "alice", "--park", "p1", "--park", "p2"])
    assert result.exit_code == 0 and "alice: p1, p2" in result.output
    assert cli.invoke(app, ["user", "disable", "alice"]).exit_code == 0
    assert accounts(cli)["alice"]["active"] is False
    assert cli.invoke(app, ["user", "enable", "alice"]).exit_code == 0
    assert accounts(cli)["alice"]["active"] is True
    result = cli.invoke(
        app, ["user", "password", "alice", "--password-stdin"], input="new-one-22\n"
    )
    assert result.exit_code == 0 and "alice: password changed" in result.output
    token = cli.invoke(app, ["user", "token", "alice"])
    assert token.exit_code == 0 and len(token.stdout.strip()) >= 20
    assert accounts(cli)["alice"]["api_token"] is True
    assert "alice" in cli.invoke(app, ["user", "list"]).output


def test_unknown_parks_and_users_end_with_exit_2_and_the_reason(cli: CliRunner) -> None:
    add = ["user", "add", "bob", "--park", "nowhere", "--password-stdin"]
    result = cli.invoke(app, add, input="long-enough-1\n")
    assert result.exit_code == 2 and "nowhere" in result.output
    assert "bob" not in accounts(cli)
    result = cli.invoke(app, ["user", "disable", "nobody"])
    assert result.exit_code == 2 and "nobody" in result.output
    result = cli.invoke(app, ["user", "parks", "nobody", "--park", "p3"])
    assert result.exit_code == 2 and "p3" in result.output
