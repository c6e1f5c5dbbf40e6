"""The console on the demo's data (`parkhub demo --serve`): both parks, a demo account reset on
every run."""

from __future__ import annotations

import httpx

from parkhub.sandbox.server import serve_in_thread
from parkhub.web.console import demo_account
from parkhub.web.demo import demo_console_app
from tests.web.console.support import ConsoleEnv, Web


def test_demo_console_serves_the_demo_data(sqlite_env: ConsoleEnv) -> None:
    app, username, password = demo_console_app(sqlite_env.hub)
    assert username == "demo" and len(password) >= 12
    with serve_in_thread(app) as server:
        web = Web(server.url)
        try:
            assert web.login("demo", password).status_code == 303
            home = web.get("/console/")
            assert home.status_code == 200 and "瓯海眼镜小微企业园" in home.text  # both parks
            assert web.get("/console/parks/p1").status_code == 200
        finally:
            web.close()
        _, again = demo_account(sqlite_env.hub)  # a second run resets the password
        assert again != password
        r = httpx.post(f"{server.url}/console/login", data={"username": "demo"})
        assert r.status_code == 403  # no sign-in nonce
