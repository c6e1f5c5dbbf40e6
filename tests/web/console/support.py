"""Helpers of the console tests: two parks, three accounts, a browser-like client."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

import httpx
from stdnum.cn import uscc

from parkhub.config import HubConfig, parse_config
from parkhub.hub import Hub
from parkhub.sandbox.provincial_sim import ProvincialSim
from parkhub.sandbox.server import ServerHandle
from parkhub.store.accounts import Accounts

P1, P2 = "p1", "p2"
PERIOD = "2026-10"
PARK_NAMES = {P1: "鹿城智造小微企业园", P2: "瓯海眼镜小微企业园"}
PASSWORDS = {"alice": "alice-pass-2026", "bob": "bob-pass-20261", "root": "root-pass-20261"}
SECRET_KEY = "console-test-secret-key-0123456789"
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')


def credit_code(n: int) -> str:
    base = f"9133030257{n:07d}"
    return base + str(uscc.calc_check_digit(base))


ENTERPRISES = {
    P1: [(credit_code(1), "温州恒达鞋业有限公司"), (credit_code(2), "温州瓯江电气有限公司")],
    P2: [(credit_code(11), "温州明视眼镜有限公司")],
}


def console_config(provincial_url: str, db_url: str) -> HubConfig:
    return parse_config(
        {
            "database_url": db_url,
            "parks": [
                {
                    "id": P1,
                    "name": PARK_NAMES[P1],
                    "division_code": "330302",
                    "land_area_m2": 86000,
                    "floor_area_m2": 152000,
                },
                {"id": P2, "name": PARK_NAMES[P2], "division_code": "330304"},
            ],
            "platforms": [
                {
                    "name": "provincial",
                    "type": "provincial",
                    "config": {
                        "base_url": provincial_url,
                        "app_key": "demo-key",
                        "app_secret": "env:PARKHUB_TEST_PROVINCIAL_SECRET",
                        "timeout_seconds": 5,
                    },
                    "reports": ["park_monthly", "enterprise_roster"],
                    "retry": {
                        "short_retries": 0,
                        "short_wait_seconds": 0,
                        "base_seconds": 1,
                        "max_backoff_seconds": 2,
                        "max_attempts": 2,
                    },
                }
            ],
        },
        origin="console-test",
    )


def roster_csv(rows: list[tuple[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["统一社会信用代码", "企业名称", "状态"])
    for code, name in rows:
        writer.writerow([code, name, "在园"])
    return buffer.getvalue().encode()


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "no CSRF token in the page"
    return found.group(1)


class Web:
    """A browser-like httpx client: cookies kept, redirects not followed (tests look at them)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.client = httpx.Client(base_url=base_url, follow_redirects=False, timeout=20)

    def close(self) -> None:
        self.client.close()

    def login(self, username: str, password: str | None = None) -> httpx.Response:
        page = self.client.get("/console/login")
        assert page.status_code == 200
        return self.client.post(
            "/console/login",
            data={
                "username": username,
                "password": password if password is not None else PASSWORDS[username],
                "csrf_token": csrf_of(page.text),
                "next": "/console/",
            },
        )

    def csrf(self, path: str = "/console/account") -> str:
        page = self.client.get(path)
        assert page.status_code == 200, page.text
        return csrf_of(page.text)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.get(path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.client.post(path, **kw)


@dataclass
class ConsoleEnv:
    hub: Hub
    server: ServerHandle
    provincial: ProvincialSim
    accounts: Accounts
    clients: list[Web]

    @property
    def url(self) -> str:
        return self.server.url

    def web(self, username: str | None = None) -> Web:
        web = Web(self.url)
        self.clients.append(web)
        if username is not None:
            r = web.login(username)
            assert r.status_code == 303, r.text
        return web

    def kill_deliveries(self) -> list[dict[str, Any]]:
        """Every pending delivery dies on a business error (permanent): dead at once."""
        self.provincial.fail("business", times=1000)
        self.hub.dispatch()
        self.provincial.faults.clear()
        return self.hub.store.outbox.deliveries(status=["dead"])
