"""A park's dashboard, as a page and through the API: platforms, failures, the calendar."""

from __future__ import annotations

from tests.web.console.support import PERIOD, ConsoleEnv


def test_dashboard_shows_platforms_failures_and_calendar(sqlite_env: ConsoleEnv) -> None:
    env = sqlite_env
    env.hub.dispatch()  # the roster goes out
    env.hub.build_reports(PERIOD)
    env.kill_deliveries()  # the park reports die on a business error
    web = env.web("alice")
    page = web.get("/console/parks/p1")
    assert page.status_code == 200
    html = page.text
    platforms = html.split('id="platforms"')[1].split("</table>")[0]
    # the names operators use, not the config's identifiers
    assert "省小微园平台" in platforms and "园区月报、入园企业名录" in platforms
    assert "回执 ZJ" in platforms  # the last successful delivery and its receipt
    failures = html.split('id="failures"')[1].split("</table>")[0]
    assert "已停止重试" in failures and "园区编码不存在" in failures
    calendar = html.split('id="calendar"')[1].split("</table>")[0]
    assert "省小微园平台 · 园区月报" in calendar and "温州恒达鞋业有限公司" in calendar  # missing
    assert "park_monthly" not in calendar
    assert "瓯海" not in html  # nothing of the other park

    data = web.get("/api/parks/p1/dashboard").json()
    [provincial] = data["platforms"]
    assert provincial["counts"]["sent"] == 2 and provincial["counts"]["dead"] == 1
    assert provincial["last_sent"]["receipt_id"].startswith("ZJ")
    sent = [
        d
        for d in env.hub.store.outbox.deliveries(status=["sent"], platform="provincial")
        if d["park_id"] == "p1"
    ]
    assert provincial["last_sent"]["id"] == max(d["id"] for d in sent) and len(sent) == 2
    assert {e["report"] for e in data["calendar"]} == {"park_monthly"}
    assert data["failures"][0]["last_error"]
