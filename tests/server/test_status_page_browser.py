"""The status page (``GET /``) in a real headless browser: Debian's chromium, driven by Playwright.

The same fed ``serve`` process as ``test_status_page.py`` (a reference run, a pushed and
evaluated window with one slice far below its recall SLO), on a SQLite file. The browser must
load the page with nothing in its console (the page runs no script, so a CSP refusal or a broken
resource would show there), show the degraded slice as text marked below its SLO, and draw every
chart with each of its labels inside the SVG (the SVG clips what lies outside). A full-page
screenshot is written to ``test-artifacts/status-page.png``.

Only Debian's ``/usr/bin/chromium`` is used, never ``playwright install``. Without it the test
skips, except under ``CI=true``, where it fails: CI must not pass by skipping the browser.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from tests.server.helpers import REPO, ServerProcess
from tests.server.test_status_page import DEGRADED, HEALTHY, start_fed_server

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACT = REPO / "test-artifacts" / "status-page.png"
TOLERANCE = 0.5
"""CSS pixels a label's box may pass its SVG's edge by (subpixel rounding)."""


def chromium_path() -> str:
    """Debian's chromium, or a skip saying why (a failure under CI=true)."""
    if CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK):
        return str(CHROMIUM)
    reason = (
        f"{CHROMIUM} is missing: the browser test needs Debian's chromium "
        "(`apt-get install chromium`; .ci/run installs it)"
    )
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"{reason}; CI is set, so the test may not be skipped", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("browser")
    process = start_fed_server(directory, f"sqlite:///{directory}/store.db")
    try:
        yield process
    finally:
        process.close()


@dataclass
class Loaded:
    page: Page
    status: int
    console: list[ConsoleMessage] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def loaded(browser: Browser, server: ServerProcess) -> Iterator[Loaded]:
    """GET / in a fresh browser context (CSP enforced), with everything the console said; the
    screenshot is taken before any assertion, so a failing run leaves one too."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        console: list[ConsoleMessage] = []
        errors: list[str] = []
        failed: list[str] = []
        page.on("console", lambda message: console.append(message))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("requestfailed", lambda request: failed.append(f"{request.url}: {request.failure}"))
        response = page.goto(f"{server.url}/", wait_until="load")
        assert response is not None
        ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACT), full_page=True)
        yield Loaded(page, response.status, console, errors, failed)
    finally:
        context.close()


def test_the_page_loads_with_a_silent_console(loaded: Loaded) -> None:
    assert loaded.status == 200
    expect(loaded.page).to_have_title("smote-monitor status")
    said = [
        f"{m.type}: {m.text} ({m.location.get('url')}:{m.location.get('lineNumber')})"
        for m in loaded.console
        if m.type in ("error", "warning", "assert")
    ]
    assert said == [], "the browser console reported problems (CSP refusals among them)"
    assert loaded.errors == []
    assert loaded.failed_requests == []


def test_a_screenshot_is_written(loaded: Loaded) -> None:
    assert ARTIFACT.is_file()
    assert ARTIFACT.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert ARTIFACT.stat().st_size > 10_000  # a drawn page, not a blank one


def test_the_degraded_slice_is_shown_below_its_slo(loaded: Loaded) -> None:
    page = loaded.page
    condition = page.locator("#dataset-fraud li.condition", has_text="Minority recall below SLO")
    expect(condition).to_be_visible()
    expect(condition).to_contain_text(DEGRADED)

    chart = page.locator("#dataset-fraud figure.slices svg.chart")
    rows = chart.locator("g.row")
    first = rows.first
    expect(first).to_have_attribute("data-name", DEGRADED)  # drawn first: worst first
    expect(first).to_have_class(re.compile(r"\bbelow\b"))
    name = first.locator("text.name")
    expect(name).to_be_visible()
    expect(name).to_have_text(DEGRADED)
    value = first.locator("text.value")
    expect(value).to_be_visible()
    expect(value).to_contain_text("below SLO")
    # marked in red, unlike a healthy slice
    red = "rgb(198, 40, 40)"
    assert name.evaluate("e => getComputedStyle(e).fill") == red
    healthy = chart.locator(f'g.row[data-name="{HEALTHY}"] text.name')
    expect(healthy).to_be_visible()
    assert healthy.evaluate("e => getComputedStyle(e).fill") != red
    # the whole interval lies left of the SLO line, as drawn on screen
    slo = _rect(chart.locator("line.slo"))
    whisker = _rect(first.locator("line.whisker"))
    point = _rect(first.locator("circle"))
    assert whisker["right"] < slo["left"]
    assert point["right"] < slo["left"]


_CHARTS = """
() => [...document.querySelectorAll('svg.chart')].map((svg) => {
  const box = svg.getBoundingClientRect();
  const figure = svg.closest('figure');
  const section = svg.closest('section');
  const labels = [...svg.querySelectorAll('text')].map((text) => {
    const r = text.getBoundingClientRect();
    return {text: text.textContent, cls: text.getAttribute('class'),
            left: r.left, right: r.right, top: r.top, bottom: r.bottom,
            width: r.width, height: r.height};
  });
  const shapes = [...svg.querySelectorAll('circle, rect.bar, line.whisker')].map((shape) => {
    const r = shape.getBBox();
    return {tag: shape.tagName, width: r.width, height: r.height};
  });
  return {chart: (section ? section.id : '?') + ' ' + (figure ? figure.className : '?'),
          left: box.left, right: box.right, top: box.top, bottom: box.bottom,
          width: box.width, height: box.height, viewBox: svg.getAttribute('viewBox'),
          rows: svg.querySelectorAll('g.row').length, labels, shapes};
})
"""


def test_every_chart_renders_with_its_labels_inside_the_svg(loaded: Loaded) -> None:
    clipped = clipped_labels(loaded.page)
    assert not clipped, "labels drawn outside their SVG are clipped:\n" + "\n".join(clipped)


def test_charts_shrunk_to_a_narrow_page_keep_their_labels_inside(
    browser: Browser, server: ServerProcess
) -> None:
    context = browser.new_context(viewport={"width": 480, "height": 800})
    try:
        page = context.new_page()
        page.goto(f"{server.url}/", wait_until="load")
        charts: list[dict[str, Any]] = page.evaluate(_CHARTS)
        assert all(chart["width"] < 480 for chart in charts)  # shrunk, not cut off
        clipped = clipped_labels(page)
    finally:
        context.close()
    assert not clipped, "labels drawn outside their SVG are clipped:\n" + "\n".join(clipped)


def clipped_labels(page: Page, dataset: str = "fraud") -> list[str]:
    """Every chart label whose box passes an edge of its SVG, after checking that each chart
    (the dataset window's slices and drift) drew rows, shapes and labels of non-zero size."""
    charts: list[dict[str, Any]] = page.evaluate(_CHARTS)
    kinds = sorted(chart["chart"] for chart in charts)
    assert kinds == [f"dataset-{dataset} drift", f"dataset-{dataset} slices"]
    clipped = []
    for chart in charts:
        name = chart["chart"]
        assert chart["width"] > 0 and chart["height"] > 0, name
        assert chart["rows"] > 0, name
        assert all(s["width"] > 0 or s["height"] > 0 for s in chart["shapes"]), name
        assert all(label["width"] > 0 and label["height"] > 0 for label in chart["labels"]), name
        for label in chart["labels"]:
            past = [
                f"{edge} {label[edge] - chart[edge]:+.1f}px"
                for edge in ("left", "right", "top", "bottom")
                if _past(label, chart, edge)
            ]
            if past:
                clipped.append(
                    f"{name} (viewBox {chart['viewBox']}): {label['cls']} "
                    f"{label['text']!r} past the SVG's {', '.join(past)}"
                )
    return clipped


def test_the_page_does_not_scroll_sideways(loaded: Loaded) -> None:
    width = loaded.page.evaluate(
        "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert width[0] <= width[1]


def _past(label: dict[str, float], chart: dict[str, float], edge: str) -> bool:
    if edge in ("left", "top"):
        return label[edge] < chart[edge] - TOLERANCE
    return label[edge] > chart[edge] + TOLERANCE


def _rect(locator: Any) -> dict[str, float]:
    rect: dict[str, float] = locator.evaluate(
        "e => { const r = e.getBoundingClientRect();"
        " return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; }"
    )
    return rect
