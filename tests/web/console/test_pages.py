"""Dashboard, monthly entry (form and workbook), deliveries and replay, over real HTTP."""

from __future__ import annotations

import io
import urllib.parse

import httpx
import openpyxl

from parkhub.web.console import form_csv
from tests.web.console.support import ENTERPRISES, P1, ConsoleEnv, credit_code

PERIOD = "2026-10"


def _monthly(env: ConsoleEnv, code: str, period: str = PERIOD) -> dict[str, object] | None:
    row = env.hub.store.records.get("enterprise_monthly", f"{code}|{period}")
    if row is None:
        return None
    from parkhub.canonical import jsonutil

    doc: dict[str, object] = jsonutil.loads(row["doc"])
    return doc


def test_entry_form_valid_and_invalid(sqlite_env: ConsoleEnv) -> None:
    env = sqlite_env
    web = env.web("alice")
    code = ENTERPRISES[P1][0][0]
    page = web.get(f"/console/parks/p1/entry/form?credit_code={code}&period={PERIOD}")
    assert page.status_code == 200 and "温州恒达鞋业有限公司" in page.text
    assert "工业总产值(万元)" in page.text and "用电量(万千瓦时)" in page.text
    csrf = web.csrf(f"/console/parks/p1/entry?period={PERIOD}")

    bad = web.post(
        "/console/parks/p1/entry/form",
        data={
            "csrf_token": csrf,
            "credit_code": code,
            "period": PERIOD,
            "revenue_yuan": "-5",
            "tax_yuan": "十二",
            "employees": "35",
        },
    )
    assert bad.status_code == 422
    assert "未保存" in bad.text and "营业收入不能为负数" in bad.text
    assert 'class="invalid"' in bad.text and 'value="十二"' in bad.text  # entered values kept
    assert _monthly(env, code) is None  # nothing stored from a form with an error

    bad_code = web.post(
        "/console/parks/p1/entry/form",
        data={"csrf_token": csrf, "credit_code": "9133030257", "period": PERIOD,
              "revenue_yuan": "10"},
    )  # fmt: skip
    assert bad_code.status_code == 422 and "统一社会信用代码" in bad_code.text
    check_digit = web.post(
        "/console/parks/p1/entry/form",
        data={"csrf_token": csrf, "credit_code": "91330302MA00000001", "period": PERIOD,
              "revenue_yuan": "10"},
    )  # fmt: skip
    assert check_digit.status_code == 200 and "校验" in check_digit.text  # saved, with a warning
    assert 'id="import-result"' in check_digit.text

    empty = web.post(
        "/console/parks/p1/entry/form",
        data={"csrf_token": csrf, "credit_code": code, "period": PERIOD},
    )
    assert empty.status_code == 422 and "没有填写任何数据" in empty.text

    ok = web.post(
        "/console/parks/p1/entry/form",
        data={
            "csrf_token": csrf,
            "credit_code": code,
            "period": PERIOD,
            "output_value_yuan": "321.5",
            "revenue_yuan": "123.45",
            "tax_yuan": "6.7",
            "profit_yuan": "-12.5",
            "employees": "35",
            "electricity_kwh": "1.2",
        },
    )
    assert ok.status_code == 303, ok.text
    assert ok.headers["location"] == f"/console/parks/p1/entry?period={PERIOD}&msg=saved"
    doc = _monthly(env, code)
    assert doc is not None
    assert doc["revenue_yuan"] == 1234500.0 and doc["profit_yuan"] == -125000.0
    assert doc["employees"] == 35 and doc["electricity_kwh"] == 12000.0
    listing = web.get(ok.headers["location"])
    assert "已保存" in listing.text and "123.45" in listing.text and "已填 2 / 3" in listing.text
    again = web.get(f"/console/parks/p1/entry/form?credit_code={code}&period={PERIOD}")
    assert 'value="123.45"' in again.text and 'value="-12.5"' in again.text

    same = web.post(
        "/console/parks/p1/entry/form",
        data={"csrf_token": csrf, "credit_code": code, "period": PERIOD, "revenue_yuan": "123.45",
              "output_value_yuan": "321.5", "tax_yuan": "6.7", "profit_yuan": "-12.5",
              "employees": "35", "electricity_kwh": "1.2"},
    )  # fmt: skip
    assert same.headers["location"].endswith("msg=unchanged")
    imports = [a for a in env.hub.store.audit.log() if a["action"] == "entry_import"]
    assert imports[0]["actor"] == "web:alice"


def test_form_csv_is_what_the_importer_reads() -> None:
    body = form_csv(credit_code(1), PERIOD, {"revenue_yuan": "1,234.5"}, "note")
    text = body.decode()
    assert text.splitlines()[0].startswith("统一社会信用代码,统计期间,工业总产值(万元)")
    assert '"1,234.5"' in text  # quoted, so a thousands separator stays in its cell


def test_template_download_and_upload_with_a_bad_row(sqlite_env: ConsoleEnv) -> None:
    env = sqlite_env
    web = env.web("alice")
    r = web.get(f"/console/parks/p1/entry/template?period={PERIOD}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    disposition = r.headers["content-disposition"]
    assert urllib.parse.quote("鹿城智造小微企业园_2026-10_月度数据.xlsx") in disposition
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    ws = wb["月度数据"]
    headers = [c.value for c in ws[2]]
    col = {h: i + 1 for i, h in enumerate(headers)}
    assert ws.cell(3, 1).value == ENTERPRISES[P1][0][0]
    ws.cell(3, col["营业收入(万元)"]).value = 88.5
    ws.cell(3, col["从业人员(人)"]).value = 20
    ws.cell(4, col["营业收入(万元)"]).value = -3  # the bad row
    ws.cell(4, col["从业人员(人)"]).value = 12
    buffer = io.BytesIO()
    wb.save(buffer)

    csrf = web.csrf(f"/console/parks/p1/entry?period={PERIOD}")
    files = {"file": ("filled.xlsx", buffer.getvalue(), "application/octet-stream")}
    page = web.post(
        "/console/parks/p1/entry/upload",
        files=files,
        data={"csrf_token": csrf, "period": PERIOD},
    )
    assert page.status_code == 422
    assert 'id="problems"' in page.text
    problems = page.text.split('id="problems"')[1]
    assert "月度数据" in problems and "<td>4</td>" in problems
    assert "营业收入不能为负数" in problems and "-3" in problems
    first, second = (code for code, _ in ENTERPRISES[P1])
    assert _monthly(env, first) is not None and _monthly(env, second) is None

    ws.cell(4, col["营业收入(万元)"]).value = 3
    buffer = io.BytesIO()
    wb.save(buffer)
    files = {"file": ("filled.xlsx", buffer.getvalue(), "application/octet-stream")}
    fixed = web.post(
        "/console/parks/p1/entry/upload", files=files, data={"csrf_token": csrf, "period": PERIOD}
    )
    assert fixed.status_code == 200 and 'id="problems"' not in fixed.text
    assert _monthly(env, second) is not None

    # The other park's template is refused by the importer (its hidden metadata says p2).
    bob = env.web("bob")
    other = bob.get(f"/console/parks/p2/entry/template?period={PERIOD}").content
    refused = web.post(
        "/console/parks/p1/entry/upload",
        files={"file": ("p2.xlsx", other, "application/octet-stream")},
        data={"csrf_token": csrf, "period": PERIOD},
    )
    assert refused.status_code == 422 and "不能导入到园区 p1" in refused.text


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
    assert "provincial" in platforms and "park_monthly, enterprise_roster" in platforms
    assert "回执 ZJ" in platforms  # the last successful delivery and its receipt
    failures = html.split('id="failures"')[1].split("</table>")[0]
    assert "已停止重试" in failures and "园区编码不存在" in failures
    calendar = html.split('id="calendar"')[1].split("</table>")[0]
    assert "park_monthly" in calendar and "温州恒达鞋业有限公司" in calendar  # missing data
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
    from tests.web.console.support import csrf_of

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
