"""Sign-in limits: guessing is slowed per account and address and per address, and nobody can
lock another person out or wipe the limits by spraying names. Over real HTTP, each client at
its own address (X-Forwarded-For from the loopback proxy, as uvicorn trusts it)."""

from __future__ import annotations

from parkhub.web.console.auth import ADDRESS_FAILURES, LOGIN_FAILURES, Throttle
from tests.web.console.support import ConsoleEnv, Web

ATTACKER = "203.0.113.7"
ADMIN_HOME = "198.51.100.2"


def _at(env: ConsoleEnv, address: str) -> Web:
    web = env.web()
    web.client.headers["X-Forwarded-For"] = address
    return web


def test_an_attacker_cannot_keep_the_administrator_locked_out(sqlite_env: ConsoleEnv) -> None:
    """Five wrong passwords for `root` every five minutes used to lock root out everywhere."""
    attacker = _at(sqlite_env, ATTACKER)
    for _ in range(LOGIN_FAILURES):
        assert attacker.login("root", "guess-password-1").status_code == 401
    assert attacker.login("root").status_code == 429  # even the right password, from there
    assert _at(sqlite_env, ADMIN_HOME).login("root").status_code == 303


def test_an_address_spraying_user_names_is_paused(sqlite_env: ConsoleEnv) -> None:
    attacker = _at(sqlite_env, ATTACKER)
    for i in range(ADDRESS_FAILURES):
        assert attacker.login(f"nobody{i}", "guess-password-1").status_code == 401
    paused = attacker.login("alice")
    assert paused.status_code == 429 and "分钟" in paused.text
    assert _at(sqlite_env, ADMIN_HOME).login("alice").status_code == 303


def test_an_address_that_signed_in_before_is_spared_the_address_limit(
    sqlite_env: ConsoleEnv,
) -> None:
    """An office behind one address: a colleague's typos (or a spray from the same NAT) do not
    keep out someone who signed in from there before."""
    assert _at(sqlite_env, ADMIN_HOME).login("alice").status_code == 303
    noisy = _at(sqlite_env, ADMIN_HOME)
    for i in range(ADDRESS_FAILURES):
        noisy.login(f"typo{i}", "guess-password-1")
    assert noisy.login("bob").status_code == 429
    assert _at(sqlite_env, ADMIN_HOME).login("alice").status_code == 303


def test_a_spray_of_made_up_names_neither_wipes_the_lockout_nor_grows_memory() -> None:
    """The old throttle forgot every lockout once 10,000 distinct names had failed."""
    throttle = Throttle(known=lambda name: name == "root")
    for _ in range(LOGIN_FAILURES):
        throttle.failed("root", ATTACKER)
    assert throttle.blocked("root", ATTACKER)
    for i in range(15_000):  # from many addresses, each under its own limit
        throttle.failed(f"name{i}", f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
    assert throttle.blocked("root", ATTACKER)
    assert not throttle.blocked("root", ADMIN_HOME)
    assert len(throttle.pairs) == 1  # only accounts that exist get state of their own
    assert len(throttle.addresses) <= throttle.addresses.max_keys + 1


def test_past_the_address_table_an_account_still_signs_in_from_where_it_did_before() -> None:
    throttle = Throttle(max_addresses=1000)
    throttle.reset("root", ADMIN_HOME)  # root signed in from home once
    for i in range(3000):
        throttle.failed(f"name{i}", f"10.0.{i // 256}.{i % 256}")
    assert len(throttle.addresses) <= 1001  # bounded
    assert throttle.blocked("root", "192.0.2.99")  # a fresh address shares the overflow
    assert not throttle.blocked("root", ADMIN_HOME)


def test_ipv6_clients_are_limited_by_their_64() -> None:
    throttle = Throttle()
    for i in range(ADDRESS_FAILURES):
        throttle.failed(f"x{i}", f"2001:db8:1:2::{i:x}")
    assert throttle.blocked("anyone", "2001:db8:1:2:ffff::1")
    assert not throttle.blocked("anyone", "2001:db8:1:3::1")
