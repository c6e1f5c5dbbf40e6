"""Migration 0006 (the attempt history) up and down, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect

from parkhub.store import Store
from parkhub.store.db import alembic_config, make_engine, migrate


def _tables(engine: object) -> set[str]:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        return set(inspect(conn).get_table_names())


def test_migration_0006_adds_and_removes_the_attempt_history(db_url: str) -> None:
    engine = make_engine(db_url)
    migrate(engine, "0005")
    assert "delivery_attempts" not in _tables(engine)
    migrate(engine, "head")
    assert "delivery_attempts" in _tables(engine)
    store = Store(engine)
    assert store.outbox.attempts(1) == []
    command.downgrade(alembic_config(engine), "0005")
    assert "delivery_attempts" not in _tables(engine)
    assert "deliveries" in _tables(engine)
    migrate(engine, "head")
    store.close()
