"""The store: the only door to the database.

Its parts follow the flow: the raw `inbox` first, canonical `records` with revisions (and
the `provenance` of merged fields), quality findings and held records (`reviews`), the
delivery `outbox`, source `cursors`, the `audit` log, console `accounts` and park `alerts`;
one `writer` per dialect stores records and messages. Everything that must happen together
happens in one transaction (`begin`): records, their deliveries and the source cursor move as
one, so a crash anywhere loses nothing and duplicates nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from parkhub.errors import ConfigError

from .accounts import Accounts
from .alerts import AlertLog
from .audit import Audit
from .cursors import Cursors
from .db import Database, WalCheckpointer, make_engine, migrate, sqlite_file
from .inbox import Inbox
from .jobs import JobRuns
from .ledger import Ledger
from .limits import Limit, PlatformGate, reserve_one
from .outbox import Outbox
from .provenance import Provenances
from .records import Records
from .reviews import Reviews
from .writers import Writer
from .writers.postgres import PostgresWriter
from .writers.sqlite import SqliteWriter


class Store:
    """All database access of parkhub; one instance per process, safe to share across threads."""

    def __init__(self, engine: Engine) -> None:
        self.db = Database(engine)
        self.engine = engine
        self.dialect = self.db.dialect
        path = sqlite_file(engine)
        self._checkpointer = WalCheckpointer(path) if path else None
        self.inbox = Inbox(self.db)
        self.records = Records(self.db)
        self.cursors = Cursors(self.db)
        self.outbox = Outbox(self.db)
        self.ledger = Ledger(self.db)
        self.audit = Audit(self.db)
        self.accounts = Accounts(self.db)
        self.alerts = AlertLog(self.db)
        self.provenance = Provenances(self.db)
        self.reviews = Reviews(self.db, self.provenance)
        self.job_runs = JobRuns(self.db)
        self.writer: Writer = (
            SqliteWriter(self.db, self.inbox, self.cursors, self.reviews)
            if self.dialect == "sqlite"
            else PostgresWriter(self.db, self.reviews)
        )

    @classmethod
    def open(cls, url: str, *, migrate_schema: bool = True) -> Store:
        """The store of the database at `url`, its schema migrated. A URL that names no usable
        database is a ConfigError naming it (without its password), not a driver's traceback."""
        try:
            store = cls(make_engine(url))
        except (ArgumentError, NoSuchModuleError, OSError, ValueError) as exc:
            raise ConfigError(f"数据库地址无法使用 (database {_shown(url)}: {exc})") from None
        if migrate_schema:
            try:
                migrate(store.engine)
            except OperationalError as exc:
                store.close()
                raise ConfigError(
                    f"无法打开数据库 (cannot open the database {_shown(url)}: {exc.orig})"
                ) from None
            except BaseException:
                store.close()
                raise
        return store

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.engine.dispose()

    def gate(self, platform: str, limit: Limit) -> PlatformGate:
        """The limit of `platform` for one claim (`outbox.claim(..., gate=...)`)."""
        return PlatformGate(self.db, platform, limit)

    def reserve_one(self, platform: str, limit: Limit) -> float:
        """Seconds to wait before one more request to `platform` (a quick retry)."""
        return reserve_one(self.db, platform, limit)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction for everything that must happen together."""
        with self.db.begin() as conn:
            yield conn


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return repr(url[:200])
