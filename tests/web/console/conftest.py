"""The console's fixtures: two parks, a provincial sandbox, three accounts, a real server."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from argon2 import PasswordHasher

from parkhub.hub import Hub
from parkhub.sandbox.provincial_sim import ProvincialSim
from parkhub.sandbox.server import ServerHandle, serve_in_thread
from parkhub.web.app import create_app
from tests.web.console.support import (
    ENTERPRISES,
    P1,
    P2,
    PASSWORDS,
    SECRET_KEY,
    ConsoleEnv,
    console_config,
    roster_csv,
)


@pytest.fixture
def make_env(
    provincial: tuple[ProvincialSim, ServerHandle],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[[str], ConsoleEnv]]:
    monkeypatch.setenv("PARKHUB_TEST_PROVINCIAL_SECRET", "demo-secret")
    # argon2id still, with test-sized cost (the defaults take 0.1 s a hash).
    monkeypatch.setattr(
        "parkhub.store.accounts.default_hasher",
        lambda: PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
    )
    made: list[ConsoleEnv] = []

    def make(db_url: str) -> ConsoleEnv:
        hub = Hub.open(console_config(provincial[1].url, db_url), url=db_url)
        for park, rows in ENTERPRISES.items():
            hub.import_entry(
                roster_csv(rows), park, filename="名录.csv", stream="enterprise_roster"
            )
        accounts = hub.store.accounts
        accounts.create_user("alice", PASSWORDS["alice"], parks=[P1], display_name="张丽")
        accounts.create_user("bob", PASSWORDS["bob"], parks=[P2])
        accounts.create_user("root", PASSWORDS["root"], role="admin")
        app = create_app(hub, console_secret=SECRET_KEY)
        env = ConsoleEnv(hub, serve_in_thread(app), provincial[0], accounts, [])
        made.append(env)
        return env

    yield make
    for env in made:
        for web in env.clients:
            web.close()
        env.server.stop()
        env.hub.close()


@pytest.fixture
def env(make_env: Callable[[str], ConsoleEnv], db_url: str) -> ConsoleEnv:
    """On SQLite and PostgreSQL."""
    return make_env(db_url)


@pytest.fixture
def sqlite_env(make_env: Callable[[str], ConsoleEnv], sqlite_url: str) -> ConsoleEnv:
    """On SQLite only (pages whose queries the PostgreSQL runs already cover)."""
    return make_env(sqlite_url)


def pytest_configure(config: pytest.Config) -> None:
    # Also to add to pyproject's markers; registered here so --strict-markers accepts it.
    config.addinivalue_line(
        "markers", "browser: end-to-end test in headless Chromium (skips locally without it)"
    )
