"""Storage, the only door to the database: raw inbox, canonical records with revisions (and
the sources of merged fields), quality findings and held records, the delivery outbox,
cursors, audit, console accounts and park alerts."""

from .accounts import AccountError, Accounts, Session, User, check_password_strength
from .alerts import AlertLog, PendingAlert, Problem
from .attempts import REPLAYED, Try
from .backup import BackupResult, backup_sqlite, restore_sqlite
from .db import Database, database_url, make_engine, migrate
from .keys import idempotency_key
from .ledger import LedgerFilter
from .limits import Limit, PlatformGate
from .outbox import Claimed, DeliveryFilter, Sent
from .provenance import Provenance
from .records import Stored
from .reviews import Finding, Held, HoldStatus, Review, hold_doc
from .routes import Route, RouteTable
from .status import PROBLEMS, AlertStatus, DeliveryStatus, RawStatus, operator_summary
from .store import Store
from .writers import Page, UpsertResult, Written

__all__ = [
    "PROBLEMS",
    "REPLAYED",
    "AccountError",
    "Accounts",
    "AlertLog",
    "AlertStatus",
    "BackupResult",
    "Claimed",
    "Database",
    "DeliveryFilter",
    "DeliveryStatus",
    "Finding",
    "Held",
    "HoldStatus",
    "LedgerFilter",
    "Limit",
    "Page",
    "PendingAlert",
    "PlatformGate",
    "Problem",
    "Provenance",
    "RawStatus",
    "Review",
    "Route",
    "RouteTable",
    "Sent",
    "Session",
    "Store",
    "Stored",
    "Try",
    "UpsertResult",
    "User",
    "Written",
    "backup_sqlite",
    "check_password_strength",
    "database_url",
    "hold_doc",
    "idempotency_key",
    "make_engine",
    "migrate",
    "operator_summary",
    "restore_sqlite",
]
