"""Reference lines measured in the same run as ingest: what the machine does today.

The ingest targets were set against two figures for these machines: plain pydantic validation
of a reading at ~160,000/s and a SQLAlchemy Core upsert into SQLite at ~120,000 rows/s. The
shared machines drift by 20 % and more over minutes, so `make bench` measures both beside
ingest: a reader can tell a slow run from a slow change.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from typing import Any

import orjson
from pydantic import BaseModel
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, create_engine, event
from sqlalchemy.dialects.sqlite import insert

from bench.ingest import pages


class Reading(BaseModel):
    """A Qisheng reading as it comes, validated as is: no mapping, no canonical model."""

    id: int
    meterNo: str  # the vendor's names
    meterType: str
    entCreditCode: str
    readTime: dt.datetime
    value: float
    unit: str
    periodType: str


def _rows(n: int) -> list[dict[str, Any]]:
    return [row for body in pages(n) for row in orjson.loads(body)["data"]["records"]]


def validation(n: int = 200_000) -> float:
    """Readings validated per second by a plain pydantic model, the results kept as ingest
    keeps a page's (best of three)."""
    rows = _rows(n)
    validate = Reading.model_validate
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        kept = [validate(row) for row in rows]
        best = min(best, time.perf_counter() - started)
        del kept
    return n / best


def core_upsert(n: int = 200_000, batch: int = 1000) -> float:
    """Rows upserted per second into a SQLite file (WAL) with SQLAlchemy Core, a transaction
    per batch of new rows with a unique key."""
    rows = [
        {"key": f"{r['readTime']}|{r['meterNo']}", "value": r["value"], "doc": orjson.dumps(r)}
        for r in _rows(n)
    ]
    meta = MetaData()
    table = Table(
        "readings",
        meta,
        Column("id", Integer, primary_key=True),
        Column("key", String(255), unique=True, nullable=False),
        Column("value", String(32)),
        Column("doc", Text),
    )
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/core.db")
        event.listen(engine, "connect", lambda c, _: c.execute("PRAGMA journal_mode=WAL").close())
        meta.create_all(engine)
        stmt = insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["key"], set_={"value": stmt.excluded.value, "doc": stmt.excluded.doc}
        )
        started = time.perf_counter()
        for start in range(0, n, batch):
            with engine.begin() as conn:
                conn.execute(stmt, rows[start : start + batch])
        elapsed = time.perf_counter() - started
        engine.dispose()
    return n / elapsed


def measure() -> dict[str, float]:
    """Both lines in a fresh interpreter: default collector settings, nothing else loaded
    (the ingest runs tune the collector of the bench's own process)."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.reference"], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    print(json.dumps({"validation": validation(), "core_upsert": core_upsert()}))
