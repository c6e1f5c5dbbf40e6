"""PostgreSQL: store a stream of raw messages while the next one is being parsed.

`Hub.ingest` waits for the server at every step of a message's transaction, and the server
waits while the hub parses the next message: on two cores each side idles half the time. The
writer here sends a message's whole transaction (BEGIN, the raw message with its records and
outbox rows in one statement, the cursor, COMMIT) in psycopg's pipeline mode and returns at
once; the caller parses the next message while the server stores this one, and the outcome is
read when the next message is sent (or at `finish`). Every message is still its own
transaction, committed before its outcome is reported, so a crash loses nothing that was
reported and leaves the cursor where the last committed message put it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from parkhub.canonical import Record, jsonutil
from parkhub.canonical.timeutil import utcnow
from parkhub.errors import InputError

if TYPE_CHECKING:
    from .store import RouteFn, Store

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Written:
    """What the server did with one message (read back after its COMMIT)."""

    raw_id: int
    duplicate: bool
    status: str
    new: int
    changed: int
    unchanged: int
    deliveries: int


class RawLike(Protocol):
    """A raw message as the adapters make it (parkhub.adapters.base.RawMessage)."""

    @property
    def source(self) -> str: ...
    @property
    def stream(self) -> str: ...
    @property
    def body(self) -> bytes: ...
    @property
    def content_type(self) -> str: ...
    @property
    def received_at(self) -> dt.datetime | None: ...
    @property
    def meta(self) -> Mapping[str, Any]: ...


def raw_status(records: int, errors: Sequence[InputError]) -> str:
    """parsed, partial (some records failed) or rejected (nothing usable)."""
    if errors:
        return "partial" if records else "rejected"
    return "parsed"


class PipelinedWriter(Generic[T]):
    """Sends each message's transaction without waiting; reports outcomes one message later.

    Use as a context manager: leaving it reads the last outcome (`finish`) or, on an error,
    drops the connection, which rolls back whatever transaction the server had open.
    """

    def __init__(self, store: Store, routes: RouteFn) -> None:
        from .store import _PG_INGEST, _pg_write_params

        self._sql = _PG_INGEST
        self._params = _pg_write_params
        self._cursor_sql = store._sql["set_cursor"]
        self._raw_id_sql = store._sql["raw_id"]
        self._routes = routes
        self._fairy = store.engine.raw_connection()
        self._conn: Any = self._fairy.driver_connection
        assert self._conn is not None
        self._conn.autocommit = True  # each message's BEGIN ... COMMIT goes in the pipeline
        self._stack = ExitStack()
        self._pipeline = self._stack.enter_context(self._conn.pipeline())
        self._pending: tuple[Any, T, int, str, str, str] | None = None
        self._closed = False

    def send(
        self,
        raw: RawLike,
        records: Sequence[Record],
        errors: Sequence[InputError],
        *,
        cursor: tuple[str, str | None] | None,
        tag: T,
    ) -> list[tuple[T, Written]]:
        """Queue one message's transaction; returns the outcome of the one queued before."""
        # Everything is built before the message before is read back: a failure here leaves
        # that one pending (and reported by `finish`), and the server stores it meanwhile.
        source, body = raw.source, raw.body
        latest: dict[tuple[str, str], Record] = {}
        for rec in records:  # last one wins inside a message
            latest[(rec.kind, rec.key)] = rec
        status = raw_status(len(records), errors)
        digest = jsonutil.bytes_hash(body)
        now = utcnow()
        params = (
            source,
            raw.stream,
            raw.received_at or now,
            raw.content_type,
            body,
            digest,
            status,
            str(errors[0]) if errors else None,
            jsonutil.dumps_str([e.as_dict() for e in errors]) if errors else None,
            len(records),
            now,
            jsonutil.dumps_str(dict(raw.meta)) if raw.meta else None,
            *self._params(list(latest.items()), self._routes, source),
            source,
            digest,
        )
        done = self._confirm()
        conn = self._conn
        conn.execute("BEGIN")
        result = conn.cursor()
        result.execute(self._sql, params)
        if cursor is not None:
            conn.execute(self._cursor_sql, (source, cursor[0], cursor[1], now))
        conn.execute("COMMIT")
        self._pending = (result, tag, len(latest), status, source, digest)
        return done

    def _confirm(self) -> list[tuple[T, Written]]:
        if self._pending is None:
            return []
        result, tag, distinct, status, source, digest = self._pending
        self._pending = None
        self._pipeline.sync()  # waits for the COMMIT of the message sent before
        raw_id, duplicate, new, changed, deliveries = result.fetchone()
        if raw_id is None:
            # the same body was stored by a transaction that committed while this statement
            # waited on it: the statement's snapshot could not see that row, a new one can
            again = self._conn.execute(self._raw_id_sql, (source, digest))
            self._pipeline.sync()
            raw_id = again.fetchone()[0]
        return [
            (
                tag,
                Written(
                    raw_id=int(raw_id),
                    duplicate=bool(duplicate),
                    status=status,
                    new=new,
                    changed=changed,
                    unchanged=0 if duplicate else distinct - new - changed,
                    deliveries=deliveries,
                ),
            )
        ]

    def finish(self) -> list[tuple[T, Written]]:
        """Read the last outcome and give the connection back."""
        done = self._confirm()
        self._close()
        return done

    def _close(self) -> None:
        if self._closed:
            return
        try:
            self._stack.close()  # leaves pipeline mode
            self._conn.autocommit = False
        except BaseException:
            self.abort()  # never back to the pool in autocommit or pipeline mode
            raise
        self._closed = True
        self._fairy.close()

    def abort(self) -> None:
        """Drop the connection: the server rolls back the transaction it had open."""
        if self._closed:
            return
        self._closed = True
        self._stack.pop_all()  # the pipeline goes with the connection, not through a sync
        self._fairy.invalidate()

    def __enter__(self) -> PipelinedWriter[T]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None or issubclass(exc_type, GeneratorExit):
            # done, or the reader stopped early: what was sent is committed and read back
            try:
                self.finish()
            except BaseException:
                self.abort()
                if exc_type is None:
                    raise
                log.warning("storing the last message of a stopped pull failed", exc_info=True)
        else:  # a statement failed (or we cannot tell): the open transaction must not commit
            self.abort()
