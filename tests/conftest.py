"""Shared fixtures: databases (SQLite and PostgreSQL), loopback simulators, and a wired hub."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from parkhub.hub import Hub
from parkhub.sandbox.provincial_sim import ProvincialSim
from parkhub.sandbox.qisheng_sim import QishengSim
from parkhub.sandbox.server import ServerHandle, serve_in_thread
from parkhub.store import Store
from tests.helpers import PERIOD, make_config

PG_ENV = "PARKHUB_TEST_POSTGRES_URL"


def _pg_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {PG_ENV} is not set: PostgreSQL tests must run in CI")
        pytest.skip(f"PostgreSQL not configured (set {PG_ENV})")
    return url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    base = _pg_url()
    assert base is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run the test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'parkhub.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'parkhub.db'}"


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store.open(db_url)
    yield s
    s.close()


@pytest.fixture
def qisheng() -> Iterator[tuple[QishengSim, ServerHandle]]:
    sim = QishengSim(period=PERIOD)
    with serve_in_thread(sim.app) as handle:
        yield sim, handle


@pytest.fixture
def provincial() -> Iterator[tuple[ProvincialSim, ServerHandle]]:
    sim = ProvincialSim()
    with serve_in_thread(sim.app) as handle:
        yield sim, handle


@pytest.fixture
def hub(
    db_url: str,
    qisheng: tuple[QishengSim, ServerHandle],
    provincial: tuple[ProvincialSim, ServerHandle],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Hub]:
    # Freeze "last month" so the pull and the reports agree with the simulator's data.
    monkeypatch.setattr("parkhub.adapters.vendors.qisheng.previous_period", lambda now: PERIOD)
    config = make_config(qisheng[1].url, provincial[1].url, db_url)
    h = Hub.open(config, url=db_url)
    yield h
    h.close()
