"""Console accounts on the store (SQLite and PostgreSQL): users, passwords, parks, sessions and
API tokens, and the accounts migration."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from argon2 import PasswordHasher
from sqlalchemy import inspect, select

from parkhub.store import Store
from parkhub.store import schema as t
from parkhub.store.accounts import AccountError, Accounts, sessions, user_parks, users
from parkhub.store.db import alembic_config

FAST = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def test_users_passwords_parks_sessions_and_tokens(store: Store) -> None:
    accounts = Accounts(store.db, hasher=FAST)
    for bad in (
        {"username": "a b"},
        {"username": "cli"},
        {"role": "boss"},
        {"parks": []},
        {"password": "short"},
    ):
        args = {"username": "alice", "password": "long-enough-1", "parks": ["p1"], **bad}
        with pytest.raises(AccountError):
            accounts.create_user(
                str(args["username"]),
                str(args["password"]),
                role=str(args.get("role", "operator")),
                parks=list(args["parks"]),  # type: ignore[call-overload]
            )
    alice = accounts.create_user("alice", "long-enough-1", parks=["p1", "p1"])
    assert alice.parks == ("p1",) and alice.can_see("p1") and not alice.can_see("p2")
    with pytest.raises(AccountError, match="已存在"):
        accounts.create_user("alice", "long-enough-1", parks=["p1"])
    admin = accounts.create_user("root", "long-enough-2", role="admin")
    assert admin.is_admin and admin.can_see("anything")

    assert accounts.verify_password("alice", "long-enough-1") == alice
    assert accounts.verify_password("alice", "wrong-password") is None
    assert accounts.verify_password("nobody", "long-enough-1") is None
    assert accounts.set_parks("alice", ["p2", "p3"]).parks == ("p2", "p3")
    assert [u.username for u in accounts.list_users()] == ["alice", "root"]

    session = accounts.create_session(alice, ttl=dt.timedelta(hours=1))
    got = accounts.get_session(session.token)
    assert got is not None and got.user.parks == ("p2", "p3") and got.csrf_token
    assert accounts.get_session("not-a-token") is None
    expired = accounts.create_session(alice, ttl=dt.timedelta(seconds=-1))
    assert accounts.get_session(expired.token) is None
    assert accounts.purge_sessions() == 1
    with store.engine.connect() as conn:  # only hashes of tokens are stored
        assert session.token not in {r.id for r in conn.execute(select(sessions))}

    token = accounts.create_api_token("alice")
    assert accounts.user_for_api_token(token) is not None
    newer = accounts.create_api_token("alice")
    assert accounts.user_for_api_token(token) is None
    assert accounts.user_for_api_token(newer) is not None
    accounts.revoke_api_token("alice")
    assert accounts.user_for_api_token(newer) is None

    accounts.set_active("alice", False)
    assert accounts.get_session(session.token) is None
    assert accounts.verify_password("alice", "long-enough-1") is None
    accounts.delete_user("alice")
    assert accounts.get_user("alice") is None
    with store.engine.connect() as conn:
        assert conn.execute(select(user_parks)).all() == []
    actions = [a["action"] for a in store.audit.log()]
    assert {"user_create", "user_parks", "api_token_create", "user_delete"} <= set(actions)


def test_stronger_parameters_rehash_on_sign_in(store: Store) -> None:
    Accounts(store.db, hasher=FAST).create_user("bob", "long-enough-1", parks=["p1"])
    stronger = Accounts(
        store.db, hasher=PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    )
    assert stronger.verify_password("bob", "long-enough-1") is not None
    with store.engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash)).scalar_one()
    assert "t=2" in stored and "m=2048" in stored


def test_migrations_downgrade_and_upgrade_to_the_models(store: Store) -> None:
    cfg = alembic_config(store.engine)
    command.downgrade(cfg, "0001")
    with store.engine.connect() as conn:
        names = set(inspect(conn).get_table_names())
    assert not names & {"users", "user_parks", "sessions", "alerts"}
    command.upgrade(cfg, "head")
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), t.metadata) == []
        assert {"users", "user_parks", "sessions", "alerts"} <= set(inspect(conn).get_table_names())


def test_a_reviewer_reviews_only_in_their_parks(store: Store) -> None:
    accounts = Accounts(
        store.db, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    with pytest.raises(AccountError, match="needs --park"):
        accounts.create_user("rita", "long-enough-1", role="reviewer")
    rita = accounts.create_user("rita", "long-enough-1", role="reviewer", parks=["p1"])
    alice = accounts.create_user("alice", "long-enough-1", parks=["p1"])
    root = accounts.create_user("root", "long-enough-1", role="admin")
    assert rita.can_see("p1") and not rita.can_see("p2")
    assert rita.can_review("p1") and not rita.can_review("p2")
    assert not alice.can_review("p1") and root.can_review("p2")
    with pytest.raises(AccountError, match="reviewer"):
        accounts.create_user("eve", "long-enough-1", role="auditor", parks=["p1"])
