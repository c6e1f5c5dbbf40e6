"""The reporting ledger (报送台账): what went to whom, when, with which receipt; filtered by
platform, report, period, enterprise and time, a page at a time, or whole for an export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select

from . import schema as t
from .db import Database
from .status import DeliveryStatus as S

COLUMNS = (
    "id", "park_id", "platform", "report", "record_kind", "record_key", "revision", "correction",
    "status", "attempts", "receipt_id", "sent_at", "updated_at", "last_error",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class LedgerFilter:
    """Which deliveries the ledger shows; every field given must match.

    `period` (YYYY-MM) takes the records of that period: monthly records (keys ending in
    `|YYYY-MM`) and readings and events of the month (keys starting with it, UTC).
    `enterprise` (a credit code) takes its roster record and its monthly figures. `since` /
    `until` bound when the delivery was sent (or last tried, for one not sent)."""

    park_ids: Sequence[str] | None = None
    platform: str | None = None
    report: str | None = None
    period: str | None = None
    enterprise: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    statuses: Sequence[str] | None = (S.SENT,)
    """None: every status."""

    def where(self) -> list[Any]:
        d = t.deliveries.c
        conds: list[Any] = []
        if self.park_ids is not None:
            conds.append(d.park_id.in_(list(self.park_ids)))
        if self.platform:
            conds.append(d.platform == self.platform)
        if self.report:
            conds.append(d.report == self.report)
        if self.period:
            conds.append(
                or_(
                    d.record_key.endswith(f"|{self.period}", autoescape=True),
                    d.record_key.startswith(self.period, autoescape=True),
                )
            )
        if self.enterprise:
            conds.append(
                or_(
                    d.record_key == self.enterprise,
                    d.record_key.startswith(f"{self.enterprise}|", autoescape=True),
                )
            )
        when = func.coalesce(d.sent_at, d.updated_at)
        if self.since:
            conds.append(when >= self.since)
        if self.until:
            conds.append(when < self.until)
        if self.statuses:
            conds.append(d.status.in_([str(s) for s in self.statuses]))
        return conds


class Ledger:
    def __init__(self, db: Database) -> None:
        self.db = db

    def page(
        self, where: LedgerFilter, *, offset: int = 0, limit: int = 50
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of the ledger, newest first, and how many rows match in all."""
        d = t.deliveries.c
        conds = where.where()
        q = (
            select(*(d[c] for c in COLUMNS))
            .where(*conds)
            .order_by(func.coalesce(d.sent_at, d.updated_at).desc(), d.id.desc())
            .offset(offset)
            .limit(limit)
        )
        with self.db.connect() as conn:
            total = int(
                conn.execute(
                    select(func.count()).select_from(t.deliveries).where(*conds)
                ).scalar_one()
            )
            rows = [dict(r._mapping) for r in conn.execute(q)]
        return rows, total

    def rows(self, where: LedgerFilter, *, limit: int = 100_000) -> list[dict[str, Any]]:
        """Every matching row (up to `limit`), newest first: for an export."""
        return self.page(where, limit=limit)[0]

    def choices(self, park_ids: Sequence[str]) -> dict[str, list[str]]:
        """The platforms and reports these parks' deliveries went to (the filters' options)."""
        d = t.deliveries.c
        q = (
            select(d.platform, d.report)
            .where(d.park_id.in_(list(park_ids)))
            .group_by(d.platform, d.report)
        )
        with self.db.connect() as conn:
            pairs = conn.execute(q).all()
        return {
            "platforms": sorted({p for p, _ in pairs}),
            "reports": sorted({r for _, r in pairs}),
        }
