"""Findings, held records and field sources in the store: written with their message in one
transaction (also among a pull's pipelined pages), and migration 0007 up and down, on SQLite
and PostgreSQL."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from parkhub.adapters.vendors.base import ParseResult, RawMessage
from parkhub.store import HoldStatus, Store
from parkhub.store import schema as t
from parkhub.store.db import alembic_config
from tests.ingest.support import CODE, OTHER, config, make_park, monthly

TABLES = {"quality_findings", "quality_holds", "record_sources"}


def test_migration_0007_adds_and_drops_the_review_tables(store: Store) -> None:
    cfg = alembic_config(store.engine)
    command.downgrade(cfg, "0006_delivery_attempts")
    with store.engine.connect() as conn:
        assert not TABLES & set(inspect(conn).get_table_names())
    command.upgrade(cfg, "head")
    with store.engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) >= TABLES
        assert compare_metadata(MigrationContext.configure(conn), t.metadata) == []


class Pages:
    """An adapter whose messages are parsed to the records given for their body."""

    def __init__(self, records: dict[bytes, list[Any]]) -> None:
        self.records = records

    def parse_message(self, raw: RawMessage) -> ParseResult:
        return ParseResult(list(self.records[raw.body]))


def test_a_pulls_pages_keep_their_order_when_one_has_a_review(store: Store) -> None:
    """PostgreSQL pipelines a pull's pages; a page with findings is stored in its own
    transaction between them, with its raw message's id, and the cursor ends where the last
    page put it."""
    park = make_park(store, config())
    pages = {
        b"page 1": [monthly(CODE, "2026-09", revenue_yuan=1e6)],
        b"page 2": [monthly(OTHER, "2026-09", revenue_yuan=1e19)],  # held
        b"page 3": [monthly(CODE, "2026-10", revenue_yuan=1.1e6, tax_yuan=2e6)],  # warned
        b"page 4": [monthly(OTHER, "2026-10", revenue_yuan=1e6)],
    }
    stream = [
        (RawMessage("qisheng-lc", "monthly", body), ("monthly", str(n)))
        for n, body in enumerate(pages, start=1)
    ]
    results = list(park.ingest.ingest_many(Pages(pages), stream))  # type: ignore[arg-type]
    assert [(r.new, r.held, len(r.findings)) for r in results] == [
        (1, 0, 0), (0, 1, 1), (1, 0, 1), (1, 0, 0)
    ]  # fmt: skip
    assert len({r.raw_id for r in results}) == 4
    [hold] = store.reviews.holds()
    assert hold["raw_id"] == results[1].raw_id and hold["status"] == HoldStatus.WAITING
    [warned] = store.reviews.findings(severities=["warn"])
    assert warned["raw_id"] == results[2].raw_id and warned["rule"] == "tax_revenue"
    assert store.cursors.get("qisheng-lc", "monthly") == "4"
    again = list(park.ingest.ingest_many(Pages(pages), stream))  # type: ignore[arg-type]
    assert all(r.duplicate for r in again)
    assert len(store.reviews.holds(statuses=list(HoldStatus))) == 1
    assert len(store.reviews.findings()) == 2
