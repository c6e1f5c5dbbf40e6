"""Console accounts: users with roles and parks, server-side sessions, API tokens.

Passwords are hashed with argon2id (argon2-cffi); session tokens and API tokens are random and
only their SHA-256 is stored, so a copy of the database lets nobody sign in. An operator sees
the parks listed in `user_parks`; a reviewer too, and may also decide on records the quality
rules held back in them; an administrator sees and reviews every park.

The tables live on `parkhub.store.schema.metadata`; migration 0002 creates them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    ForeignKey,
    Index,
    String,
    Table,
    UniqueConstraint,
    delete,
    insert,
    select,
    update,
)

from parkhub.canonical.timeutil import utcnow

from .audit import Audit
from .db import Database
from .schema import Id, UTCDateTime, metadata

Role = Literal["operator", "reviewer", "admin"]
ROLES: tuple[Role, ...] = ("operator", "reviewer", "admin")
PARK_ROLES = ("operator", "reviewer")
"""Roles that see only their parks."""
MIN_PASSWORD_LENGTH = 8
RESERVED_NAMES = frozenset({"cli", "api", "web", "recover", "system", "parkhub", "demo-runner"})
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
API_TOKEN_PREFIX = "phk_"

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("display_name", String(128)),
    Column("role", String(16), nullable=False),  # operator | reviewer | admin
    Column("password_hash", String(255), nullable=False),  # argon2id, never the password
    Column("api_token_hash", String(64)),  # sha256 of the bearer token, never the token
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    UniqueConstraint("username"),
    UniqueConstraint("api_token_hash"),
)

user_parks = Table(
    "user_parks",
    metadata,
    Column(
        "user_id",
        Id,
        ForeignKey("users.id", ondelete="CASCADE", name="fk_user_parks_user_id"),
        primary_key=True,
    ),
    Column("park_id", String(64), primary_key=True),
)

sessions = Table(
    "sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # sha256 of the session token
    Column(
        "user_id",
        Id,
        ForeignKey("users.id", ondelete="CASCADE", name="fk_sessions_user_id"),
        nullable=False,
    ),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)
Index("ix_sessions_user_id", sessions.c.user_id)
Index("ix_sessions_expires_at", sessions.c.expires_at)


class AccountError(ValueError):
    """A refused account change; the message is for the operator (Chinese and English)."""


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    display_name: str | None
    role: str
    parks: tuple[str, ...]
    active: bool
    has_api_token: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def can_review(self, park_id: str) -> bool:
        """May approve, correct or reject records held back in this park."""
        return self.is_admin or (self.role == "reviewer" and park_id in self.parks)

    def can_see(self, park_id: str) -> bool:
        return self.is_admin or park_id in self.parks

    @property
    def label(self) -> str:
        return self.display_name or self.username


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    user: User
    csrf_token: str
    expires_at: dt.datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"密码至少 {MIN_PASSWORD_LENGTH} 位 (password needs {MIN_PASSWORD_LENGTH}+ characters)"
        )
    if password.strip() != password or not password.strip():
        raise AccountError("密码首尾不能有空格 (no leading or trailing spaces)")


def default_hasher() -> PasswordHasher:
    """argon2id with argon2-cffi's defaults (RFC 9106 low-memory profile: t=3, 64 MiB, p=4)."""
    return PasswordHasher()


class Accounts:
    """Users, their parks, sessions and API tokens, on the hub's store (thread-safe)."""

    def __init__(self, db: Database, *, hasher: PasswordHasher | None = None) -> None:
        self.db = db
        self.audit = Audit(db)
        self.hasher = hasher or default_hasher()
        self._dummy: str | None = None

    @property
    def _dummy_hash(self) -> str:
        """Verified against when the user does not exist, so both cases take the same time."""
        if self._dummy is None:
            self._dummy = self.hasher.hash(secrets.token_urlsafe(16))
        return self._dummy

    # -- users --------------------------------------------------------------------------------

    def create_user(
        self,
        username: str,
        password: str,
        *,
        role: str = "operator",
        parks: Sequence[str] = (),
        display_name: str | None = None,
        actor: str = "cli",
    ) -> User:
        if not _USERNAME.match(username) or username.lower() in RESERVED_NAMES:
            raise AccountError(
                "用户名只能用字母、数字和 _ . @ -，2 到 64 位，且不能是保留名 "
                f"(invalid or reserved username {username!r})"
            )
        if role not in ROLES:
            raise AccountError(f"角色只能是 operator、reviewer 或 admin (unknown role {role!r})")
        if role in PARK_ROLES and not parks:
            raise AccountError("园区操作员至少要有一个园区 (an operator needs --park)")
        check_password_strength(password)
        now = utcnow()
        u = users.c
        with self.db.begin() as conn:
            if conn.execute(select(u.id).where(u.username == username)).first() is not None:
                raise AccountError(f"用户 {username} 已存在 (user {username} exists)")
            user_id = conn.execute(
                insert(users)
                .values(
                    username=username,
                    display_name=display_name,
                    role=role,
                    password_hash=self.hasher.hash(password),
                    active=True,
                    created_at=now,
                    updated_at=now,
                )
                .returning(u.id)
            ).scalar_one()
            self._write_parks(conn, int(user_id), parks)
            self.audit.add(
                conn,
                actor,
                "user_create",
                {"username": username, "role": role, "parks": sorted(set(parks))},
            )
        user = self.get_user(username)
        assert user is not None
        return user

    def get_user(self, username: str) -> User | None:
        with self.db.connect() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
            return self._user(conn, row._mapping) if row is not None else None

    def get_user_by_id(self, user_id: int) -> User | None:
        with self.db.connect() as conn:
            row = conn.execute(select(users).where(users.c.id == user_id)).first()
            return self._user(conn, row._mapping) if row is not None else None

    def list_users(self) -> list[User]:
        with self.db.connect() as conn:
            rows = conn.execute(select(users).order_by(users.c.username)).all()
            return [self._user(conn, r._mapping) for r in rows]

    def set_parks(self, username: str, parks: Sequence[str], *, actor: str = "cli") -> User:
        with self.db.begin() as conn:
            user_id = self._id(conn, username)
            conn.execute(delete(user_parks).where(user_parks.c.user_id == user_id))
            self._write_parks(conn, user_id, parks)
            self.audit.add(
                conn, actor, "user_parks", {"username": username, "parks": sorted(set(parks))}
            )
        user = self.get_user(username)
        assert user is not None
        return user

    def set_password(self, username: str, password: str, *, actor: str = "cli") -> None:
        check_password_strength(password)
        with self.db.begin() as conn:
            user_id = self._id(conn, username)
            conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(password_hash=self.hasher.hash(password), updated_at=utcnow())
            )
            # A new password signs out every session of the user.
            conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
            self.audit.add(conn, actor, "user_password", {"username": username})

    def set_active(self, username: str, active: bool, *, actor: str = "cli") -> None:
        with self.db.begin() as conn:
            user_id = self._id(conn, username)
            conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(active=active, updated_at=utcnow())
            )
            if not active:
                conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
            self.audit.add(conn, actor, "user_active", {"username": username, "active": active})

    def delete_user(self, username: str, *, actor: str = "cli") -> None:
        with self.db.begin() as conn:
            user_id = self._id(conn, username)
            conn.execute(delete(sessions).where(sessions.c.user_id == user_id))
            conn.execute(delete(user_parks).where(user_parks.c.user_id == user_id))
            conn.execute(delete(users).where(users.c.id == user_id))
            self.audit.add(conn, actor, "user_delete", {"username": username})

    def verify_password(self, username: str, password: str) -> User | None:
        """The user if the password is right and the account active, else None (same time)."""
        with self.db.connect() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).first()
        stored = row._mapping["password_hash"] if row is not None else self._dummy_hash
        try:
            self.hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if row is None or not row._mapping["active"]:
            return None
        if self.hasher.check_needs_rehash(stored):
            with self.db.begin() as conn:
                conn.execute(
                    update(users)
                    .where(users.c.id == row._mapping["id"])
                    .values(password_hash=self.hasher.hash(password))
                )
        return self.get_user_by_id(int(row._mapping["id"]))

    # -- sessions -----------------------------------------------------------------------------

    def create_session(self, user: User, *, ttl: dt.timedelta) -> Session:
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        now = utcnow()
        expires = now + ttl
        with self.db.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.expires_at < now))
            conn.execute(
                insert(sessions).values(
                    id=token_hash(token),
                    user_id=user.id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=expires,
                )
            )
        return Session(token, user, csrf, expires)

    def get_session(self, token: str) -> Session | None:
        """The live session of `token` (not expired, user active), or None."""
        s = sessions.c
        with self.db.connect() as conn:
            row = conn.execute(
                select(s.user_id, s.csrf_token, s.expires_at).where(s.id == token_hash(token))
            ).first()
            if row is None or row.expires_at <= utcnow():
                return None
            urow = conn.execute(select(users).where(users.c.id == row.user_id)).first()
            if urow is None or not urow._mapping["active"]:
                return None
            user = self._user(conn, urow._mapping)
        return Session(token, user, row.csrf_token, row.expires_at)

    def delete_session(self, token: str) -> None:
        with self.db.begin() as conn:
            conn.execute(delete(sessions).where(sessions.c.id == token_hash(token)))

    def purge_sessions(self) -> int:
        with self.db.begin() as conn:
            res = conn.execute(delete(sessions).where(sessions.c.expires_at < utcnow()))
        return int(res.rowcount)

    # -- API tokens ---------------------------------------------------------------------------

    def create_api_token(self, username: str, *, actor: str = "cli") -> str:
        """A new bearer token for the JSON API (replaces the old one); shown once, kept hashed."""
        token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.db.begin() as conn:
            user_id = self._id(conn, username)
            conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(api_token_hash=token_hash(token), updated_at=utcnow())
            )
            self.audit.add(conn, actor, "api_token_create", {"username": username})
        return token

    def revoke_api_token(self, username: str, *, actor: str = "cli") -> None:
        with self.db.begin() as conn:
            user_id = self._id(conn, username)
            conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(api_token_hash=None, updated_at=utcnow())
            )
            self.audit.add(conn, actor, "api_token_revoke", {"username": username})

    def user_for_api_token(self, token: str) -> User | None:
        if not token.startswith(API_TOKEN_PREFIX):
            return None
        digest = token_hash(token)
        with self.db.connect() as conn:
            row = conn.execute(select(users).where(users.c.api_token_hash == digest)).first()
            if row is None or not row._mapping["active"]:
                return None
            # The index found it; compare anyway in constant time.
            if not hmac.compare_digest(row._mapping["api_token_hash"], digest):
                return None
            return self._user(conn, row._mapping)

    # -- helpers ------------------------------------------------------------------------------

    def _id(self, conn: Connection, username: str) -> int:
        found = conn.execute(select(users.c.id).where(users.c.username == username)).scalar()
        if found is None:
            raise AccountError(f"没有用户 {username} (no user {username!r})")
        return int(found)

    @staticmethod
    def _write_parks(conn: Connection, user_id: int, parks: Sequence[str]) -> None:
        for park in sorted(set(parks)):
            conn.execute(insert(user_parks).values(user_id=user_id, park_id=park))

    @staticmethod
    def _user(conn: Connection, row: Any) -> User:
        parks = conn.execute(
            select(user_parks.c.park_id)
            .where(user_parks.c.user_id == row["id"])
            .order_by(user_parks.c.park_id)
        ).scalars()
        return User(
            id=int(row["id"]),
            username=row["username"],
            display_name=row["display_name"],
            role=row["role"],
            parks=tuple(parks),
            active=bool(row["active"]),
            has_api_token=row["api_token_hash"] is not None,
        )


__all__ = [
    "ROLES",
    "AccountError",
    "Accounts",
    "Session",
    "User",
    "sessions",
    "user_parks",
    "users",
]
