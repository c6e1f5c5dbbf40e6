"""The yardstick: dlt loading the same Qisheng reading pages as bench/ingest.py into a SQLite file
with its merge (write_disposition="merge" on the readings' natural key), in records/s.

Runs in a process of its own (`python -m bench.dlt_merge URL N`, one JSON line out), so dlt's
imports and threads never share the parkhub run's process. The clock runs around
`pipeline.run` (extract, normalize, load) only; the pages are made before it, and a small run
into another file first warms dlt up, as bench/ingest.py warms parkhub up. dlt's telemetry is
off: nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from bench.ingest import PAGE, in_fresh_process, pages

# the natural key of a reading: one meter, one kind of meter, one time, one period
PRIMARY_KEY = ("meterNo", "meterType", "readTime", "periodType")


def available() -> bool:
    """Whether dlt is installed (the `bench` extra: `pip install -e '.[bench]'`)."""
    import importlib.util

    return importlib.util.find_spec("dlt") is not None


def version() -> str:
    from importlib.metadata import version

    return version("dlt")


def _load(path: Path, bodies: list[bytes], workdir: str) -> float:
    """Merge the readings of `bodies` into the SQLite file at `path`; seconds taken."""
    import dlt

    @dlt.resource(name="readings", write_disposition="merge", primary_key=PRIMARY_KEY)
    def readings() -> Iterator[list[dict[str, Any]]]:
        for body in bodies:  # a page's rows at a time, as a pull would hand them over
            yield orjson.loads(body)["data"]["records"]

    pipeline = dlt.pipeline(
        pipeline_name=f"bench_{path.stem}",
        pipelines_dir=workdir,
        destination=dlt.destinations.sqlalchemy(credentials=f"sqlite:///{path}"),
        dataset_name="bench",
    )
    started = time.perf_counter()
    pipeline.run(readings())
    elapsed = time.perf_counter() - started
    with pipeline.sql_client() as client:
        [[count]] = client.execute_sql("SELECT count(*) FROM readings")
    assert count == sum(len(orjson.loads(b)["data"]["records"]) for b in bodies), count
    return elapsed


def run(directory: str, n: int) -> dict[str, Any]:
    """Load n readings with dlt's merge into a fresh SQLite file in `directory` (this process)."""
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    with tempfile.TemporaryDirectory(dir=directory) as workdir:
        _load(Path(workdir) / "warmup.db", pages(2 * PAGE, offset=10_000_000), workdir)
        bodies = pages(n)
        elapsed = _load(Path(workdir) / "dlt.db", bodies, workdir)
    return {"records": n, "seconds": elapsed, "per_second": n / elapsed, "version": version()}


def measure(directory: str, n: int) -> dict[str, Any]:
    """`run` in a fresh process."""
    return in_fresh_process("bench.dlt_merge", directory, str(n))


if __name__ == "__main__":
    print(json.dumps(run(sys.argv[1], int(sys.argv[2]))))
