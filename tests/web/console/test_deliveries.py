"""Deliveries over real HTTP: the listing's filters, one delivery's detail, and the audited replay
from a page and through the API."""

from __future__ import annotations

import httpx

from tests.web.console.support import P1, PERIOD, ConsoleEnv, csrf_of


def test_deliveries_filters_detail_and_audited_replay(env: ConsoleEnv) -> None:
    env.hub.dispatch()
    env.hub.build_reports(PERIOD)
    env.kill_deliveries()
    web = env.web("alice")
    listing = web.get("/console/parks/p1/deliveries")
    assert listing.status_code == 200 and listing.text.count('data-status="') == 3
    dead_only = web.get("/console/parks/p1/deliveries?platform=provincial&status=dead")
    assert dead_only.text.count('data-status="dead"') == 1 and 'data-status="sent"' not in (
        dead_only.text
    )
    [dead] = [d for d in env.hub.store.outbox.deliveries(status=["dead"]) if d["park_id"] == P1]
    sent = next(d for d in env.hub.store.outbox.deliveries(status=["sent"]) if d["park_id"] == P1)

    detail = web.get(f"/console/parks/p1/deliveries/{sent['id']}")
    assert 'id="payload"' in detail.text and 'id="receipt"' in detail.text
    assert "receiptNo" in detail.text and "enterprise" in detail.text
    assert 'id="replay"' not in detail.text  # only dead deliveries can be replayed

    page = web.get(f"/console/parks/p1/deliveries/{dead['id']}")
    assert 'id="replay"' in page.text and "园区编码不存在" in page.text
    r = web.post(
        f"/console/parks/p1/deliveries/{dead['id']}/replay",
        data={"csrf_token": csrf_of(page.text)},
    )
    assert r.status_code == 303 and r.headers["location"].endswith("?msg=replayed")
    assert env.hub.store.outbox.deliveries(ids=[dead["id"]])[0]["status"] == "pending"
    [audit] = [a for a in env.hub.store.audit.log() if a["action"] == "replay"]
    assert audit["actor"] == "web:alice" and f"[{dead['id']}]" in str(audit["detail"])
    again = web.post(
        f"/console/parks/p1/deliveries/{dead['id']}/replay",
        data={"csrf_token": csrf_of(page.text)},
    )
    assert again.headers["location"].endswith("?msg=not_dead")
    env.hub.dispatch()
    done = web.get(f"/console/parks/p1/deliveries/{dead['id']}")
    assert 'id="delivery-status"' in done.text and "已送达" in done.text

    # The same through the API with a token, audited as api:<user>.
    env.kill_deliveries()
    token = env.accounts.create_api_token("alice")
    with httpx.Client(base_url=env.url, headers={"Authorization": f"Bearer {token}"}) as api:
        dead_rows = api.get("/api/parks/p1/deliveries", params={"status": "dead"}).json()
        assert dead_rows == []  # nothing new died: the replayed one was sent
        one = api.get(f"/api/parks/p1/deliveries/{sent['id']}").json()
        assert one["receipt"]["receipt_id"].startswith("ZJ") and isinstance(one["payload"], dict)
        assert "lease_owner" not in one
        conflict = api.post(f"/api/deliveries/{sent['id']}/replay")
        assert conflict.status_code == 409
