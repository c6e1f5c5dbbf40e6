"""End to end in headless Chromium (selenium + Debian's chromium and chromium-driver): sign in,
download the template, fill it, upload it with a bad row, see the error, fix it, upload again,
and see the data delivered on the dashboard; then the report page with its charts (drawn by the
ECharts the package serves, under the page's CSP), an enterprise's page, the ledger and its
export, a delivery's labelled details and tries, the form's review step and the styled 404.

Skipped locally when Chromium is missing; under CI=true it fails instead. With
PARKHUB_UPDATE_SCREENSHOTS=1 it refreshes the screenshots in docs/screenshots/.
"""

from __future__ import annotations

import base64
import io
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from parkhub.canonical.timeutil import previous_period, utcnow
from tests.web.console.support import ENTERPRISES, PASSWORDS, ConsoleEnv

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
CHROMEDRIVER = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")


def _find(candidates: tuple[str, ...], name: str) -> str | None:
    for path in candidates:
        if os.access(path, os.X_OK):
            return path
    return shutil.which(name)


def _missing(what: str) -> None:
    message = f"{what} (apt-get install chromium chromium-driver; pip install selenium)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but the browser test cannot run: {message}")
    pytest.skip(message)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing("selenium is not installed")
    binary = _find(CHROMIUM, "chromium")
    driver_path = _find(CHROMEDRIVER, "chromedriver")
    if binary is None or driver_path is None:
        _missing("chromium or chromedriver not found")
    assert binary is not None and driver_path is not None
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1400,900",
        "--lang=zh-CN",
        f"--user-data-dir={tmp_path / 'profile'}",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # CSP refusals land there
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    driver.implicitly_wait(5)
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()


def _wait_for(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out")


def _downloaded(folder: Path) -> Path:
    def done() -> Path | None:
        files = [p for p in folder.iterdir() if p.suffix == ".xlsx"]
        partial = [p for p in folder.iterdir() if p.suffix == ".crdownload"]
        return files[0] if files and not partial else None

    path: Path = _wait_for(done)
    return path


def _upload(driver: Any, path: Path) -> None:
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.ID, "upload-file").send_keys(str(path))
    driver.find_element(By.ID, "upload").click()

    def replaced(_: Any) -> bool:
        # While Chromium swaps documents, asking about the old node can fail with an inspector
        # error instead of a stale-element one: either way the old page is gone.
        try:
            page.is_enabled()
        except WebDriverException:
            return True
        return False

    WebDriverWait(driver, 15).until(replaced)  # the new page
    _wait_for(lambda: driver.find_elements(By.ID, "import-result"))


def test_browser_entry_to_delivery(
    browser: Any, make_env: Callable[[str], ConsoleEnv], sqlite_url: str
) -> None:
    from selenium.webdriver.common.by import By

    env = make_env(sqlite_url)
    driver = browser
    period = previous_period(utcnow())

    driver.get(f"{env.url}/console/")
    assert "/console/login" in driver.current_url
    driver.find_element(By.ID, "username").send_keys("alice")
    driver.find_element(By.ID, "password").send_keys(PASSWORDS["alice"])
    driver.find_element(By.ID, "sign-in").click()
    _wait_for(lambda: driver.current_url.endswith("/console/parks/p1"))
    assert "鹿城智造小微企业园" in driver.find_element(By.TAG_NAME, "h1").text

    driver.find_element(By.LINK_TEXT, "月度填报 Monthly entry").click()
    driver.find_element(By.ID, "template-link").click()
    template = _downloaded(driver.downloads)
    assert template.name == f"鹿城智造小微企业园_{period}_月度数据.xlsx"

    wb = openpyxl.load_workbook(io.BytesIO(template.read_bytes()))
    ws = wb["月度数据"]
    col = {c.value: c.column for c in ws[2]}
    rows = {ws.cell(r, 1).value: r for r in (3, 4)}
    assert len(rows) == 2
    first, second = sorted(rows.values())
    for row, revenue in ((first, 88.5), (second, -3)):  # the second row is wrong
        ws.cell(row, col["营业收入(万元)"]).value = revenue
        ws.cell(row, col["税收(万元)"]).value = 2.5
        ws.cell(row, col["从业人员(人)"]).value = 18
    filled = template.parent.parent / "filled.xlsx"
    wb.save(filled)

    _upload(driver, filled)
    problems = driver.find_element(By.ID, "problems").text
    assert "营业收入不能为负数" in problems and str(second) in problems

    ws.cell(second, col["营业收入(万元)"]).value = 3
    wb.save(filled)
    _upload(driver, filled)
    assert 'id="problems"' not in driver.page_source
    assert "修改 1 条" in driver.find_element(By.ID, "import-counts").text or (
        "新增 1 条" in driver.find_element(By.ID, "import-counts").text
    )

    # The scheduler's work: build the period's report and deliver it to the provincial sandbox.
    env.hub.build_reports(period)
    env.hub.dispatch()
    assert env.provincial.by_report("park_monthly")

    driver.find_element(By.LINK_TEXT, "概览 Dashboard").click()
    platforms = driver.find_element(By.ID, "platforms").text
    assert "省小微园平台" in platforms and f"p1|{period}" in platforms and "回执 ZJ" in platforms
    calendar = driver.find_element(By.ID, "calendar").text
    assert "已报送" in calendar and "1/1" in calendar
    _screenshot(driver, "dashboard")
    _report_enterprise_ledger_delivery(driver, env, period)
    _form_review_and_404(driver, env, period)
    refused = [e for e in driver.get_log("browser") if "Content Security Policy" in e["message"]]
    assert refused == []  # the charts and pages run under the CSP as served


def _screenshot(driver: Any, name: str) -> None:
    """The whole page as docs/screenshots/<name>.png (with PARKHUB_UPDATE_SCREENSHOTS=1)."""
    if os.environ.get("PARKHUB_UPDATE_SCREENSHOTS") != "1":
        return
    size = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                     "scale": 1},
        },
    )  # fmt: skip
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"{name}.png").write_bytes(base64.b64decode(shot["data"]))


def _report_enterprise_ledger_delivery(driver: Any, env: ConsoleEnv, period: str) -> None:
    from selenium.webdriver.common.by import By

    from parkhub.reports.monthly_view import periods_before

    codes = [c for c, _ in ENTERPRISES["p1"]]
    for n, earlier in enumerate(periods_before(period, 7)[:-1]):  # half a year of history
        rows = "".join(
            f"{code},{earlier},{80 + 7 * n + 5 * i},{2 + 0.4 * n},{3 + 0.5 * i}\r\n"
            for i, code in enumerate(codes)
        )
        head = "统一社会信用代码,统计期间,营业收入(万元),税收(万元),用电量(万千瓦时)\r\n"
        env.hub.import_entry((head + rows).encode(), "p1", filename=f"{earlier}.csv")
        env.hub.build_reports(earlier, park="p1")
    driver.find_element(By.LINK_TEXT, "园区月报 Report").click()
    figures = driver.find_element(By.ID, "figures-table").text
    assert "营业收入" in figures and "亩均税收" in figures
    assert driver.find_element(By.ID, "up-to-date")  # built and sent: nothing to build again
    charts = _wait_for(lambda: [c for c in driver.find_elements(By.CSS_SELECTOR, ".chart canvas")])
    assert len(charts) >= 4  # the four trend charts, drawn
    _screenshot(driver, "report")

    driver.find_element(By.CSS_SELECTOR, "#report-enterprises a").click()
    months = driver.find_element(By.ID, "months").text
    assert period in months and "人工填报" in months
    _screenshot(driver, "enterprise")

    driver.find_element(By.LINK_TEXT, "报送台账 Ledger").click()
    ledger = driver.find_element(By.ID, "ledger").text
    assert "省小微园平台" in ledger and "园区月报" in ledger and "ZJ" in ledger
    _screenshot(driver, "ledger")
    driver.find_element(By.ID, "export").click()
    exported = _wait_for(lambda: [p for p in driver.downloads.iterdir() if "台账" in p.name])
    assert exported[0].suffix == ".xlsx"

    driver.find_element(By.CSS_SELECTOR, "#ledger tbody a").click()
    assert driver.find_element(By.ID, "payload-table").text  # labelled, in Chinese
    raw = driver.find_element(By.ID, "payload")
    assert not raw.is_displayed()  # the raw JSON one click away
    driver.find_element(By.CSS_SELECTOR, "#payload-card summary").click()
    assert raw.is_displayed() and "{" in raw.text
    assert "已送达" in driver.find_element(By.ID, "attempts").text
    _screenshot(driver, "delivery")


def _form_review_and_404(driver: Any, env: ConsoleEnv, period: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.LINK_TEXT, "月度填报 Monthly entry").click()
    driver.find_element(By.CSS_SELECTOR, "#enterprises tbody tr a").click()
    code = driver.find_element(By.ID, "f-credit_code")
    assert code.get_attribute("readonly") is not None  # a known enterprise's code is fixed
    field = driver.find_element(By.ID, "f-tax_yuan")
    field.clear()
    field.send_keys("4.5")
    driver.find_element(By.ID, "save").click()
    review = driver.find_element(By.ID, "review").text
    assert ("4.5" in review and "省小微园平台" not in review) or "确认" in review
    _screenshot(driver, "entry-review")
    driver.find_element(By.ID, "confirm").click()
    _wait_for(lambda: "msg=" in driver.current_url)
    assert "已保存" in driver.find_element(By.ID, "notice").text or "无需修改" in (
        driver.find_element(By.ID, "notice").text
    )
    driver.get(f"{env.url}/console/no-such-page")
    assert "404" in driver.find_element(By.TAG_NAME, "h1").text
    assert "返回首页" in driver.page_source
