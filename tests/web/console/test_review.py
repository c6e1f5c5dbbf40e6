"""Data review over real HTTP: what the quality rules held back and found, shown to everyone who
sees the park; approve, correct and reject by a reviewer of the park or an administrator only,
each audited as `web:<user>`."""

from __future__ import annotations

from parkhub.canonical import jsonutil
from parkhub.store import HoldStatus
from tests.web.console.support import P1, PASSWORDS, ConsoleEnv, credit_code, csrf_of

CSV = (
    "统一社会信用代码,统计期间,营业收入(万元),工业总产值(万元),税收(万元)\r\n"
    f"{credit_code(1)},2026-10,3500000,340,10\r\n"  # 元 typed into the 万元 column
    f"{credit_code(2)},2026-10,200,210,8\r\n"
).encode()


def _hold(env: ConsoleEnv) -> dict:  # type: ignore[type-arg]
    result = env.hub.import_entry(CSV, P1, filename="月报.csv", stream="enterprise_monthly")
    assert result.held == 1 and result.new == 1
    rows = result.problem_rows()
    assert [(p["level"], p["row"]) for p in rows if p["level"] == "hold"] == [("hold", 2)] * 2
    [hold] = env.hub.store.reviews.holds(park_ids=[P1])
    return hold


def test_reviewers_decide_operators_see(env: ConsoleEnv) -> None:
    hold = _hold(env)
    env.accounts.create_user("rita", PASSWORDS["alice"], role="reviewer", parks=[P1])
    alice = env.web("alice")
    page = alice.get("/console/parks/p1/review")
    assert page.status_code == 200 and f'id="hold-{hold["id"]}"' in page.text
    assert "unit_mistake" in page.text and "疑似单位填错" in page.text
    assert 'name="v_revenue_yuan" value="3500000"' in page.text  # as received, in 万元
    assert 'class="approve"' not in page.text  # an operator sees, does not decide
    denied = alice.post(
        f"/console/parks/p1/review/{hold['id']}/approve", data={"csrf_token": csrf_of(page.text)}
    )
    assert denied.status_code == 403
    assert env.hub.store.reviews.hold(hold["id"])["status"] == HoldStatus.WAITING  # type: ignore[index]

    bob = env.web("bob")  # another park's operator
    assert bob.get("/console/parks/p1/review").status_code == 403

    rita = env.web()
    assert rita.login("rita", PASSWORDS["alice"]).status_code == 303
    page = rita.get("/console/parks/p1/review")
    assert 'class="approve"' in page.text and "审核员" in page.text
    field = "v_revenue_yuan"
    r = rita.post(
        f"/console/parks/p1/review/{hold['id']}/correct",
        data={"csrf_token": csrf_of(page.text), field: "350", "note": "元填成了万元"},
    )
    assert r.status_code == 303 and r.headers["location"].endswith("?msg=reviewed")
    doc = env.hub.store.records.docs_of("enterprise_monthly", [hold["key"]])[hold["key"]]
    assert doc["revenue_yuan"] == 3_500_000.0 and doc["output_value_yuan"] == 3_400_000.0
    [audit] = [a for a in env.hub.store.audit.log() if a["action"] == "review_corrected"]
    assert audit["actor"] == "web:rita"
    assert jsonutil.loads(audit["detail"])["note"] == "元填成了万元"
    done = rita.get("/console/parks/p1/review")
    assert 'id="no-holds"' in done.text and "已更正" in done.text and "web:rita" in done.text


def test_a_bad_correction_is_shown_and_changes_nothing(sqlite_env: ConsoleEnv) -> None:
    env = sqlite_env
    hold = _hold(env)
    root = env.web("root")
    page = root.get("/console/parks/p1/review")
    url = f"/console/parks/p1/review/{hold['id']}"
    r = root.post(
        f"{url}/correct", data={"csrf_token": csrf_of(page.text), "v_revenue_yuan": "约350"}
    )
    assert r.status_code == 422 and "应为数字" in r.text
    r = root.post(f"{url}/correct", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 422 and "approve instead" in r.text
    r = root.post(f"{url}/reject", data={"csrf_token": csrf_of(page.text), "note": "重新填报"})
    assert r.status_code == 303
    assert env.hub.store.reviews.hold(hold["id"])["status"] == HoldStatus.REJECTED  # type: ignore[index]
    assert hold["key"] not in env.hub.store.records.docs_of("enterprise_monthly", [hold["key"]])
    r = root.post(f"{url}/approve", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 422 and "no longer waits" in r.text
    assert root.post(f"{url}/approve", data={"csrf_token": "forged"}).status_code == 403


def test_an_upload_shows_each_rows_findings_and_what_waits(sqlite_env: ConsoleEnv) -> None:
    web = sqlite_env.web("alice")
    page = web.get("/console/parks/p1/entry?period=2026-10")
    r = web.post(
        "/console/parks/p1/entry/upload",
        files={"file": ("月报.csv", CSV, "text/csv")},
        data={"csrf_token": csrf_of(page.text), "period": "2026-10"},
    )
    assert r.status_code == 200, r.text
    assert 'id="import-held"' in r.text and "1 条数据待审核" in r.text
    assert "<td>待审核</td>" in r.text and "疑似单位填错" in r.text
