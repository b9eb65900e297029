"""The access report in a real browser: headless Chromium (the distribution's package) driven by
Selenium opens the file from disk, and the rendered cells are checked against `Engine.evaluate`,
the changed cells against the base version's engine, the filter box and the keyboard are used,
and the page must read without colour. Screenshots are kept under tests/artifacts/ (ignored by
git); with POLICYENGINE_UPDATE_SCREENSHOTS=1 they also replace the copies in docs/img/.

Without chromium and chromedriver the tests skip locally (one line) but FAIL under CI=true:
.ci/run installs them."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import policyengine
from tests.conftest import IN_CI
from tests.governance.gitmesh import git, make_mesh

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "artifacts"
AT = "2026-06-01T00:00:00Z"
WHEN = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)


def _browser_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        message = ("the browser tests need Chromium and its driver (Debian: apt-get install chromium "
                   "chromium-driver; .ci/run installs them)")
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return chromium, driver


@pytest.fixture(scope="module")
def browser():
    chromium, driver_path = _browser_paths()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,1000", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A git copy of the example project with one commit on top of the base: analysts lose the
    margin deny's exception for finance (tighter) and sales-reps see margins (looser). Returns the
    project and the report written with --base main --scan."""
    root = make_mesh(tmp_path_factory.mktemp("report"))
    git(root, "checkout", "-q", "-b", "change")
    sales = root / "policies" / "sales.policy"
    text = sales.read_text(encoding="utf-8")
    text = text.replace("to everyone except group:sales-leads, group:finance;",
                        "to everyone except group:sales-leads, group:sales-reps;")
    sales.write_text(text, encoding="utf-8")
    git(root, "commit", "-qam", "change")
    scan = root / "scan.json"
    scan.write_text('{"findings": [{"source": "examples/mesh/samples/sales.customers.parquet", '
                    '"column": "email", "entity": "EMAIL_ADDRESS", "tag": "pii.email", "score": 0.99, '
                    '"evidence": {"method": "pattern", "matched": 40, "distinct_sampled": 40, '
                    '"examples": ["*****@*******.***"]}}]}', encoding="utf-8")
    out = root / "report" / "access.html"
    out.parent.mkdir()
    done = subprocess.run([sys.executable, "-m", "policyengine.cli", "report", "-o", str(out), "--base", "main",
                           "--scan", str(scan), "--at", AT], cwd=root, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return root, out


def _engine(root: Path):
    return policyengine.load(root / "policies", root / "examples/mesh/products",
                             consumers=root / "examples/mesh/consumers.yaml")


def _expected(engine, product: str, label: str, columns: list[str]) -> list[str]:
    """The engine's outcome for a row label (`alice (analytics) for reporting`, `anyone else (…)`)."""
    who, _, rest = label.partition(" (")
    purpose = rest.partition(") for ")[2] or None
    consumer = {"id": "someone-else"} if who == "anyone else" else who
    d = engine.evaluate(consumer, product, columns, purpose, WHEN)
    return [f"mask({d.columns[c].strategy})" if d.columns[c].effect == "mask" else d.columns[c].effect
            for c in columns]


def _rows(browser, product: str) -> list[tuple[str, list[str], list[bool], list[str]]]:
    """(row label, cell texts, changed flags, shown effect words) of a product's rendered matrix."""
    return browser.execute_script("""
        var sec = document.querySelector('section.product[data-product="' + arguments[0] + '"]');
        return Array.from(sec.querySelectorAll('tbody tr')).map(function (tr) {
          var cells = Array.from(tr.querySelectorAll('td.cell'));
          return [tr.dataset.row,
                  cells.map(function (td) { return td.childNodes[1].textContent.trim(); }),
                  cells.map(function (td) { return td.classList.contains('changed'); }),
                  cells.map(function (td) { return td.innerText; })];
        });""", product)


def _screenshot(browser, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    browser.save_screenshot(str(path))
    if os.environ.get("POLICYENGINE_UPDATE_SCREENSHOTS") == "1":
        (REPO / "docs" / "img").mkdir(parents=True, exist_ok=True)
        shutil.copy(path, REPO / "docs" / "img" / name)
    return path


def test_rendered_cells_are_the_engine_decisions(browser, reported):
    root, out = reported
    head = _engine(root)
    base_root = root.parent / "base-checkout"
    if not base_root.exists():
        subprocess.run(["git", "worktree", "add", "-q", str(base_root), "main"], cwd=root, check=True,
                       capture_output=True)
    base = _engine(base_root)
    browser.get(out.resolve().as_uri())
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0  # no fetch
    changed = 0
    for product in sorted(head.catalog.products):
        columns = list(head.catalog.products[product].column_names)
        rows = _rows(browser, product)
        assert rows, product
        for label, texts, flags, shown in rows:
            want = _expected(head, product, label, columns)
            assert texts == want, (product, label)
            before = _expected(base, product, label, columns)
            assert flags == [a != b for a, b in zip(want, before, strict=True)], (product, label)
            changed += sum(flags)
            for word, flag, b in zip(shown, flags, before, strict=True):  # the base's value is written too
                assert (f"changed: was {b}" in word) == flag
    assert changed > 0  # the change to the margin rule shows
    browser.execute_script("document.getElementById('p5').scrollIntoView()")  # sales.orders
    _screenshot(browser, "access-report.png")


def test_readable_without_colour(browser, reported):
    """Every cell names its outcome in words and a symbol; in greyscale the page still says it all."""
    _, out = reported
    browser.get(out.resolve().as_uri())
    words = browser.execute_script("""
        return Array.from(document.querySelectorAll('td.cell')).map(function (td) {
          return [td.dataset.effect, td.innerText]; });""")
    symbols = {"allow": "✓", "mask": "◐", "deny": "✗"}
    for effect, text in words:
        assert effect in ("allow", "mask", "deny")
        assert text.startswith(symbols[effect]) and (effect in text), text
    browser.execute_script("document.documentElement.style.filter = 'grayscale(1)'")
    browser.execute_script("document.getElementById('p5').scrollIntoView()")
    _screenshot(browser, "access-report-greyscale.png")


def test_filter_and_keyboard(browser, reported):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    _, out = reported
    browser.get(out.resolve().as_uri())
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    focused = browser.switch_to.active_element
    assert focused.get_attribute("class") == "skip"  # the first stop skips to the matrix
    for _ in range(5):  # the filter box is a few tab stops away
        if browser.switch_to.active_element.get_attribute("id") == "filter":
            break
        browser.switch_to.active_element.send_keys(Keys.TAB)
    box = browser.switch_to.active_element
    assert box.get_attribute("id") == "filter"
    box.send_keys("alice")
    visible = browser.execute_script("""
        return Array.from(document.querySelectorAll('section.product tbody tr')).filter(function (tr) {
          return tr.offsetParent !== null; }).map(function (tr) { return tr.dataset.row; });""")
    assert visible and all(v.startswith("alice") for v in visible)
    assert "row(s) shown" in browser.find_element(By.ID, "filter-status").text
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys("sales.orders")
    sections = browser.execute_script("""
        return Array.from(document.querySelectorAll('section.product')).filter(function (s) {
          return s.offsetParent !== null; }).map(function (s) { return s.dataset.product; });""")
    assert sections == ["sales.orders"]
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(Keys.BACK_SPACE)
    # "only changed rows" is a checkbox the keyboard reaches and ticks
    box.send_keys(Keys.TAB)
    check = browser.switch_to.active_element
    assert check.get_attribute("id") == "changed-only"
    check.send_keys(Keys.SPACE)
    rows = browser.execute_script("""
        return Array.from(document.querySelectorAll('section.product tbody tr')).filter(function (tr) {
          return tr.offsetParent !== null; }).map(function (tr) { return !!tr.querySelector('.changed'); });""")
    assert rows and all(rows)
    # a product's section folds with the keyboard (details/summary)
    summary = browser.find_element(By.CSS_SELECTOR, "#p5 summary")
    summary.send_keys(Keys.ENTER)
    assert browser.execute_script("return document.querySelector('#p5 details').open") is False


def test_scan_findings_and_coverage_shown(browser, reported):
    from selenium.webdriver.common.by import By

    _, out = reported
    browser.get(out.resolve().as_uri())
    scan = browser.find_element(By.ID, "scan").find_element(By.XPATH, "following-sibling::div").text
    assert "*****@*******.***" in scan and "pii.email" in scan
    assert browser.find_element(By.ID, "coverage").is_displayed()
