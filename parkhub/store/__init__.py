"""Storage: raw inbox, canonical records with revisions, the delivery outbox, cursors, audit."""

from . import accounts, alerts  # registers the console and alert tables on schema.metadata
from .db import database_url, make_engine, migrate
from .keys import idempotency_key
from .store import Claimed, Route, Store, UpsertResult

__all__ = [
    "Claimed",
    "Route",
    "Store",
    "UpsertResult",
    "accounts",
    "alerts",
    "database_url",
    "idempotency_key",
    "make_engine",
    "migrate",
]
