"""Collector settings for a parkhub process (the `parkhub` command sets them at start)."""

from __future__ import annotations

import gc

GC_YOUNG_THRESHOLD = 20_000  # container allocations between collections of the young objects
_tuned = False


def tune_gc() -> None:
    """Freeze what start-up loaded and make collections of young objects rare.

    A page of 1000 readings allocates some 10,000 container objects (rows, models, tuples). At
    CPython's default threshold of 700 that is a dozen collections a page, and every so often
    one of them walks the whole heap (SQLAlchemy, pydantic's schemas, the config). Freezing
    what start-up loaded keeps it out of every collection, and a young generation of 20,000
    makes collections rare: ingest runs ~15 % faster (docs/performance.md). What parkhub
    allocates per record holds no reference cycles, so reference counting frees it as before;
    the collector only looks for cycles.
    """
    global _tuned
    if _tuned:  # once a process: a later freeze would pin whatever became garbage since
        return
    _tuned = True
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, GC_YOUNG_THRESHOLD), middle, old)
