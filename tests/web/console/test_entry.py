"""Monthly entry over real HTTP: the form (valid, invalid, saved with a warning), the form's CSV,
and the template downloaded, filled with a bad row, uploaded and fixed."""

from __future__ import annotations

import io
import urllib.parse

import openpyxl

from parkhub.canonical import jsonutil
from parkhub.web.console import form_csv
from tests.web.console.support import ENTERPRISES, P1, PERIOD, ConsoleEnv, credit_code


def _monthly(env: ConsoleEnv, code: str, period: str = PERIOD) -> dict[str, object] | None:
    row = env.hub.store.records.get("enterprise_monthly", f"{code}|{period}")
    if row is None:
        return None
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
    new = {"csrf_token": csrf, "credit_code": "91330302MA00000001", "period": PERIOD,
           "revenue_yuan": "10"}  # fmt: skip
    unnamed = web.post("/console/parks/p1/entry/form", data=new)
    assert unnamed.status_code == 422 and "新企业请填写企业名称" in unnamed.text
    new["name"] = "温州新开电子有限公司"
    review = web.post("/console/parks/p1/entry/form", data=new)
    assert review.status_code == 200 and 'id="confirm"' in review.text  # the review step
    assert "校验" in review.text and "将加入名录" in review.text and "省小微园平台" in review.text
    assert _monthly(env, "91330302MA00000001") is None  # nothing stored before confirming
    check_digit = web.post("/console/parks/p1/entry/form", data={**new, "step": "confirm"})
    assert check_digit.status_code == 200 and "校验" in check_digit.text  # saved, with a warning
    assert 'id="import-result"' in check_digit.text
    roster = env.hub.store.records.get("enterprise", "91330302MA00000001")
    assert roster is not None and "温州新开电子有限公司" in roster["doc"]
    known = web.get(f"/console/parks/p1/entry/form?credit_code={code}&period={PERIOD}")
    assert 'id="f-credit_code" value="' + code + '" maxlength="24" required readonly' in known.text
    assert 'id="f-name"' not in known.text
    moved = web.post(
        "/console/parks/p1/entry/form",
        data={"csrf_token": csrf, "credit_code": ENTERPRISES[P1][1][0], "period": PERIOD,
              "original_credit_code": code, "revenue_yuan": "1"},
    )  # fmt: skip
    assert moved.status_code == 422 and "信用代码不能修改" in moved.text

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
            "step": "confirm",
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
              "employees": "35", "electricity_kwh": "1.2", "step": "confirm"},
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
