"""What every writer takes and gives back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Connection

from parkhub.canonical import Record
from parkhub.canonical.models import TIME_SERIES_KEYS
from parkhub.errors import InputError
from parkhub.store.reviews import Review
from parkhub.store.routes import RouteTable
from parkhub.store.status import RawStatus

T = TypeVar("T")


class RawLike(Protocol):
    """A raw message as the adapters make it (parkhub.adapters.vendors.base.RawMessage)."""

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


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One message to store: what was received, what parsing made of it, and the cursor to
    move with it (None for pushes). `tag` comes back with its result. `review`: what the
    quality rules and survivorship decided beside the records (findings, records held back,
    field sources), stored in the message's transaction; `records` holds only those that
    pass."""

    raw: RawLike
    records: Sequence[Record]
    errors: Sequence[InputError]
    cursor: tuple[str, str | None] | None
    tag: T
    review: Review | None = None

    @property
    def record_count(self) -> int:
        """Records the message gave: stored, and held back for review."""
        return len(self.records) + (len(self.review.held) if self.review else 0)


@dataclass(slots=True)
class UpsertResult:
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deliveries: int = 0


@dataclass(frozen=True, slots=True)
class Written:
    """What became of one message, once its transaction committed."""

    raw_id: int
    duplicate: bool
    status: RawStatus
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deliveries: int = 0


class PageSink(Protocol[T]):
    """Takes messages one by one; gives back (tag, result) of each once it is committed."""

    def send(self, page: Page[T]) -> Iterator[tuple[T, Written]]: ...
    def finish(self) -> Iterator[tuple[T, Written]]: ...


class Writer(Protocol):
    def upsert(
        self,
        conn: Connection,
        records: Sequence[Record],
        *,
        source: str,
        raw_id: int | None,
        routes: RouteTable,
    ) -> UpsertResult:
        """Store records by natural key; an unchanged record (same content hash) touches
        nothing, so the same input twice gives no new revision and no new delivery."""
        ...

    def pages(self, routes: RouteTable) -> AbstractContextManager[PageSink[Any]]:
        """A sink for a stream of messages. Leaving it normally (or by GeneratorExit, a reader
        that stopped) commits what was sent; leaving it by an error stores nothing that was
        not reported."""
        ...


def latest(records: Sequence[Record]) -> dict[tuple[str, str], Record]:
    """The records of a batch by (kind, key); the last one wins."""
    out: dict[tuple[str, str], Record] = {}
    for rec in records:
        out[(rec.kind, rec.key)] = rec
    return out


_HAS_TS: dict[type[Record], bool] = {}  # record class -> has an event time (a `ts` field)


def event_time(rec: Record) -> dt.datetime | None:
    """The `ts` column of a record: its event time (events), without pydantic's slow
    missing-attribute path. Time-series kinds (TIME_SERIES_KEYS) have theirs at the head of
    their key, which is what period queries read: the column stays empty for them."""
    if rec.kind in TIME_SERIES_KEYS:
        return None
    cls = type(rec)
    has_ts = _HAS_TS.get(cls)
    if has_ts is None:
        has_ts = _HAS_TS[cls] = "ts" in cls.model_fields
    return getattr(rec, "ts") if has_ts else None  # noqa: B009
