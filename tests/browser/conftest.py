"""A real browser: Debian's Chromium driven by Playwright, against pytest-django's live server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Playwright's sync API runs an event loop in this thread for as long as it is open, and
    Django refuses ORM calls while a loop runs. So the browser lives for one module only, and the
    refusal is lifted only while it does (the tests' own fixtures query the database)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        yield from _launch(sync_playwright)
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def _launch(sync_playwright: Any) -> Iterator[Any]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


PASSWORD = "correct horse battery staple"  # every UserFactory user's


def log_in(page: Any, base: str, username: str) -> None:
    """Log in to the staff desk as ``username`` (a fresh session: earlier cookies go)."""
    page.context.clear_cookies()
    page.goto(f"{base}/staff/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/staff/")


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


# axe-core's findings on every public page, at both widths: written to
# test-artifacts/axe-results.json for the record (the issue closes with them).
AXE_RESULTS: dict[str, dict[str, list[str]]] = {}
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
STAFF_WIDTHS = {"desktop": (1280, 900), "tablet": (768, 1024), "phone": (390, 844)}
BLOCKING = {"critical", "serious"}


def axe_findings(page: Any) -> list[dict[str, Any]]:
    """Every violation axe-core (4.12, from axe-playwright-python) finds on the page as it is."""
    from axe_playwright_python.sync_playwright import Axe

    return list(Axe().run(page).response["violations"])


# The innermost elements that stick out past the window's right edge (to name them on failure).
WIDEST = """(width) => {
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(p).overflowX)) return true;
    }
    return false;
  };
  return [...document.querySelectorAll('body *')]
  .filter((el) => el.getBoundingClientRect().right > width + 0.5 && !clipped(el))
  .filter((el) => ![...el.children].some((c) => c.getBoundingClientRect().right > width + 0.5))
  .slice(0, 5)
  .map((el) => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')
    + ' ' + Math.round(el.getBoundingClientRect().right));
}"""


def accessible(page: Any, name: str, widths: dict[str, tuple[int, int]] | None = None) -> None:
    """Run axe-core on the page at 1280 and at 390 px (or ``widths``); fail on any critical or
    serious finding, and on a page wider than the window (it scrolls sideways). Every finding, of
    any impact, is kept for the record."""
    original = page.viewport_size
    blocking = []
    for width_name, (width, height) in (widths or WIDTHS).items():
        page.set_viewport_size({"width": width, "height": height})
        overflow = page.evaluate("document.documentElement.scrollWidth") - width
        if overflow > 0:
            widest = page.evaluate(WIDEST, width)
            blocking.append(
                f"{width_name}: the page is {overflow} px wider than the window: {widest}"
            )
        found = axe_findings(page)
        AXE_RESULTS.setdefault(name, {})[width_name] = [
            f"{v['id']} ({v['impact']}): {len(v['nodes'])}" for v in found
        ]
        blocking += [
            f"{width_name}: {v['id']} ({v['impact']}) {v['help']}: "
            f"{[node['target'] for node in v['nodes']][:3]}"
            for v in found
            if v["impact"] in BLOCKING
        ]
        if width_name == "phone":
            screenshot(page, f"{name}-390")
    page.set_viewport_size(original)
    _write_axe_results()
    assert blocking == [], f"{name}: {blocking}"


def _write_axe_results() -> None:
    import json

    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "axe-results.json"
    known = json.loads(path.read_text()) if path.exists() else {}
    known.update(AXE_RESULTS)
    path.write_text(json.dumps(known, indent=2, sort_keys=True))
