"""Engines: SQLite in WAL mode by default, PostgreSQL by URL; migrations through Alembic."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from .keys import IDEMPOTENCY_KEY_SQL, idempotency_key

DEFAULT_URL = "sqlite:///var/parkhub.db"
CHECKPOINT_EVERY = 0.1  # seconds between background WAL checkpoints while the WAL grows
CHECKPOINT_IDLE = 1.0  # ... and while it does not

LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL: lock_timeout passed

log = logging.getLogger(__name__)


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
    # A writer checkpoints itself only past 64 MiB of WAL: WalCheckpointer does it in the
    # background long before, so no commit waits for the copy and fsync (docs/performance.md).
    cur.execute("PRAGMA wal_autocheckpoint=16384")
    cur.execute("PRAGMA journal_size_limit=67108864")  # ... and truncated back to 64 MiB
    cur.execute("PRAGMA temp_store=MEMORY")  # RETURNING's row buffer and sorts
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()
    # the outbox rows of an upsert are made by one INSERT ... SELECT (Store._upsert_sqlite)
    dbapi_conn.create_function(IDEMPOTENCY_KEY_SQL, 6, idempotency_key, deterministic=True)


def _sqlite_begin(conn: Any) -> None:
    # One writer at a time, decided at BEGIN: claims can never race or deadlock on lock upgrade.
    # Straight to the driver: SQLAlchemy's statement machinery cost ~40 us a transaction,
    # a sixth of a push's whole work.
    conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE")


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


class WalCheckpointer:
    """Copies the WAL into a SQLite database file from a thread of its own.

    A writer that reaches `wal_autocheckpoint` copies the whole WAL into the database and
    fsyncs it inside its own commit: one ingest transaction in sixty took 100-300 ms. A PASSIVE
    checkpoint here, on its own connection, runs beside the writers (it never blocks them and
    sqlite releases the GIL while it works), so the WAL stays short and commits stay ~2 ms. The
    writers' autocheckpoint stays on as the backstop.
    """

    def __init__(self, path: str, interval: float = CHECKPOINT_EVERY) -> None:
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=1000")
            wait, last = self.interval, None
            while not self._stop.wait(wait):
                # (busy, frames in the WAL, frames copied): small, frequent passes finish between
                # two commits, so the next writer starts the WAL over from its beginning
                state = tuple(conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
                wait, last = (self.interval if state != last else CHECKPOINT_IDLE), state
        except sqlite3.Error as exc:  # the writers' autocheckpoint carries on without us
            log.warning("background WAL checkpoints stopped: %s", exc)
        finally:
            if conn is not None:
                conn.close()

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(RuntimeError):
            self._thread.join(timeout=10)


def sqlite_file(engine: Engine) -> str | None:
    """The database file of a SQLite engine (None for PostgreSQL and in-memory databases)."""
    if engine.dialect.name != "sqlite":
        return None
    name = engine.url.database
    return name if name and name != ":memory:" and not name.startswith("file:") else None


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(files("parkhub.store") / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema to `revision` (idempotent)."""
    command.upgrade(alembic_config(engine), revision)


def lock_key(name: str) -> int:
    return int.from_bytes(
        hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True
    )


_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def sqlite_time(value: dt.datetime) -> str:
    """What UTCDateTime stores on SQLite: naive UTC text with microseconds."""
    if value.tzinfo is not dt.UTC:
        value = value.astimezone(dt.UTC)
    return value.isoformat(" ", "microseconds")[:26]


class Database:
    """An engine with what every part of the store shares: transactions, the driver's own
    cursor (for the statements of the hot paths), statements in the driver's parameter style,
    and times as the schema stores them."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._sql: dict[str, str] = {}

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction (SQLite: BEGIN IMMEDIATE, the write lock taken at once)."""
        with self.engine.begin() as conn:
            yield conn

    def connect(self) -> Connection:
        return self.engine.connect()

    def sql(self, statement: str) -> str:
        """`statement`, written with :named parameters, in the driver's style (PostgreSQL:
        %(named)s); converted once and cached."""
        out = self._sql.get(statement)
        if out is None:
            out = statement if self.dialect == "sqlite" else _NAMED.sub(r"%(\1)s", statement)
            self._sql[statement] = out
        return out

    @staticmethod
    def cursor(conn: Connection) -> Any:
        """A cursor of the driver connection under `conn`, inside the same transaction."""
        dbapi = conn.connection.dbapi_connection
        assert dbapi is not None
        return dbapi.cursor()

    def time(self, value: dt.datetime) -> Any:
        """A time for the driver's own statements (they skip SQLAlchemy's UTCDateTime)."""
        if self.dialect == "sqlite":
            return sqlite_time(value)
        return value if value.tzinfo is dt.UTC else value.astimezone(dt.UTC)

    @contextlib.contextmanager
    def leader_lock(self, name: str, *, wait: float = 0.0) -> Iterator[bool]:
        """Whether this process may run job `name` now: a PostgreSQL advisory lock held while
        the block runs, waiting up to `wait` seconds for another holder (always True on
        SQLite, one process). The server releases the lock of a worker that died."""
        if self.dialect != "postgresql":
            yield True
            return
        key = lock_key(name)
        with self.engine.connect() as conn:
            if wait > 0:
                got = _wait_for_lock(conn, key, wait)
            else:
                tried = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key})
                got = bool(tried.scalar())
            conn.commit()  # the session's lock outlives the transaction
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()


def _wait_for_lock(conn: Connection, key: int, wait: float) -> bool:
    conn.execute(text(f"SET LOCAL lock_timeout = {max(1, int(wait * 1000))}"))
    try:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        conn.rollback()
        return False
    return True
