"""Engines: SQLite in WAL mode by default, PostgreSQL by URL; migrations through Alembic."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

DEFAULT_URL = "sqlite:///var/parkhub.db"


def database_url(configured: str | None = None) -> str:
    """PARKHUB_DATABASE_URL wins over the config file, which wins over the embedded default."""
    return os.environ.get("PARKHUB_DATABASE_URL") or configured or DEFAULT_URL


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Take transactions into our own hands: pysqlite's implicit BEGIN would defer the write lock.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL mode
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-262144")  # 256 MiB: the unique index is the main cost
    # Checkpoint every 64 MiB of WAL, not every 4 MiB: a page written by many transactions
    # (the scattered leaves of the (kind, key) index) is copied to the database once per
    # checkpoint, and the WAL file is rewritten in place rather than grown (docs/performance.md).
    cur.execute("PRAGMA wal_autocheckpoint=16384")
    cur.execute("PRAGMA journal_size_limit=67108864")  # ... and truncated back to 64 MiB
    cur.execute("PRAGMA temp_store=MEMORY")  # RETURNING's row buffer and sorts
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    # One writer at a time, decided at BEGIN: claims can never race or deadlock on lock upgrade.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(files("parkhub.store") / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema to `revision` (idempotent)."""
    command.upgrade(alembic_config(engine), revision)
