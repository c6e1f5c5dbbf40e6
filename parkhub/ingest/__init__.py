"""Raw to canonical to store: every way data comes in (pull, push, listener, operator entry,
records built inside parkhub), and the route table that decides which platform reports take
each record.

The faces (web, cli) import no vendor module: the source-contract types they hand to and take
from adapters (a push request and its verdict, a listener and what it hands over) are
re-exported here."""

from parkhub.adapters.vendors.base import (
    Listener,
    ListenerMessage,
    ListenHandler,
    PushRequest,
    PushVerdict,
)

from .refused import Refusal
from .results import IngestResult, SyncResult
from .routes import route_table
from .service import IngestService
from .sources import Sources

__all__ = [
    "IngestResult",
    "IngestService",
    "ListenHandler",
    "Listener",
    "ListenerMessage",
    "PushRequest",
    "PushVerdict",
    "Refusal",
    "Sources",
    "SyncResult",
    "route_table",
]
