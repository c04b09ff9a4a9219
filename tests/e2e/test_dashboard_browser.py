"""The dashboard in real headless Chromium (Debian's chromium + chromedriver) against a real
`registry serve` loaded with `registry demo`: sign in, overview, a behind city, a record and
its timeline, sign out; a county admin is refused a sibling county. Screenshots of the
overview and of a record page are saved under artifacts/ (git-ignored)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import BIN

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
pytestmark = [pytest.mark.browser, pytest.mark.slow]


def require_browser() -> None:
    if os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER):
        return
    if os.environ.get("CI"):
        pytest.fail("CI is set but chromium/chromedriver are missing (make browser-deps)")
    pytest.skip("chromium and chromium-driver are not installed (make browser-deps)")


@pytest.fixture
def browser(tmp_path):
    require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless", "--no-sandbox", "--disable-gpu",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                     f"--user-data-dir={tmp_path / 'chromium-profile'}",
                     "--window-size=1366,1000"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


def run(env, cwd, *args) -> str:
    done = subprocess.run([str(BIN / "registry"), *args], env=env, cwd=cwd, check=True,
                          capture_output=True, text=True, timeout=240)
    return done.stdout


def wait_for_projections(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = requests.get(f"{base}/v1/ready", timeout=5).json()
        if ready["projection"]["lag_events"] == 0:
            return
        time.sleep(0.3)
    raise AssertionError(f"projections still behind: {ready}")


def screenshot(driver, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1366, min(max(height, 800), 6000))
    path = ARTIFACTS / name
    driver.save_screenshot(str(path))
    driver.set_window_size(1366, 1000)
    print(f"screenshot: {path}")
    return path


def wait_for(driver, condition, what: str):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, 15, poll_frequency=0.1).until(condition, message=what)


def click_and_wait(driver, element, url_part: str) -> None:
    """Click a link or a submit button and wait until the browser is at the new page."""
    from selenium.webdriver.support import expected_conditions as ec

    element.click()
    wait_for(driver, ec.url_contains(url_part), f"no page at {url_part}")
    wait_for(driver, lambda d: d.execute_script("return document.readyState") == "complete",
             "page did not finish loading")


def sign_in(driver, base: str, token: str, landing: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(f"{base}/ui/")
    assert "/ui/sign-in" in driver.current_url
    driver.find_element(By.ID, "token").send_keys(token)
    click_and_wait(driver, driver.find_element(By.ID, "sign-in"), landing)


def test_a_regulator_walks_through_the_dashboard(backend, server, browser, tmp_path):
    from selenium.webdriver.common.by import By

    base, env = server
    printed = run(env, tmp_path, "demo", "--print-token", "--url", f"{base}/ui/")
    token = re.search(r"Token:\s+(qbr_\S+)", printed).group(1)
    county = json.loads(run(env, tmp_path, "principals", "add", "--name", "安吉县市场监管局",
                            "--role", "admin", "--tenant", "330523"))["token"]
    wait_for_projections(base)
    driver = browser

    # Sign in: the province's admin lands on the province's overview.
    sign_in(driver, base, token, "/ui/tenants/330000")
    assert driver.current_url.endswith("/ui/tenants/330000")
    click_and_wait(driver, driver.find_element(By.ID, "quick-midterm"), "as_of=2025-06-30")
    cards = driver.find_elements(By.CSS_SELECTOR, "#cards .card")
    statuses = {card.get_attribute("data-status") for card in cards}
    assert len(cards) >= 4 and "behind" in statuses, statuses
    assert driver.find_elements(By.CSS_SELECTOR, ".card svg.bar .expected-mark")
    screenshot(driver, f"dashboard-overview-{backend}.png")
    # The review as a document: the browser's print to PDF, on A4, several pages.
    import base64

    from selenium.webdriver.common.print_page_options import PrintOptions

    options = PrintOptions()
    options.page_width, options.page_height = 21.0, 29.7
    pdf = base64.b64decode(driver.print_page(options))
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pdf.startswith(b"%PDF") and 2 <= pages <= 30, pages
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"review-print-{backend}.pdf").write_bytes(pdf)

    # The province's 品字标 opening is not broken down to cities: the child table says so.
    unallocated = driver.find_element(By.ID, "unallocated-pinzibiao_enterprises")
    assert "not allocated" in unallocated.text or "未分配" in unallocated.text

    # Before the standards opening of 2024-06-30 the new count is unknown, never invented.
    driver.get(f"{base}/ui/tenants/330000?plan=zhejiang-14th-fyp&as_of=2023-12-31")
    card = driver.find_element(By.ID, "card-zhejiang_made_standards_new")
    assert card.get_attribute("data-status") == "unknown"
    assert "before the opening" in card.text or "早于期初值" in card.text
    screenshot(driver, f"dashboard-unknown-{backend}.png")
    driver.get(f"{base}/ui/tenants/330000/trends?plan=zhejiang-14th-fyp&as_of=2025-06-30")
    trend = driver.find_element(By.ID, "trend-zhejiang_made_standards_new")
    assert len(trend.find_elements(By.CSS_SELECTOR, "circle.dot")) == 2  # 2024 on: known
    screenshot(driver, f"dashboard-trends-{backend}.png")
    driver.get(f"{base}/ui/tenants/330000?plan=zhejiang-14th-fyp&as_of=2025-06-30")

    # The expiring panel: certificates of the province lapsing in the next 180 days.
    panel = driver.find_element(By.ID, "expiring")
    assert int(driver.find_element(By.ID, "expiring-180").text.replace(",", "")) >= int(
        driver.find_element(By.ID, "expiring-30").text.replace(",", ""))
    assert "即将到期" in panel.text or "expiring" in panel.text

    # The audit feed: newest first, and back and forth between pages.
    driver.get(f"{base}/ui/tenants/330000/audit")
    first_rows = [r.text for r in driver.find_elements(By.CSS_SELECTOR, "#audit tbody tr")]
    positions = [int(r.split()[0]) for r in first_rows]
    assert positions == sorted(positions, reverse=True)
    click_and_wait(driver, driver.find_element(By.ID, "next-page"), "before=")
    older = [int(r.text.split()[0]) for r in
             driver.find_elements(By.CSS_SELECTOR, "#audit tbody tr")]
    assert max(older) < min(positions)
    click_and_wait(driver, driver.find_element(By.ID, "prev-page"), "after=")
    again = [int(r.text.split()[0]) for r in
             driver.find_elements(By.CSS_SELECTOR, "#audit tbody tr")]
    assert again == positions
    screenshot(driver, f"dashboard-audit-{backend}.png")
    driver.get(f"{base}/ui/tenants/330000?plan=zhejiang-14th-fyp&as_of=2025-06-30")

    # Follow a city that is behind to its own overview.
    behind = driver.find_elements(By.CSS_SELECTOR, "a.child-link[data-status='behind']")
    assert behind, "no city is behind at the mid-term review"
    city = behind[0].get_attribute("data-code")
    click_and_wait(driver, behind[0], f"/ui/tenants/{city}?")
    assert driver.find_element(By.ID, "tenant-title").get_attribute("data-code") == city

    # Records: search, open one, see its timeline.
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, ".main-nav a[href^='/ui/records']"),
                   "/ui/records")
    driver.find_element(By.ID, "f-kind").send_keys("品字标认证")
    click_and_wait(driver, driver.find_element(By.ID, "search"), "kind=certification")
    links = driver.find_elements(By.CSS_SELECTOR, "a.record-link")
    assert links
    click_and_wait(driver, links[0], "/ui/records/certification/")
    events = driver.find_elements(By.CSS_SELECTOR, "#timeline li.event")
    assert events and events[-1].get_attribute("data-type") == "certification.issued"
    assert driver.find_element(By.ID, "record-state").text
    screenshot(driver, f"dashboard-record-{backend}.png")

    # The public verification page of that certificate: no sign-in, public fields only.
    key = driver.current_url.split("/ui/records/certification/", 1)[1]
    driver.get(f"{base}/verify/certification/{key}")
    assert driver.find_element(By.ID, "verify-record").get_attribute("data-status")
    assert driver.find_element(By.ID, "verify-uscc").text.endswith("**********")
    assert driver.find_element(By.CSS_SELECTOR, "figure.qr img").get_attribute("naturalWidth")
    screenshot(driver, f"verify-page-{backend}.png")
    driver.back()

    # 浙江制造精品 (the fifth kind, issue 15): its card at the province, its records by their
    # Chinese labels, a record's timeline.
    driver.get(f"{base}/ui/tenants/330000?plan=zhejiang-14th-fyp&as_of=2025-06-30")
    card = driver.find_element(By.ID, "card-zhejiang_made_boutique_products")
    assert card.get_attribute("data-status") in ("behind", "on_track", "achieved"), card.text
    driver.get(f"{base}/ui/records?kind=boutique")
    links = driver.find_elements(By.CSS_SELECTOR, "a.record-link")
    assert links and "浙江制造精品" in driver.page_source
    click_and_wait(driver, links[0], "/ui/records/boutique/")
    events = driver.find_elements(By.CSS_SELECTOR, "#timeline li.event")
    assert events[-1].get_attribute("data-type") == "boutique.listed"
    assert "入选精品名单" in driver.find_element(By.ID, "timeline").text
    screenshot(driver, f"dashboard-boutique-{backend}.png")

    # Sign out: the pages need signing in again.
    click_and_wait(driver, driver.find_element(By.ID, "sign-out"), "signed_out=1")
    assert driver.find_elements(By.ID, "signed-out")
    driver.get(f"{base}/ui/tenants/330000")
    assert "/ui/sign-in" in driver.current_url

    # A county admin cannot reach its sibling county.
    sign_in(driver, base, county, "/ui/tenants/330523")
    assert driver.current_url.endswith("/ui/tenants/330523")
    driver.get(f"{base}/ui/tenants/330522")
    error = driver.find_element(By.ID, "error")
    assert error.get_attribute("data-status") == "403"
    screenshot(driver, f"dashboard-403-{backend}.png")
