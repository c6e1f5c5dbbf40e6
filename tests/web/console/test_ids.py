"""Ids typed into URLs past what a 64-bit id column holds: 404, never a 500 (OverflowError)."""

from __future__ import annotations

import httpx

from tests.web.console.support import ConsoleEnv, csrf_of

HUGE = 2**64 + 5  # 18446744073709551621
PAST = 2**63  # one past the largest id


def test_a_delivery_id_past_64_bits_is_not_found(env: ConsoleEnv) -> None:
    web = env.web("alice")
    for big in (HUGE, PAST, 10**40):
        assert web.get(f"/console/parks/p1/deliveries/{big}").status_code == 404
        page = web.get("/console/parks/p1/deliveries")
        replay = web.post(
            f"/console/parks/p1/deliveries/{big}/replay", data={"csrf_token": csrf_of(page.text)}
        )
        assert replay.status_code == 404
    token = env.accounts.create_api_token("root")
    api = httpx.Client(base_url=env.url, headers={"Authorization": f"Bearer {token}"})
    with api:
        assert api.get(f"/api/parks/p1/deliveries/{HUGE}").status_code == 404
        assert api.post(f"/api/deliveries/{HUGE}/replay").status_code == 404
        assert api.post(f"/api/parks/p1/deliveries/{PAST}/replay").status_code == 404
    assert env.hub.store.outbox.deliveries(ids=[HUGE]) == []
    assert env.hub.store.inbox.messages(ids=[HUGE]) == []
