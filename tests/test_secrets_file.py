"""The secrets file (PARKHUB_SECRETS_FILE) when it is missing, a directory or readable by
everyone: a clear error or a warning, never a traceback."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from parkhub.cli import app
from parkhub.config import parse_config
from parkhub.errors import ConfigError
from parkhub.secrets import resolve_secret
from tests.helpers import make_config


def _config_with_file_secret() -> dict[str, Any]:
    data = make_config("http://127.0.0.1:1", "http://127.0.0.1:2", "sqlite://").model_dump(
        mode="json"
    )
    data["platforms"][0]["config"]["app_secret"] = "file:PROVINCIAL_APP_SECRET"
    return data


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARKHUB_DEMO_PROVINCIAL_SECRET", "x")
    monkeypatch.setenv("PARKHUB_DEMO_QISHENG_SECRET", "y")


@pytest.fixture(params=["missing", "directory"])
def bad_file(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """PARKHUB_SECRETS_FILE naming a file that does not exist, or a directory."""
    path = tmp_path / "secrets.env"
    if request.param == "directory":
        path.mkdir()
    monkeypatch.setenv("PARKHUB_SECRETS_FILE", str(path))
    return path


def test_a_missing_or_directory_secrets_file_is_a_clear_config_error(bad_file: Path) -> None:
    path = bad_file
    with pytest.raises(ConfigError) as err:
        parse_config(_config_with_file_secret())
    expected = "is a directory" if path.is_dir() else "does not exist"
    assert f"PARKHUB_SECRETS_FILE={path} {expected}" in str(err.value)
    assert "app_secret" in str(err.value)  # and where the config asks for it


def test_the_cli_names_the_secrets_file_instead_of_a_traceback(
    tmp_path: Path, bad_file: Path
) -> None:
    config = tmp_path / "parkhub.yaml"
    config.write_text(yaml.safe_dump(_config_with_file_secret(), allow_unicode=True))
    for command in (["check"], ["run"]):
        result = CliRunner().invoke(app, [*command, "--config", str(config)])
        assert result.exit_code != 0, command
        assert "PARKHUB_SECRETS_FILE" in result.output, (command, result.output)
        assert "Traceback" not in result.output and not isinstance(
            result.exception, (OSError, IsADirectoryError)
        ), command
    # a read-only command needs no secrets (issue 16): the broken file does not stop it
    result = CliRunner().invoke(app, ["status", "--config", str(config)])
    assert result.exit_code == 0, result.output


def test_a_secrets_file_everyone_can_read_is_taken_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "world.env"
    path.write_text("KEY=value-1\n", encoding="utf-8")
    os.chmod(path, 0o644)
    private = tmp_path / "private.env"
    private.write_text("KEY=value-2\n", encoding="utf-8")
    os.chmod(private, 0o600)
    caplog.set_level(logging.WARNING, logger="parkhub.secrets")
    monkeypatch.setenv("PARKHUB_SECRETS_FILE", str(private))
    assert resolve_secret("file:KEY").get_secret_value() == "value-2"
    assert not caplog.records
    monkeypatch.setenv("PARKHUB_SECRETS_FILE", str(path))
    assert resolve_secret("file:KEY").get_secret_value() == "value-1"
    [warning] = caplog.records
    assert "readable by every user" in warning.getMessage() and "644" in warning.getMessage()
    assert "value-1" not in caplog.text
