"""Raw to canonical to store: every way data comes in (pull, push, listener, operator entry,
records built inside parkhub), and the route table that decides which platform reports take
each record."""

from .results import IngestResult, SyncResult
from .routes import route_table
from .service import IngestService
from .sources import Sources

__all__ = ["IngestResult", "IngestService", "Sources", "SyncResult", "route_table"]
