"""The report page (preview, build, held when empty), one page per enterprise, the ledger with
its filters, paging and xlsx export, labelled delivery details with every try, bulk replay
behind a confirmation, and the styled 404."""

from __future__ import annotations

import io

import openpyxl

from parkhub.errors import InputError
from tests.web.console.support import ENTERPRISES, P1, PERIOD, ConsoleEnv, csrf_of


def _monthly_csv(code: str, revenue: str) -> bytes:
    return (
        "统一社会信用代码,统计期间,营业收入(万元),税收(万元),用电量(万千瓦时)\r\n"
        f"{code},{PERIOD},{revenue},12.5,3\r\n"
    ).encode()


def vendor_rejected(env: ConsoleEnv, code: str) -> None:
    """A vendor's row for the enterprise, refused for text in a number field (as Qisheng's
    adapter names it: tests/reports covers the real pull)."""
    store = env.hub.store
    reason = "应为数字 (must be a number, got '约300')"
    with store.begin() as conn:
        raw_id, _ = store.inbox.add(conn, source="entry:p1", stream="monthly", body=b"{}")
        error = InputError("entry:p1", f"monthly#{code}@{PERIOD}", "revenue", reason)
        store.inbox.finish(conn, raw_id, records=0, errors=[error])


def test_report_page_previews_then_builds_and_queues(sqlite_env: ConsoleEnv) -> None:
    env = sqlite_env
    code = ENTERPRISES[P1][0][0]
    env.hub.import_entry(_monthly_csv(code, "300"), P1, filename="m.csv")
    web = env.web("alice")
    page = web.get(f"/console/parks/p1/report?period={PERIOD}")
    assert page.status_code == 200
    figures = page.text.split('id="figures-table"')[1].split("</table>")[0]
    assert "营业收入" in figures and "300.00" in figures and "亩均税收" in figures
    assert 'id="build"' in page.text  # nothing was built: the preview, and a build button
    assert env.hub.store.records.counts().get("park_monthly", 0) == 0
    previews = page.text.split('id="previews"')[1].split("</section>")[0]
    assert "省小微园平台 · 园区月报" in previews and "营业收入(万元)" in previews
    assert 'id="trend-data"' in page.text and "/console/static/echarts/echarts.min.js" in page.text
    assert "温州瓯江电气有限公司" in page.text.split('id="report-enterprises"')[1]  # no data yet
    built = web.post(
        "/console/parks/p1/report/build", data={"period": PERIOD, "csrf_token": csrf_of(page.text)}
    )
    assert built.status_code == 303 and "msg=built" in built.headers["location"]
    after = web.get(built.headers["location"])
    assert 'id="up-to-date"' in after.text and "待发送" in after.text
    assert env.hub.store.records.counts()["park_monthly"] == 1
    [audit] = [a for a in env.hub.store.audit.log() if a["action"] == "report_build"]
    assert audit["actor"] == "web:alice"
    static = web.get("/console/static/echarts/echarts.min.js")
    assert static.status_code == 200 and len(static.content) > 500_000
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_a_park_without_enterprises_is_held_not_queued(sqlite_env: ConsoleEnv) -> None:
    env = sqlite_env
    env.hub.config.parks.append(env.hub.config.parks[1].model_copy(update={"id": "p3"}))
    env.accounts.set_parks("alice", [P1, "p3"])
    web = env.web("alice")
    page = web.get(f"/console/parks/p3/report?period={PERIOD}")
    assert 'id="held"' in page.text and 'id="build"' not in page.text
    r = web.post(
        "/console/parks/p3/report/build", data={"period": PERIOD, "csrf_token": csrf_of(page.text)}
    )
    assert "msg=held" in r.headers["location"]
    assert env.hub.store.records.counts().get("park_monthly", 0) == 0
    assert env.hub.store.outbox.deliveries(record_kind="park_monthly") == []


def test_enterprise_page_shows_sources_deliveries_and_rejected_values(
    sqlite_env: ConsoleEnv,
) -> None:
    env = sqlite_env
    code, name = ENTERPRISES[P1][0]
    env.hub.import_entry(_monthly_csv(code, "280"), P1, filename="fixed.csv")
    vendor_rejected(env, code)
    env.hub.dispatch()
    web = env.web("alice")
    listing = web.get("/console/parks/p1/enterprises")
    assert name in listing.text and f"/console/parks/p1/enterprises/{code}" in listing.text
    page = web.get(f"/console/parks/p1/enterprises/{code}")
    assert page.status_code == 200 and f"<h1>{name}" in page.text
    months = page.text.split('id="months"')[1].split("</section>")[0]
    assert PERIOD in months and "280.00" in months and "人工填报" in months
    assert "fixed.csv" in months and "第 1 版" in months
    roster = page.text.split('id="roster"')[1].split("</section>")[0]
    assert "名录.csv" in roster and "省小微园平台 · 入园企业名录" in roster and "回执 ZJ" in roster
    rejected = page.text.split('id="rejected"')[1].split("</section>")[0]
    assert "约300" in rejected
    form = web.get(f"/console/parks/p1/entry/form?credit_code={code}&period={PERIOD}")
    assert "约300" in form.text.split('id="rejected"')[1]  # on the enterprise's form too
    other = ENTERPRISES["p2"][0][0]
    assert web.get(f"/console/parks/p1/enterprises/{other}").status_code == 404


def test_ledger_filters_pages_and_exports(sqlite_env: ConsoleEnv) -> None:
    env = sqlite_env
    env.hub.dispatch()  # the rosters
    env.hub.build_reports(PERIOD)
    env.hub.dispatch()
    web = env.web("alice")
    page = web.get("/console/parks/p1/ledger")
    assert page.status_code == 200 and page.text.count('data-status="sent"') == 3
    assert (
        "省小微园平台" in page.text
        and "园区月报" in page.text
        and "温州恒达鞋业有限公司" in page.text
    )
    only = web.get("/console/parks/p1/ledger?report=park_monthly&period=" + PERIOD)
    assert only.text.count('data-status="sent"') == 1
    one = web.get(f"/console/parks/p1/ledger?enterprise={ENTERPRISES[P1][0][0]}")
    assert one.text.count('data-status="sent"') == 1
    none = web.get("/console/parks/p1/ledger?since=2000-01-01&until=2000-01-02")
    assert 'data-status="' not in none.text
    assert web.get("/console/parks/p1/ledger?since=yesterday").status_code == 400
    rows, total = env.hub.store.ledger.page(
        __import__("parkhub.store", fromlist=["LedgerFilter"]).LedgerFilter(park_ids=[P1]),
        offset=2,
        limit=2,
    )
    assert total == 3 and len(rows) == 1  # paging
    export = web.get("/console/parks/p1/ledger.xlsx?report=enterprise_roster")
    assert export.status_code == 200 and "attachment" in export.headers["content-disposition"]
    ws = openpyxl.load_workbook(io.BytesIO(export.content)).active
    rows_x = list(ws.iter_rows(values_only=True))
    assert "报送台账" in rows_x[0][0] and rows_x[1][2] == "报送平台"
    assert len(rows_x) == 4 and all(r[2] == "省小微园平台" for r in rows_x[2:])
    assert all(str(r[11]).startswith("ZJ") for r in rows_x[2:])  # the receipts
    assert "瓯海" not in str(rows_x)  # nothing of the other park


def test_delivery_details_are_labelled_with_every_try(sqlite_env: ConsoleEnv) -> None:
    env = sqlite_env
    env.hub.build_reports(PERIOD)
    [dead] = [
        d for d in env.kill_deliveries() if d["report"] == "park_monthly" and d["park_id"] == P1
    ]
    env.hub.replay(actor="web:alice", ids=[dead["id"]])
    env.hub.dispatch()
    web = env.web("alice")
    page = web.get(f"/console/parks/{dead['park_id']}/deliveries/{dead['id']}")
    payload = page.text.split('id="payload-table"')[1].split("</table>")[0]
    assert "营业收入(万元)" in payload and "入园企业数(家)" in payload
    receipt = page.text.split('id="receipt-table"')[1].split("</table>")[0]
    assert "回执号" in receipt and "+00:00" not in receipt  # Beijing time
    assert "<details><summary>原始 JSON" in page.text  # the raw JSON a click away
    attempts = page.text.split('id="attempts"')[1].split("</table>")[0]
    assert "园区编码不存在" in attempts and "重新投递（web:alice）" in attempts
    assert "已送达" in attempts and attempts.count('<tr class="attempt-') == 3
    api = web.get(f"/api/parks/{dead['park_id']}/deliveries/{dead['id']}").json()
    assert [x["outcome"] for x in api["tries"]] == ["dead", "replayed", "sent"]


def test_bulk_replay_asks_first_naming_how_many(sqlite_env: ConsoleEnv) -> None:
    env = sqlite_env
    env.hub.build_reports(PERIOD)
    dead = [d for d in env.kill_deliveries() if d["park_id"] == P1]
    web = env.web("alice")
    listing = web.get("/console/parks/p1/deliveries")
    assert 'id="bulk-replay"' in listing.text
    assert "温州恒达鞋业有限公司" in listing.text  # enterprises by name, not credit code
    token = csrf_of(listing.text)
    ask = web.post("/console/parks/p1/deliveries/replay", data={"csrf_token": token})
    assert ask.status_code == 200 and f"<strong>{len(dead)}</strong>" in ask.text
    assert env.hub.store.outbox.count(status=["dead"], park_ids=[P1]) == len(dead)  # not yet
    stale = web.post(
        "/console/parks/p1/deliveries/replay", data={"csrf_token": token, "confirm": "99"}
    )
    assert stale.status_code == 200 and "数量已变化" in stale.text
    done = web.post(
        "/console/parks/p1/deliveries/replay",
        data={"csrf_token": token, "confirm": str(len(dead))},
    )
    assert done.status_code == 303 and f"n={len(dead)}" in done.headers["location"]
    assert env.hub.store.outbox.count(status=["dead"], park_ids=[P1]) == 0
    assert f"已重新排队 {len(dead)} 条" in web.get(done.headers["location"]).text


def test_unknown_pages_get_the_styled_404(sqlite_env: ConsoleEnv) -> None:
    web = sqlite_env.web("alice")
    for path in ("/console/nope", "/nope", "/console/parks/p1/deliveries/not-a-number"):
        r = web.get(path)
        assert r.status_code in (400, 404) and r.headers["content-type"].startswith("text/html")
        assert "返回首页" in r.text
    api = web.get("/api/nope")
    assert api.status_code == 404 and api.headers["content-type"] == "application/json"


def test_an_inbox_problem_is_dismissed_from_the_dashboard(sqlite_env: ConsoleEnv) -> None:
    env = sqlite_env
    vendor_rejected(env, ENTERPRISES[P1][0][0])
    web = env.web("alice")
    page = web.get("/console/parks/p1")
    [problem] = env.hub.store.inbox.messages(with_body=False)
    assert f'id="dismiss-{problem["id"]}"' in page.text
    bob = env.web("bob")  # another park's operator cannot touch it
    denied = bob.post(
        f"/console/parks/p2/inbox/{problem['id']}/dismiss", data={"csrf_token": bob.csrf()}
    )
    assert denied.status_code == 404
    r = web.post(
        f"/console/parks/p1/inbox/{problem['id']}/dismiss", data={"csrf_token": csrf_of(page.text)}
    )
    assert r.status_code == 303 and r.headers["location"].endswith("msg=dismissed")
    assert env.hub.store.inbox.messages(with_body=False) == []
    assert 'id="inbox"' not in web.get("/console/parks/p1").text
    [audit] = [a for a in env.hub.store.audit.log() if a["action"] == "inbox_dismissed"]
    assert audit["actor"] == "web:alice"


def test_bulk_replay_takes_the_listings_filter(sqlite_env: ConsoleEnv) -> None:
    from sqlalchemy import update

    from parkhub.store import schema as t

    env = sqlite_env
    env.hub.build_reports(PERIOD)
    dead = [d for d in env.kill_deliveries() if d["park_id"] == P1]
    assert len(dead) >= 2
    with env.hub.store.begin() as conn:  # one of them died of something else
        conn.execute(
            update(t.deliveries)
            .where(t.deliveries.c.id == dead[0]["id"])
            .values(last_error="HTTP 503 维护中")
        )
    web = env.web("alice")
    listing = web.get("/console/parks/p1/deliveries?status=dead&error=503")
    assert listing.text.count('data-status="dead"') == 1
    assert 'name="error" value="503"' in listing.text.split('id="bulk-replay-form"')[1]
    token = csrf_of(listing.text)
    form = {"csrf_token": token, "error": "503"}
    ask = web.post("/console/parks/p1/deliveries/replay", data=form)
    assert "<strong>1</strong>" in ask.text and "原因包含“503”" in ask.text
    done = web.post("/console/parks/p1/deliveries/replay", data={**form, "confirm": "1"})
    assert done.status_code == 303 and "n=1" in done.headers["location"]
    left = env.hub.store.outbox.deliveries(status=["dead"], park_ids=[P1])
    assert len(left) == len(dead) - 1 and dead[0]["id"] not in {d["id"] for d in left}
