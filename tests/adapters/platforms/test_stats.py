"""统计 platform: the monthly form as .xlsx (headers with units, title, one row per enterprise,
corrections in place, concurrent writers), the optional upload, and the hub end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from parkhub.adapters.platforms.stats import (
    FIRST_ROW,
    HEADER_ROW,
    META_SHEET,
    SHEET,
    StatsConfig,
    StatsPlatform,
)
from parkhub.canonical import EnterpriseMonthly
from parkhub.config import parse_config
from parkhub.errors import PermanentDeliveryError, TransientDeliveryError
from parkhub.hub import Hub
from parkhub.mappings.engine import load_mapping
from parkhub.sandbox.server import ServerHandle, serve_in_thread
from parkhub.sandbox.stats_sim import StatsSim
from parkhub.scheduler.platforms import bind_mappings
from parkhub.schemas.loader import payload_validator
from tests.helpers import FIXTURES

GOLDEN = FIXTURES / "golden"
TOKEN_ENV = "PARKHUB_TEST_STATS_TOKEN"
TOKEN = "stats-upload-token-0c4e"
PARK = "wz-lc-0001"
PARK_NAME = "鹿城智造小微企业园"
SPEC = StatsPlatform.reports["enterprise_monthly"]
HEADERS = [
    "序号",
    "统一社会信用代码",
    "工业总产值(万元)",
    "营业收入(万元)",
    "利润总额(万元)",
    "税收(万元)",
    "从业人员期末人数(人)",
    "用电量(万千瓦时)",
    "综合能源消费量(吨标准煤)",
    "备注",
]


def golden(case: str) -> tuple[dict[str, Any], dict[str, Any]]:
    doc = json.loads((GOLDEN / f"{case}.canonical.json").read_text(encoding="utf-8"))
    payload = json.loads((GOLDEN / f"{case}.payload.json").read_text(encoding="utf-8"))
    return doc, payload


def sheet_rows(path: Path) -> list[tuple[Any, ...]]:
    wb = load_workbook(path)
    try:
        return [tuple(r) for r in wb[SHEET].iter_rows(values_only=True)]
    finally:
        wb.close()


def data_rows(path: Path) -> dict[str, tuple[Any, ...]]:
    return {str(r[1]): r for r in sheet_rows(path)[FIRST_ROW - 1 :]}


def row_payload(n: int, **kw: Any) -> dict[str, Any]:
    base_payload = {
        "parkCode": PARK,
        "statPeriod": "202610",
        "creditCode": f"9133030200000{n:05d}",
        "outputValue": 100.0 + n,
        "employeeNum": n,
        "remark": "",
        "revision": 1,
    }
    return {**base_payload, **kw}


@pytest.mark.parametrize(
    "case", ["stats_enterprise_monthly_2026-10", "stats_enterprise_monthly_correction"]
)
def test_golden_payloads(case: str) -> None:
    doc, expected = golden(case)
    payload = load_mapping(SPEC.mapping).apply(doc)
    assert payload == expected
    assert SPEC.schema is not None
    assert list(payload_validator(SPEC.schema).iter_errors(payload)) == []


def labelled(platform: StatsPlatform) -> StatsPlatform:
    """The platform with its mapping labels, as the hub's runtime hands them over."""
    bind_mappings(platform, platform.reports)
    return platform


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[StatsPlatform]:
    config = StatsConfig.model_validate(
        {"export_dir": str(tmp_path / "exports"), "park_names": {PARK: PARK_NAME}}
    )
    p = labelled(StatsPlatform(config))
    yield p
    p.close()


def test_the_columns_are_the_mapping_labels_handed_over(tmp_path: Path) -> None:
    alone = StatsPlatform(StatsConfig(export_dir=tmp_path))
    with pytest.raises(PermanentDeliveryError, match="no column labels for enterprise_monthly"):
        alone.send("enterprise_monthly", row_payload(1), "ph1-1")
    assert not (tmp_path / "企业月报_wz-lc-0001_202610.xlsx").exists()
    labels = load_mapping(SPEC.mapping).labels()
    assert labelled(alone).columns("enterprise_monthly") == (labels, HEADERS[1:])


def test_workbook_has_title_headers_units_and_rows(platform: StatsPlatform) -> None:
    _, first = golden("stats_enterprise_monthly_2026-10")
    _, second = golden("stats_enterprise_monthly_correction")
    r1 = platform.send("enterprise_monthly", first, "ph1-a")
    r2 = platform.send("enterprise_monthly", {**second, "remark": "", "revision": 1}, "ph1-b")
    path = platform.workbook_path(PARK, "202610")
    assert path.name == "企业月报_wz-lc-0001_202610.xlsx"
    assert r1.receipt_id == f"{path}#R{FIRST_ROW}" and r2.receipt_id == f"{path}#R{FIRST_ROW + 1}"
    rows = sheet_rows(path)
    assert "2026年10月" in rows[0][0]
    assert PARK_NAME in rows[1][0] and PARK in rows[1][0]
    assert list(rows[HEADER_ROW - 1]) == HEADERS
    assert rows[FIRST_ROW - 1] == (
        1, "913303020000001234", 1234.6, 1357.9, 123.5, 45.7, 86, 23.46, 123.46, None
    )  # fmt: skip
    assert rows[FIRST_ROW] == (
        2, "91350100M0001TGQXM", None, 250, -12.3, 0, 12, 0.99, None, None
    )  # fmt: skip
    assert len(rows) == FIRST_ROW + 1
    wb = load_workbook(path)
    assert wb[META_SHEET].sheet_state == "hidden"
    wb.close()
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_correction_replaces_the_row_and_is_marked(platform: StatsPlatform) -> None:
    for n in range(3):
        platform.send("enterprise_monthly", row_payload(n), f"ph1-{n}")
    fixed = row_payload(1, outputValue=999.9, remark="更正", revision=2)
    receipt = platform.send("enterprise_monthly", fixed, "ph1-fix")
    path = platform.workbook_path(PARK, "202610")
    assert receipt.receipt_id == f"{path}#R{FIRST_ROW + 1}" and not receipt.duplicate
    rows = data_rows(path)
    assert len(rows) == 3
    assert rows[fixed["creditCode"]] == (2, fixed["creditCode"], 999.9, None, None, None, 1,
                                         None, None, "更正")  # fmt: skip
    assert [r[0] for r in rows.values()] == [1, 2, 3]  # the row stayed where it was


def test_repeats_and_older_revisions_do_not_touch_the_file(platform: StatsPlatform) -> None:
    platform.send("enterprise_monthly", row_payload(1, revision=2, outputValue=5.0), "ph1-r2")
    path = platform.workbook_path(PARK, "202610")
    before = path.read_bytes()
    again = platform.send("enterprise_monthly", row_payload(1, revision=2), "ph1-r2")
    assert again.duplicate
    older = platform.send("enterprise_monthly", row_payload(1, outputValue=1.0), "ph1-r1")
    assert older.duplicate and older.detail["stale"]
    assert path.read_bytes() == before


def test_concurrent_writers_lose_no_rows(platform: StatsPlatform, tmp_path: Path) -> None:
    other = labelled(StatsPlatform(platform.config))  # a second dispatcher thread's instance
    errors: list[BaseException] = []

    def write(p: StatsPlatform, n: int) -> None:
        try:
            p.send("enterprise_monthly", row_payload(n), f"ph1-{n}")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=write, args=(platform if n % 2 else other, n)) for n in range(24)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = data_rows(platform.workbook_path(PARK, "202610"))
    assert sorted(rows) == sorted(row_payload(n)["creditCode"] for n in range(24))


def test_another_process_writing_the_same_workbook_loses_no_rows(
    platform: StatsPlatform,
) -> None:
    script = (
        "import sys\n"
        "from parkhub.adapters.platforms.stats import StatsConfig, StatsPlatform\n"
        "from parkhub.scheduler.platforms import bind_mappings\n"
        "p = StatsPlatform(StatsConfig(export_dir=sys.argv[1]))\n"
        "bind_mappings(p, p.reports)\n"
        "for n in range(100, 130):\n"
        "    p.send('enterprise_monthly', {'parkCode': 'wz-lc-0001', 'statPeriod': '202610',"
        " 'creditCode': f'9133030200000{n:05d}', 'revision': 1}, f'ph1-p{n}')\n"
    )
    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(platform.config.export_dir)], env=env, cwd=root
    )
    path = platform.workbook_path(PARK, "202610")
    deadline = time.monotonic() + 30
    while not path.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)  # start once the other process is writing
    for n in range(30):
        platform.send("enterprise_monthly", row_payload(n), f"ph1-{n}")
    assert proc.wait(timeout=60) == 0
    assert len(data_rows(path)) == 60


def test_an_unreadable_workbook_is_a_permanent_error(platform: StatsPlatform) -> None:
    path = platform.workbook_path(PARK, "202610")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a workbook")
    with pytest.raises(PermanentDeliveryError, match="无法读取"):
        platform.send("enterprise_monthly", row_payload(1), "ph1-1")


# -- the upload -------------------------------------------------------------------------------


@pytest.fixture
def sim() -> Iterator[tuple[StatsSim, ServerHandle]]:
    s = StatsSim(token=TOKEN)
    with serve_in_thread(s.app) as handle:
        yield s, handle


def uploading(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch, token: str = TOKEN
) -> StatsPlatform:
    monkeypatch.setenv(TOKEN_ENV, token)
    return labelled(
        StatsPlatform(
            StatsConfig.model_validate(
                {
                    "export_dir": str(tmp_path / "exports"),
                    "upload_url": f"{url}/upload",
                    "upload_token": f"env:{TOKEN_ENV}",
                    "timeout_seconds": 2,
                }
            )
        )
    )


def test_upload_returns_its_receipt_and_sends_the_workbook(
    tmp_path: Path, sim: tuple[StatsSim, ServerHandle], monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = uploading(tmp_path, sim[1].url, monkeypatch)
    try:
        receipt = platform.send("enterprise_monthly", row_payload(1), "ph1-1")
        assert receipt.receipt_id.startswith("TJ") and not receipt.duplicate
        path = platform.workbook_path(PARK, "202610")
        assert receipt.detail["file"] == str(path) and receipt.detail["row"] == FIRST_ROW
        assert sim[0].latest[(PARK, "202610")] == path.read_bytes()
        again = platform.send("enterprise_monthly", row_payload(1), "ph1-1")
        assert again.duplicate and again.receipt_id == receipt.receipt_id
        sim[0].fail("503")
        with pytest.raises(TransientDeliveryError, match="503"):
            platform.send("enterprise_monthly", row_payload(2), "ph1-2")
        assert len(data_rows(path)) == 2  # written; the retry uploads it again
        assert platform.send("enterprise_monthly", row_payload(2), "ph1-2").receipt_id.startswith(
            "TJ"
        )
        sim[0].fail("business")
        with pytest.raises(PermanentDeliveryError, match="2002"):
            platform.send("enterprise_monthly", row_payload(3), "ph1-3")
    finally:
        platform.close()


def test_bad_upload_token_is_permanent_and_never_shown(
    tmp_path: Path, sim: tuple[StatsSim, ServerHandle], monkeypatch: pytest.MonkeyPatch
) -> None:
    platform = uploading(tmp_path, sim[1].url, monkeypatch, token="wrong-token-xyz")
    try:
        with pytest.raises(PermanentDeliveryError) as err:
            platform.send("enterprise_monthly", row_payload(1), "ph1-1")
    finally:
        platform.close()
    assert "1001" in str(err.value) and "wrong-token-xyz" not in str(err.value)


# -- end to end through the hub ---------------------------------------------------------------


@pytest.fixture
def hub(
    db_url: str,
    tmp_path: Path,
    sim: tuple[StatsSim, ServerHandle],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Hub]:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    config = parse_config(
        {
            "parks": [{"id": PARK, "name": PARK_NAME, "division_code": "330302"}],
            "platforms": [
                {
                    "name": "stats",
                    "type": "stats",
                    "config": {
                        "export_dir": str(tmp_path / "stats"),
                        "upload_url": f"{sim[1].url}/upload",
                        "upload_token": f"env:{TOKEN_ENV}",
                        "park_names": {PARK: PARK_NAME},
                    },
                    "reports": ["enterprise_monthly"],
                    "retry": {"short_retries": 0, "base_seconds": 0.1},
                }
            ],
        }
    )
    h = Hub.open(config, url=db_url)
    yield h
    h.close()


def test_hub_writes_the_form_and_corrections_in_place(
    hub: Hub, tmp_path: Path, sim: tuple[StatsSim, ServerHandle]
) -> None:
    doc, expected = golden("stats_enterprise_monthly_2026-10")
    first = EnterpriseMonthly.model_validate({k: v for k, v in doc.items() if k != "_meta"})
    others = [
        EnterpriseMonthly(
            park_id=PARK,
            credit_code=f"9133030200000{n:04d}X",
            period="2026-10",
            revenue_yuan=10000.0 * n,
        )
        for n in range(1, 6)
    ]
    hub.ingest_records([first, *others], source="test")
    stats = hub.dispatch()  # 6 sends in parallel into one workbook
    assert stats.sent == 6 and stats.dead == 0
    path = tmp_path / "stats" / "企业月报_wz-lc-0001_202610.xlsx"
    assert list(sheet_rows(path)[HEADER_ROW - 1]) == HEADERS  # the labels the runtime handed over
    rows = data_rows(path)
    assert len(rows) == 6
    assert rows[first.credit_code][1:] == (
        expected["creditCode"], expected["outputValue"], expected["revenue"], expected["profit"],
        expected["tax"], expected["employeeNum"], expected["electricity"],
        expected["energyConsumption"], None,
    )  # fmt: skip
    assert hub.status()["platforms"]["stats"]["sent"] == 6
    receipts = {d["receipt_id"] for d in hub.store.outbox.deliveries(status=["sent"], limit=20)}
    assert receipts == {a.receipt for a in sim[0].accepted.values()}

    hub.ingest_records([first.model_copy(update={"tax_yuan": 500000.0})], source="test")
    assert hub.dispatch().sent == 1
    rows = data_rows(path)
    assert len(rows) == 6
    assert rows[first.credit_code][5] == 50.0 and rows[first.credit_code][-1] == "更正"
    uploaded = sim[0].latest[(PARK, "202610")]
    assert uploaded == path.read_bytes()
    assert hub.status()["platforms"]["stats"] == {
        "sent": 7, "pending": 0, "failed": 0, "dead": 0, "superseded": 0
    }  # fmt: skip
