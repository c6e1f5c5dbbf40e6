"""Guarantee 6: secrets come from the environment, are never logged, stored or printed."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from parkhub.cli import app
from parkhub.config import parse_config
from parkhub.errors import ConfigError
from parkhub.hub import Hub
from parkhub.sandbox.provincial_sim import ProvincialSim
from parkhub.sandbox.qisheng_sim import QishengSim
from parkhub.sandbox.server import serve_in_thread
from parkhub.secrets import resolve_secret
from tests.helpers import PERIOD, make_config

QS_SECRET = "qs-Secret-9f3c1e77a0"
PV_SECRET = "pv-Secret-4b8d22e1c5"


def test_secrets_never_reach_logs_output_or_database(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("PARKHUB_DEMO_QISHENG_SECRET", QS_SECRET)
    monkeypatch.setenv("PARKHUB_DEMO_PROVINCIAL_SECRET", PV_SECRET)
    monkeypatch.setattr("parkhub.adapters.vendors.qisheng.previous_period", lambda now: PERIOD)
    caplog.set_level(logging.DEBUG)
    qs = QishengSim(app_secret=QS_SECRET, period=PERIOD)
    pv = ProvincialSim(app_secret=PV_SECRET)
    db = tmp_path / "p.db"
    with serve_in_thread(qs.app) as q, serve_in_thread(pv.app) as p:
        config = make_config(q.url, p.url, f"sqlite:///{db}")
        hub = Hub.open(config, url=f"sqlite:///{db}")
        try:
            hub.sync()
            hub.build_reports(PERIOD)
            pv.fail("503", times=2)
            hub.dispatch()
            assert hub.status()["platforms"]["provincial"]["sent"] == 13  # it really worked
            print(hub.platforms()["provincial"].platform.config)  # repr of a config
            print(repr(hub.adapter("qisheng-lc").config))
        finally:
            hub.close()
    out = capsys.readouterr()
    everything = caplog.text + out.out + out.err
    blobs = b"".join(f.read_bytes() for f in tmp_path.iterdir() if f.name.startswith("p.db"))
    for secret in (QS_SECRET, PV_SECRET):
        assert secret not in everything
        assert secret.encode() not in blobs


def test_a_literal_secret_in_the_config_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_config("http://127.0.0.1:1", "http://127.0.0.1:2", "sqlite://")
    data = config.model_dump(mode="json")
    data["platforms"][0]["config"]["app_secret"] = PV_SECRET
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert "env:NAME" in str(err.value) and PV_SECRET not in str(err.value)


def test_missing_environment_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_SECRET_VAR", raising=False)
    with pytest.raises(ValueError, match="NO_SUCH_SECRET_VAR"):
        resolve_secret("env:NO_SUCH_SECRET_VAR")


def test_secrets_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "secrets.env"
    f.write_text("# parkhub secrets\nPROVINCIAL_APP_SECRET = 'abc123'\n", encoding="utf-8")
    monkeypatch.setenv("PARKHUB_SECRETS_FILE", str(f))
    assert resolve_secret("file:PROVINCIAL_APP_SECRET").get_secret_value() == "abc123"
    with pytest.raises(ValueError, match="no key OTHER"):
        resolve_secret("file:OTHER")


def test_cli_check_does_not_print_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARKHUB_DEMO_PROVINCIAL_SECRET", PV_SECRET)
    import yaml

    config = make_config("http://127.0.0.1:1", "http://127.0.0.1:2", "sqlite://")
    path = tmp_path / "parkhub.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json"), allow_unicode=True))
    result = CliRunner().invoke(app, ["check", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert PV_SECRET not in result.output
