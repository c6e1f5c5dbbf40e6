"""Sign-in, sessions, CSRF and park isolation, over real HTTP (SQLite and PostgreSQL)."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from parkhub.store.accounts import sessions, users
from parkhub.web.console import COOKIE
from tests.web.console.support import (
    ENTERPRISES,
    P1,
    P2,
    PASSWORDS,
    ConsoleEnv,
    Web,
    csrf_of,
    roster_csv,
)


def _audit(env: ConsoleEnv, action: str) -> list[dict[str, object]]:
    return [a for a in env.hub.store.audit.log(500) if a["action"] == action]


def test_sign_in_wrong_password_and_sign_out(env: ConsoleEnv) -> None:
    web = env.web()
    first = web.get("/console/parks/p1")
    assert first.status_code == 303
    assert first.headers["location"].startswith("/console/login?next=%2Fconsole%2Fparks%2Fp1")

    wrong = web.login("alice", "not-her-password")
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    assert COOKIE not in web.client.cookies
    nobody = web.login("mallory", "whatever-password")
    assert nobody.status_code == 401

    ok = web.login("alice")
    assert ok.status_code == 303 and ok.headers["location"] == "/console/"
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
    home = web.get("/console/")
    assert home.status_code == 303 and home.headers["location"] == "/console/parks/p1"
    page = web.get("/console/parks/p1")
    assert page.status_code == 200 and "鹿城智造小微企业园" in page.text and "张丽" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]

    stolen = web.client.cookies[COOKIE]
    out = web.post("/console/logout", data={"csrf_token": csrf_of(page.text)})
    assert out.status_code == 303 and out.headers["location"] == "/console/login"
    assert web.get("/console/parks/p1").status_code == 303
    # The signed cookie alone is worthless once the server dropped the session.
    replayed = httpx.get(f"{env.url}/console/parks/p1", cookies={COOKIE: stolen})
    assert replayed.status_code == 303
    forged = httpx.get(f"{env.url}/console/parks/p1", cookies={COOKIE: stolen[:-3] + "abc"})
    assert forged.status_code == 303

    with env.hub.store.engine.connect() as conn:
        assert conn.execute(select(sessions)).all() == []
        hashes = [r.password_hash for r in conn.execute(select(users))]
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert not any(p in h for h in hashes for p in PASSWORDS.values())
    assert [a["actor"] for a in _audit(env, "login")] == ["web:alice"]
    assert len(_audit(env, "login_failed")) == 2


def test_deactivated_user_loses_the_session(env: ConsoleEnv) -> None:
    web = env.web("bob")
    assert web.get("/console/parks/p2").status_code == 200
    env.accounts.set_active("bob", False)
    assert web.get("/console/parks/p2").status_code == 303
    assert web.login("bob").status_code == 401


def test_csrf_missing_or_wrong_is_refused(env: ConsoleEnv) -> None:
    [dead, *_] = env.kill_deliveries()
    p1_dead = next(
        d for d in env.hub.store.outbox.deliveries(status=["dead"]) if d["park_id"] == P1
    )
    web = env.web("alice")
    replay = f"/console/parks/p1/deliveries/{p1_dead['id']}/replay"
    assert web.post(replay).status_code == 403
    wrong = web.post(replay, data={"csrf_token": "x" * 43})
    assert wrong.status_code == 403 and "CSRF" in wrong.text
    assert env.hub.store.outbox.deliveries(ids=[p1_dead["id"]])[0]["status"] == "dead"

    assert web.post("/console/logout", data={}).status_code == 403
    assert web.post("/console/parks/p1/entry/form", data={"credit_code": "x"}).status_code == 403
    upload = web.post(
        "/console/parks/p1/entry/upload",
        files={"file": ("a.csv", b"x,y\n1,2\n", "text/csv")},
        data={"csrf_token": "nope"},
    )
    assert upload.status_code == 403
    assert web.post("/console/account/token", data={}).status_code == 403
    # The JSON API with the session cookie needs the token in a header.
    api = f"/api/parks/p1/deliveries/{p1_dead['id']}/replay"
    assert web.post(api).status_code == 403
    assert web.post(api, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    token = web.get("/api/me").json()["csrf_token"]
    assert web.post(api, headers={"X-CSRF-Token": token}).json() == {"queued": 1}

    # Sign-in itself: a form without the per-browser nonce is refused.
    fresh = Web(env.url)
    try:
        r = fresh.post(
            "/console/login",
            data={"username": "alice", "password": PASSWORDS["alice"], "csrf_token": "forged"},
        )
        assert r.status_code == 403 and COOKIE not in fresh.client.cookies
    finally:
        fresh.close()
    assert dead is not None


def test_operator_never_reaches_another_park(env: ConsoleEnv) -> None:
    env.kill_deliveries()
    dead = env.hub.store.outbox.deliveries(status=["dead"])
    p1_ids = {d["id"] for d in dead if d["park_id"] == P1}
    p2_id = next(d["id"] for d in dead if d["park_id"] == P2)
    web = env.web("alice")
    csrf = web.csrf()

    for path in (
        "/console/parks/p2",
        "/console/parks/p2/deliveries",
        "/console/parks/p2/entry",
        "/console/parks/p2/entry/form",
        "/console/parks/p2/entry/template",
        f"/console/parks/p2/deliveries/{p2_id}",
    ):
        r = web.get(path)
        assert r.status_code == 403, path
        assert "瓯海" not in r.text, path
    # Another park's delivery under one's own park: not found.
    assert web.get(f"/console/parks/p1/deliveries/{p2_id}").status_code == 404
    assert web.get("/console/parks/nope").status_code == 404
    for path in (f"/console/parks/p1/deliveries/{p2_id}/replay",
                 f"/console/parks/p2/deliveries/{p2_id}/replay"):  # fmt: skip
        assert web.post(path, data={"csrf_token": csrf}).status_code in (403, 404)
    upload = web.post(
        "/console/parks/p2/entry/upload",
        files={"file": ("a.csv", b"x", "text/csv")},
        data={"csrf_token": csrf},
    )
    assert upload.status_code == 403
    form = web.post("/console/parks/p2/entry/form", data={"csrf_token": csrf, "credit_code": "1"})
    assert form.status_code == 403
    assert env.hub.store.outbox.deliveries(ids=[p2_id])[0]["status"] == "dead"
    assert _audit(env, "replay") == [] and _audit(env, "entry_import")[-1]["actor"] == "cli"

    # Records are keyed by credit code: entering another park's enterprise in one's own park
    # would overwrite its records and move them; the form and uploads refuse that.
    p2_code = ENTERPRISES[P2][0][0]
    bob = env.web("bob")
    saved = bob.post(
        "/console/parks/p2/entry/form",
        data={"csrf_token": bob.csrf(), "credit_code": p2_code, "period": "2026-10",
              "revenue_yuan": "50", "step": "confirm"},
    )  # fmt: skip
    assert saved.status_code == 303
    before = env.hub.store.records.get("enterprise_monthly", f"{p2_code}|2026-10")
    taken = web.post(
        "/console/parks/p1/entry/form",
        data={"csrf_token": csrf, "credit_code": p2_code, "period": "2026-10",
              "revenue_yuan": "1"},
    )  # fmt: skip
    assert taken.status_code == 422 and "属于其他园区" in taken.text
    roster = web.post(
        "/console/parks/p1/entry/upload",
        files={"file": ("r.csv", roster_csv([(p2_code, "温州明视眼镜有限公司")]), "text/csv")},
        data={"csrf_token": csrf},
    )
    assert roster.status_code == 422 and 'id="refused"' in roster.text
    assert env.hub.store.records.get("enterprise_monthly", f"{p2_code}|2026-10") == before
    assert env.hub.store.records.get("enterprise", p2_code)["park_id"] == P2  # type: ignore[index]

    # The JSON API, with a bearer token.
    token = env.accounts.create_api_token("alice")
    api = httpx.Client(base_url=env.url, headers={"Authorization": f"Bearer {token}"})
    try:
        assert api.get("/api/parks").json() == [
            {"id": "p1", "name": "鹿城智造小微企业园", "division_code": "330302"}
        ]
        assert api.get("/api/parks/p2/dashboard").status_code == 403
        assert api.get("/api/parks/p2/deliveries").status_code == 403
        assert api.get(f"/api/parks/p2/deliveries/{p2_id}").status_code == 403
        assert api.get(f"/api/parks/p1/deliveries/{p2_id}").status_code == 404
        assert api.get("/api/deliveries", params={"park": "p2"}).status_code == 403
        assert {d["id"] for d in api.get("/api/deliveries").json()} == p1_ids
        assert api.post(f"/api/deliveries/{p2_id}/replay").status_code == 404
        assert api.post(f"/api/parks/p2/deliveries/{p2_id}/replay").status_code == 403
        assert api.get("/api/parks/p2/entry/template").status_code == 403
        files = {"file": ("a.csv", b"x", "text/csv")}
        assert api.post("/api/parks/p2/entry", files=files).status_code == 403
        assert api.get("/api/status").status_code == 403
    finally:
        api.close()
    assert env.hub.store.outbox.deliveries(ids=[p2_id])[0]["status"] == "dead"
    assert _audit(env, "replay") == []

    # An administrator sees both parks.
    root = env.web("root")
    home = root.get("/console/")
    assert home.status_code == 200 and "瓯海眼镜小微企业园" in home.text
    assert root.get(f"/console/parks/p2/deliveries/{p2_id}").status_code == 200
    assert root.get("/api/status").json()["platforms"]["provincial"]["dead"] == len(dead)


def test_unauthenticated_api_and_bad_tokens(sqlite_env: ConsoleEnv) -> None:
    url = sqlite_env.url
    for path in ("/api/status", "/api/deliveries", "/api/me", "/api/parks/p1/dashboard"):
        r = httpx.get(url + path)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer", path
    bad = httpx.get(url + "/api/me", headers={"Authorization": "Bearer phk_forged"})
    assert bad.status_code == 401
    assert httpx.post(url + "/api/deliveries/1/replay").status_code == 401
    # Push receivers, health and metrics stay open.
    assert httpx.get(url + "/healthz").status_code == 200
    assert httpx.get(url + "/metrics").status_code == 200


def test_too_many_wrong_passwords_pause_sign_in(sqlite_env: ConsoleEnv) -> None:
    web = sqlite_env.web()
    for _ in range(5):
        assert web.login("alice", "wrong-password").status_code == 401
    paused = web.login("alice")
    assert paused.status_code == 429 and "5 分钟" in paused.text
    assert sqlite_env.web().login("bob").status_code == 303  # other users are not affected


def test_next_parameter_cannot_leave_the_console(sqlite_env: ConsoleEnv) -> None:
    web = sqlite_env.web()
    page = web.get("/console/login")
    r = web.post(
        "/console/login",
        data={
            "username": "alice",
            "password": PASSWORDS["alice"],
            "csrf_token": csrf_of(page.text),
            "next": "//evil.example/console/",
        },
    )
    assert r.status_code == 303 and r.headers["location"] == "/console/"


def test_account_page_token_and_password_change(sqlite_env: ConsoleEnv) -> None:
    web = sqlite_env.web("alice")
    page = web.post("/console/account/token", data={"csrf_token": web.csrf()})
    assert page.status_code == 200
    token = page.text.split('<pre id="api-token">')[1].split("</pre>")[0]
    me = httpx.get(f"{sqlite_env.url}/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == "alice" and me.json()["csrf_token"] is None
    other = sqlite_env.web("alice")  # a second session of the same user

    csrf = web.csrf()
    bad = web.post(
        "/console/account/password",
        data={"csrf_token": csrf, "current": "wrong", "new": "x" * 12, "confirm": "x" * 12},
    )
    assert bad.status_code == 422 and "当前密码不对" in bad.text
    short = web.post(
        "/console/account/password",
        data={
            "csrf_token": csrf,
            "current": PASSWORDS["alice"],
            "new": "short",
            "confirm": "short",
        },
    )
    assert short.status_code == 422 and "至少 8 位" in short.text
    done = web.post(
        "/console/account/password",
        data={
            "csrf_token": csrf,
            "current": PASSWORDS["alice"],
            "new": "a-new-password-1",
            "confirm": "a-new-password-1",
        },
    )
    assert done.status_code == 303
    assert web.get("/console/account").status_code == 200  # this browser keeps a new session
    assert other.get("/console/account").status_code == 303  # the other one is signed out
    assert sqlite_env.web().login("alice", "a-new-password-1").status_code == 303


def test_openapi_documents_the_authenticated_api(sqlite_env: ConsoleEnv) -> None:
    doc = httpx.get(f"{sqlite_env.url}/openapi.json").json()
    paths = doc["paths"]
    for path in (
        "/api/status",
        "/api/deliveries",
        "/api/deliveries/{delivery_id}/replay",
        "/api/parks/{park_id}/dashboard",
        "/api/parks/{park_id}/deliveries/{delivery_id}",
        "/api/parks/{park_id}/entry",
        "/push/ctwing/{source}",
    ):
        assert path in paths, path
    assert not any(p.startswith("/console") for p in paths)
    schemes = doc["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    assert schemes["APIKeyCookie"]["in"] == "cookie"
    assert paths["/api/status"]["get"]["security"]
