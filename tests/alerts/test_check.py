"""Alerts to the parks' WeCom and (signed) DingTalk robots: once per problem, retried when refused,
secrets never logged (sandbox robot on 127.0.0.1; SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from parkhub.alerts import dingtalk_sign, redact
from parkhub.canonical.timeutil import UTC
from parkhub.config import AlertsConfig
from parkhub.sandbox.robot_sim import RobotSim
from parkhub.sandbox.server import ServerHandle, serve_in_thread
from parkhub.store.alerts import alerts
from tests.web.console.support import P1, ConsoleEnv, credit_code, roster_csv

WECOM_KEY = "wecom-key-5f1c"
DING_TOKEN = "ding-token-93ab"
DING_SECRET = "SEC0123456789abcdef"


@pytest.fixture
def robot(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[RobotSim, ServerHandle]]:
    sim = RobotSim(wecom_key=WECOM_KEY, dingtalk_token=DING_TOKEN, dingtalk_secret=DING_SECRET)
    with serve_in_thread(sim.app) as handle:
        monkeypatch.setenv("T_WECOM", f"{handle.url}/cgi-bin/webhook/send?key={WECOM_KEY}")
        monkeypatch.setenv("T_DING", f"{handle.url}/robot/send?access_token={DING_TOKEN}")
        monkeypatch.setenv("T_DING_SECRET", DING_SECRET)
        monkeypatch.setenv("T_DING_WRONG", "SECnot-the-secret")
        yield sim, handle


def settings(**park: Any) -> AlertsConfig:
    robots = {
        "wecom_webhook": "env:T_WECOM",
        "dingtalk_webhook": "env:T_DING",
        "dingtalk_secret": "env:T_DING_SECRET",
    }
    return AlertsConfig.model_validate(
        {"console_url": "http://127.0.0.1:8000", "parks": {P1: {**robots, **park}}}
    )


def test_dead_deliveries_are_notified_once_per_problem(
    env: ConsoleEnv, robot: tuple[RobotSim, ServerHandle], caplog: pytest.LogCaptureFixture
) -> None:
    sim, _ = robot
    caplog.set_level(logging.DEBUG)
    config = settings(deadlines=False)
    env.kill_deliveries()
    first = env.hub.alerts.check(config)
    assert sorted((r.channel, r.sent, len(r.problems)) for r in first) == [
        ("dingtalk", True, 2),
        ("wecom", True, 2),
    ]
    [wecom] = sim.by_channel("wecom")
    [ding] = sim.by_channel("dingtalk")
    assert "2 条投递失败" in wecom.text and credit_code(1) in wecom.text
    assert "园区编码不存在" in wecom.text and "/console/" in wecom.text
    assert ding.body["markdown"]["title"].startswith("parkhub 告警：鹿城智造小微企业园")
    assert sim.refused == []  # the DingTalk signature was right

    assert env.hub.alerts.check(config) == []  # nothing new: nothing sent
    assert len(sim.messages) == 2

    # A new problem: one message per robot, with only the new problem in it.
    env.hub.import_entry(
        roster_csv([(credit_code(3), "温州新来科技有限公司")]), P1, filename="r.csv"
    )
    env.kill_deliveries()
    sim.fail(2)  # both robots refuse once (HTTP 500): tried again at the next check
    failed = env.hub.alerts.check(config)
    assert [r.sent for r in failed] == [False, False] and all("HTTP 500" in (r.error or "")
                                                              for r in failed)  # fmt: skip
    again = env.hub.alerts.check(config)
    assert [(r.sent, len(r.problems)) for r in again] == [(True, 1), (True, 1)]
    new = sim.messages[2:]
    assert len(new) == 2 and all(credit_code(3) in m.text for m in new)
    assert not any(credit_code(1) in m.text for m in new)
    assert env.hub.alerts.check(config) == []

    with env.hub.store.engine.connect() as conn:
        rows = conn.execute(select(alerts)).all()
    assert {r.status for r in rows} == {"sent"} and len(rows) == 6  # 3 problems x 2 robots
    stored = " ".join(f"{r.summary} {r.last_error}" for r in rows)
    logged = caplog.text
    for secret in (WECOM_KEY, DING_TOKEN, DING_SECRET):
        assert secret not in logged and secret not in stored
    assert "key=***" in logged  # httpx's request log line, redacted


def test_wrong_dingtalk_secret_is_refused_and_given_up(
    env: ConsoleEnv, robot: tuple[RobotSim, ServerHandle]
) -> None:
    sim, _ = robot
    config = AlertsConfig.model_validate(
        {
            "max_attempts": 2,
            "parks": {
                P1: {
                    "dingtalk_webhook": "env:T_DING",
                    "dingtalk_secret": "env:T_DING_WRONG",
                    "deadlines": False,
                }
            },
        }
    )
    env.kill_deliveries()
    [r] = env.hub.alerts.check(config)
    assert not r.sent and "310000" in (r.error or "")
    assert sim.refused == [("dingtalk", "sign not match")]
    [r] = env.hub.alerts.check(config)
    assert not r.sent
    assert env.hub.alerts.check(config) == []  # gave up after max_attempts
    with env.hub.store.engine.connect() as conn:
        assert {row.status for row in conn.execute(select(alerts))} == {"failed"}
    assert sim.messages == []


def test_deadlines_at_risk_then_late_are_notified_once_each(
    sqlite_env: ConsoleEnv, robot: tuple[RobotSim, ServerHandle]
) -> None:
    sim, _ = robot
    config = settings(dead_deliveries=False, dingtalk_webhook=None, dingtalk_secret=None)
    at_risk = dt.datetime(2026, 12, 8, 2, 0, tzinfo=UTC)  # 2026-11 is due 2026-12-10
    [r] = sqlite_env.hub.alerts.check(config, now=at_risk)
    assert (
        r.sent
        and r.channel == "wecom"
        and r.problems == ["deadline:provincial:park_monthly:2026-11:at_risk"]
    )
    [message] = sim.messages
    assert "临近截止" in message.text and "2026-12-10 23:59" in message.text
    assert "缺 2 家企业数据" in message.text and "温州恒达鞋业有限公司" in message.text
    assert sqlite_env.hub.alerts.check(config, now=at_risk + dt.timedelta(hours=5)) == []
    late = dt.datetime(2026, 12, 11, 2, 0, tzinfo=UTC)
    [r] = sqlite_env.hub.alerts.check(config, now=late)
    assert r.sent and "已逾期" in sim.messages[1].text
    assert sqlite_env.hub.alerts.check(config, now=late) == []


def test_parks_without_robots_and_disabled_alerts_send_nothing(
    sqlite_env: ConsoleEnv, robot: tuple[RobotSim, ServerHandle]
) -> None:
    sim, _ = robot
    sqlite_env.kill_deliveries()
    assert sqlite_env.hub.alerts.check(AlertsConfig()) == []
    off = AlertsConfig.model_validate({"enabled": False, "parks": settings().model_dump()["parks"]})
    assert sqlite_env.hub.alerts.check(off) == []
    assert sqlite_env.hub.alerts.check() == []  # no alerts: in the hub config (yet)
    assert sim.messages == []


def test_settings_refuse_literal_secrets_and_lone_dingtalk_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("T_DING_SECRET", DING_SECRET)
    with pytest.raises(ValueError, match="env:NAME"):
        AlertsConfig.model_validate({"parks": {P1: {"wecom_webhook": "https://x/?key=abc"}}})
    with pytest.raises(ValueError, match="dingtalk_secret needs dingtalk_webhook"):
        AlertsConfig.model_validate({"parks": {P1: {"dingtalk_secret": "env:T_DING_SECRET"}}})


def test_dingtalk_signature_and_redaction() -> None:
    # The example of DingTalk's documentation style: base64 HMAC-SHA256, then URL-encoded.
    import base64
    import hashlib
    import hmac
    import urllib.parse

    ts = 1700000000000
    mac = hmac.new(b"SECx", f"{ts}\nSECx".encode(), hashlib.sha256).digest()
    assert dingtalk_sign("SECx", ts) == urllib.parse.quote_plus(base64.b64encode(mac).decode())
    assert redact("https://h/send?key=abc&x=1") == "https://h/send?key=***&x=1"
    assert redact("/robot/send?access_token=t&timestamp=1&sign=s") == (
        "/robot/send?access_token=***&timestamp=1&sign=***"
    )
