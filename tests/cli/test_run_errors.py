"""`parkhub run` refuses what it cannot run with a message, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import make_config


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PARKHUB_DEMO_PROVINCIAL_SECRET", "x")
    monkeypatch.setenv("PARKHUB_DEMO_QISHENG_SECRET", "y")
    data = make_config("http://127.0.0.1:1", "http://127.0.0.1:2", "sqlite://").model_dump(
        mode="json"
    )
    data["database_url"] = f"sqlite:///{tmp_path / 'hub.db'}"
    path = tmp_path / "parkhub.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PARKHUB_DATABASE_URL": "nosuch://x"}, "Can't load plugin"),
        ({"PARKHUB_DATABASE_URL": "sqlite:////proc/no-such-dir/x.db"}, "No such file"),
        ({"PARKHUB_CONSOLE_SECRET": "short"}, "PARKHUB_CONSOLE_SECRET"),
    ],
)
def test_run_names_what_it_cannot_use(
    config: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str
) -> None:
    """The real command (its `main` turns a ParkhubError into a message and exit code 2)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    done = subprocess.run(
        [sys.executable, "-m", "parkhub.cli", "run", "--config", str(config), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr and "Traceback" not in done.stderr
