"""The bounded rate limiter shared by the push receivers and the console's sign-in."""

from __future__ import annotations

from parkhub.limits import WindowLimit, address_group


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_at_most_count_events_in_any_window() -> None:
    clock = Clock()
    limit = WindowLimit(3, 60, clock=clock)
    assert [limit.hit("k") for _ in range(4)] == [True, True, True, False]
    assert limit.wait("k") == 60
    clock.now += 59.9
    assert not limit.hit("k")
    clock.now += 0.1  # a minute after the three: room for three more
    assert [limit.hit("k") for _ in range(4)] == [True, True, True, False]
    assert limit.hit("other")


def test_a_full_table_never_forgets_what_it_holds() -> None:
    clock = Clock()
    limit = WindowLimit(2, 60, max_keys=100, clock=clock)
    limit.add("victim")
    limit.add("victim")
    for i in range(10_000):
        limit.hit(f"spray{i}")
    assert not limit.allows("victim")
    assert len(limit) <= 101  # the keys and one overflow key
    # keys that did not fit share the overflow key: they are limited together
    assert not limit.allows("yet-another")
    assert limit.allows("yet-another", tracked_only=True)


def test_idle_keys_make_room() -> None:
    clock = Clock()
    limit = WindowLimit(2, 60, max_keys=10, clock=clock)
    for i in range(10):
        limit.add(f"old{i}")
    clock.now += 61
    assert limit.hit("new") and "new" in limit._events
    assert len(limit) == 1


def test_a_limit_of_zero_allows_nothing() -> None:
    limit = WindowLimit(0, 60)
    assert not limit.hit("k") and not limit.allows("k")


def test_address_groups() -> None:
    assert address_group("192.0.2.1") == "192.0.2.1"
    assert address_group("2001:db8::1") == address_group("2001:db8::ffff:1") == "2001:db8::/64"
    assert address_group("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_group(None) == "-"
    assert address_group("testclient") == "testclient"
