"""A reviewer's decisions on held records: approve (stored and routed as it came), correct
(stored with the reviewer's values) or reject (never stored). Each decision is one transaction
with the record, its outbox rows and an audit entry naming who and when.

An approved or corrected record is laid over what is stored now by survivorship, as it would
have been on arrival: data that came meanwhile from a source of higher precedence stands. A
correction's fields belong to the reviewer (`review:<user>`, above every source).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from parkhub.canonical import RECORD_TYPES, Record
from parkhub.errors import ParkhubError
from parkhub.store import HoldStatus, hold_doc

from .service import IngestService
from .survivorship import REVIEW_PREFIX, Merged


class ReviewError(ParkhubError):
    """A decision that cannot be made (the hold no longer waits, a corrected value is bad);
    the message is for the reviewer, in Chinese and English."""


@dataclass(frozen=True, slots=True)
class Decision:
    hold_id: int
    status: HoldStatus
    revision: int | None = None
    deliveries: int = 0


class Reviewing:
    def __init__(self, ingest: IngestService) -> None:
        self.ingest = ingest
        self.store = ingest.store

    def approve(self, hold_id: int, *, actor: str, note: str | None = None) -> Decision:
        """Store the held record as it came; route it."""
        row = self._waiting(hold_id)
        record = _record(row["kind"], hold_doc(row, "incoming"))
        merged = self._merge(record, row["source"])
        return self._store(row, merged, row["source"], HoldStatus.APPROVED, actor, note, {})

    def correct(
        self,
        hold_id: int,
        values: Mapping[str, Any],
        *,
        actor: str,
        note: str | None = None,
    ) -> Decision:
        """Store the held record with `values` (canonical fields and units; None clears a
        field) in place of what came; route it."""
        row = self._waiting(hold_id)
        cls = RECORD_TYPES[row["kind"]]
        unknown = [name for name in values if name not in cls.model_fields]
        if unknown:
            raise ReviewError(f"没有这个字段 (no such field): {', '.join(unknown)}")
        incoming = _record(row["kind"], hold_doc(row, "incoming"))
        doc = {**incoming.document(), **values}
        corrected = _record(row["kind"], {k: v for k, v in doc.items() if v is not None})
        if (corrected.key, corrected.park_id) != (incoming.key, incoming.park_id):
            raise ReviewError("更正不能改变记录的标识或园区 (a correction keeps the record's key)")
        reviewer = (REVIEW_PREFIX + actor)[:64]
        merged = self._merge(incoming, row["source"], corrected, reviewer, set(values))
        changes = {k: {"from": incoming.document().get(k), "to": v} for k, v in values.items()}
        return self._store(row, merged, reviewer, HoldStatus.CORRECTED, actor, note, changes)

    def reject(self, hold_id: int, *, actor: str, note: str | None = None) -> Decision:
        """Never store the held record; it stays in the hold, rejected, with who and when."""
        row = self._waiting(hold_id)
        with self.store.begin() as conn:
            if not self.store.reviews.decide(
                conn, hold_id, HoldStatus.REJECTED, actor=actor, note=note, revision=None
            ):
                raise _gone(hold_id)
            self.store.audit.add(conn, actor, "review_reject", _detail(row, note))
        return Decision(hold_id, HoldStatus.REJECTED)

    def _waiting(self, hold_id: int) -> dict[str, Any]:
        row = self.store.reviews.hold(hold_id)
        if row is None:
            raise ReviewError(f"没有这条待审核记录 (no held record {hold_id})")
        if row["status"] != HoldStatus.WAITING:
            raise _gone(hold_id, row["status"])
        return row

    def _merge(
        self,
        record: Record,
        source: str,
        corrected: Record | None = None,
        reviewer: str = "",
        fields: set[str] | None = None,
    ) -> Merged:
        survivorship = self.ingest.screen.survivorship
        if survivorship is None:
            return Merged(records=[corrected or record])
        memo: dict[Any, Any] = {}
        merged = survivorship.merge([record], source, memo)
        precedence = survivorship.policy.precedence(record.park_id, record.kind)
        if corrected is None or precedence is None:
            return merged if corrected is None else Merged(records=[corrected])
        out = Merged(provenance=merged.provenance)
        prev = memo[(record.kind, record.key)]
        final, _ = survivorship.merge_one(
            prev, corrected, reviewer, precedence, out, carried=fields
        )
        out.records = [final]
        return out

    def _store(
        self,
        row: dict[str, Any],
        merged: Merged,
        source: str,
        status: HoldStatus,
        actor: str,
        note: str | None,
        changes: dict[str, Any],
    ) -> Decision:
        store = self.store
        [record] = merged.records
        with store.begin() as conn:
            up = store.writer.upsert(
                conn, [record], source=source, raw_id=row["raw_id"], routes=self.ingest.routes
            )
            store.provenance.write(conn, merged.provenance.values())
            revision = store.records.revision(conn, record.kind, record.key)
            if not store.reviews.decide(
                conn, row["id"], status, actor=actor, note=note, revision=revision
            ):
                raise _gone(row["id"])  # decided meanwhile: nothing of this is kept
            detail = {**_detail(row, note), "revision": revision, "changes": changes or None}
            store.audit.add(conn, actor, f"review_{status}", detail)
        if up.deliveries:
            self.ingest.announce_queued()
        return Decision(row["id"], status, revision, up.deliveries)


def _record(kind: str, doc: dict[str, Any]) -> Record:
    try:
        return RECORD_TYPES[kind].model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ReviewError(f"{where}: {err['msg']} (value {err.get('input')!r})") from None


def _gone(hold_id: int, status: str | None = None) -> ReviewError:
    now = f"（现为 {status}）" if status else ""
    return ReviewError(
        f"记录 {hold_id} 已不在待审核状态{now}，可能已被他人处理或被更新的数据取代 "
        f"(hold {hold_id} no longer waits: decided by someone else, or superseded)"
    )


def _detail(row: dict[str, Any], note: str | None) -> dict[str, Any]:
    return {
        "hold_id": row["id"],
        "park_id": row["park_id"],
        "kind": row["kind"],
        "key": row["key"],
        "source": row["source"],
        "note": note,
    }
