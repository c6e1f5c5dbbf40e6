"""Pulls: each enabled source, every stream, from its saved cursor."""

from __future__ import annotations

import logging

from parkhub.config import HubConfig
from parkhub.errors import SourceError

from .results import SyncResult
from .service import IngestService

log = logging.getLogger("parkhub.ingest")


def sync(ingest: IngestService, config: HubConfig, source: str | None = None) -> list[SyncResult]:
    """Pull every enabled, scheduled source (or one); a source that fails is reported and the
    others go on. What a failing source gave before the failure stays stored, with its cursor."""
    names = (
        [source]
        if source
        else [s.name for s in config.sources if s.enabled and s.schedule is not None]
    )
    results = []
    for name in names:
        sc = config.source(name)
        adapter = ingest.adapter(name)
        result = SyncResult(name)
        try:
            for stream in sc.streams or adapter.pull_streams():
                cursor = ingest.store.cursors.get(name, stream)
                pages = (
                    (batch.message, (stream, batch.next_cursor))
                    for batch in adapter.pull(stream, cursor)
                )
                for ingested in ingest.ingest_many(adapter, pages):
                    result.add(ingested)
        except SourceError as exc:
            result.failure = str(exc)
            log.warning("sync %s failed: %s", name, exc)
        results.append(result)
    return results
