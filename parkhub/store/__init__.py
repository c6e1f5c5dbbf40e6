"""Storage, the only door to the database: raw inbox, canonical records with revisions, the
delivery outbox, cursors, audit, console accounts and park alerts."""

from .accounts import AccountError, Accounts, Session, User, check_password_strength
from .alerts import AlertLog, PendingAlert, Problem
from .backup import BackupResult, backup_sqlite, restore_sqlite
from .db import Database, database_url, make_engine, migrate
from .keys import idempotency_key
from .limits import Limit, PlatformGate
from .outbox import Claimed, DeliveryFilter, Sent
from .routes import NO_ROUTES, Route, RouteTable
from .status import PROBLEMS, AlertStatus, DeliveryStatus, RawStatus, operator_summary
from .store import Store
from .writers import Page, UpsertResult, Written

__all__ = [
    "NO_ROUTES",
    "PROBLEMS",
    "AccountError",
    "Accounts",
    "AlertLog",
    "AlertStatus",
    "BackupResult",
    "Claimed",
    "Database",
    "DeliveryFilter",
    "DeliveryStatus",
    "Limit",
    "Page",
    "PendingAlert",
    "PlatformGate",
    "Problem",
    "RawStatus",
    "Route",
    "RouteTable",
    "Sent",
    "Session",
    "Store",
    "UpsertResult",
    "User",
    "Written",
    "backup_sqlite",
    "check_password_strength",
    "database_url",
    "idempotency_key",
    "make_engine",
    "migrate",
    "operator_summary",
    "restore_sqlite",
]
