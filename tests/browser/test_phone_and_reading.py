"""Reading the pages on a phone (390 px, touch) and on a laptop: chart text stays readable, wide tables say
that they scroll (or reflow), the value readout shows only while it has something to say and a tap reads
a value, in a real Chromium."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import numpy as np
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import BrowserErrors

pytestmark = pytest.mark.browser

READY_MS = 120_000

# Every SVG text's rendered font size, in CSS px: its computed size times the SVG's scale on screen.
TEXT_SIZES = """(root) => [...root.querySelectorAll("svg text")].filter((t) => t.getClientRects().length).map((t) => {
    const svg = t.ownerSVGElement;
    const box = svg.viewBox.baseVal;
    const scale = box && box.width ? svg.getBoundingClientRect().width / box.width : 1;
    return { text: t.textContent, px: parseFloat(getComputedStyle(t).fontSize) * scale };
})"""

# Each wide box either fits (or reflows) or says that it scrolls.
SCROLLERS = """(selector) => [...document.querySelectorAll(selector)].map((box) => {
    const frame = box.closest(".scroll-frame");
    const note = frame && frame.nextElementSibling;
    return {
        id: box.id || box.className,
        overflows: box.scrollWidth > box.clientWidth + 1,
        more: frame ? frame.dataset.more || null : null,
        note: Boolean(note && note.classList.contains("scroll-note") && !note.hidden),
        focusable: box.tabIndex >= 0,
    };
})"""


@pytest.fixture
def phone(browser: Browser, browser_errors: BrowserErrors, base_url: str) -> Iterator[BrowserContext]:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, base_url=base_url, has_touch=True, is_mobile=True
    )
    browser_errors.watch(context)
    yield context
    context.close()


def ready(page: Page, path: str) -> Page:
    page.goto(path)
    page.wait_for_selector("main[data-state=ready]", timeout=READY_MS)
    return page


def readable(page: Page, selector: str) -> None:
    sizes = page.locator(selector).evaluate(TEXT_SIZES)
    assert sizes, f"no chart text in {selector}"
    small = [s for s in sizes if s["px"] < 11]
    assert not small, small


def test_charts_are_readable_on_a_phone(phone: BrowserContext) -> None:
    page = ready(phone.new_page(), "/model")
    readable(page, "#curve")
    page = ready(phone.new_page(), "/batchnorm")
    expect(page.locator("#params-charts svg.bn-bars")).to_have_count(4)
    readable(page, "#params-charts")
    expect(page.locator("#curves svg.bn-lines")).to_have_count(1)
    readable(page, "#curves")
    readable(page, "#high-lr")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def no_overlap(page: Page, selector: str) -> None:
    """The tick labels of each chart under `selector` do not overlap one another."""
    boxes = page.locator(selector).evaluate_all(
        """(charts) => charts.map((svg) => [...svg.querySelectorAll("text.bn-tick")].map((t) => {
            const b = t.getBoundingClientRect();
            return { text: t.textContent, top: b.top, bottom: b.bottom, left: b.left, right: b.right };
        }))"""
    )
    for labels in boxes:
        for i, a in enumerate(labels):
            for b in labels[i + 1 :]:
                apart = (
                    a["bottom"] <= b["top"]
                    or b["bottom"] <= a["top"]
                    or a["right"] <= b["left"]
                    or b["right"] <= a["left"]
                )
                assert apart, (a, b)


@pytest.mark.parametrize("width", [1280, 390])
def test_channel_chart_labels_never_overlap(browser: Browser, browser_errors: BrowserErrors, base_url: str, width: int):
    context = browser.new_context(viewport={"width": width, "height": 900}, base_url=base_url)
    browser_errors.watch(context)
    try:
        page = ready(context.new_page(), "/batchnorm")
        for layer in ("bn1", "bn2", "bn3"):
            page.locator(f'#params .bn-layer-pick label:has(input[value="{layer}"])').click()
            expect(page.locator("#params")).to_have_attribute("data-layer", layer)
            expect(page.locator("#params-charts svg.bn-bars")).to_have_count(4)
            no_overlap(page, "#params-charts svg.bn-bars")
        no_overlap(page, "#curves svg.bn-lines")
    finally:
        context.close()


def test_wide_tables_say_they_scroll_or_reflow_on_a_phone(phone: BrowserContext) -> None:
    page = ready(phone.new_page(), "/model")
    boxes = page.evaluate(SCROLLERS, ".table-scroll, #conv2-filters")
    fits = "(table) => table.parentElement.scrollWidth <= table.parentElement.clientWidth + 1"
    assert page.locator("#arch-table").evaluate(fits)  # one card per layer: nothing to scroll
    assert page.locator("#confusion").evaluate(fits)  # all ten columns fit
    for box in boxes:
        assert box["focusable"], box
        if box["overflows"]:
            assert box["more"] in ("right", "both") and box["note"], box
    assert any(b["overflows"] for b in boxes)  # conv2's filter rows and the 1x1 matrix do scroll
    # scrolled to its end, a box says that there is more back on the left
    conv2 = page.locator("#conv2-filters")
    conv2.evaluate("(box) => box.scrollTo(box.scrollWidth, 0)")
    expect(conv2.locator("xpath=..")).to_have_attribute("data-more", "left")

    page = ready(phone.new_page(), "/batchnorm")
    for box in page.evaluate(SCROLLERS, ".bn-table-wrap"):
        assert box["focusable"], box
        assert not box["overflows"] or (box["more"] and box["note"]), box
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_readout_shows_only_while_reading(page: Page) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    ready(page, "/?sample=3")
    readout = page.locator("#readout")
    expect(readout).to_be_hidden()  # nothing read yet: nothing shown, nothing covered
    canvas = page.locator("#layer-conv1 .map-tile").first.locator("canvas.map")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(readout).to_be_visible()
    expect(readout).to_have_attribute("data-layer", "conv1")
    page.mouse.move(5, box["y"] - 60)  # off every map
    expect(readout).to_be_hidden()
    # the keyboard reads too, and the reading goes with the focus
    page.locator("#layer-pool2 .map-tile").nth(2).focus()
    page.keyboard.press("Enter")
    expect(page.locator(".zoom-canvas")).to_be_focused()
    expect(readout).to_be_visible()
    assert page.evaluate("document.getElementById('readout').closest('dialog') !== null")  # above the backdrop
    page.keyboard.press("Escape")
    expect(readout).to_be_hidden()


def test_a_tap_reads_a_value_on_a_phone(phone: BrowserContext) -> None:
    page = ready(phone.new_page(), "/model")
    weights = page.request.get("/api/layers/conv1/weights").json()["tensors"][0]
    w = np.frombuffer(base64.b64decode(weights["data"]), "<f4").reshape(weights["shape"])
    readout = page.locator("#readout")
    expect(readout).to_be_hidden()
    canvas = page.locator("#conv1-filters canvas").nth(4)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    page.touchscreen.tap(box["x"] + 2.5 * box["width"] / 5, box["y"] + 1.5 * box["height"] / 5)
    expect(readout).to_be_visible()
    assert float(readout.get_attribute("data-value") or "nan") == pytest.approx(float(w[4, 0, 1, 2]), abs=1e-6)
    page.touchscreen.tap(5, box["y"] + box["height"] + 40)  # a tap on nothing takes it away
    expect(readout).to_be_hidden()

    page = ready(phone.new_page(), "/?sample=3")
    page.locator("#layer-pool2 .map-tile").nth(1).tap()
    zoom = page.locator(".zoom-canvas")
    expect(zoom).to_be_visible()
    box = zoom.bounding_box()
    assert box is not None
    page.touchscreen.tap(box["x"] + 3.5 * box["width"] / 5, box["y"] + 0.5 * box["height"] / 5)
    readout = page.locator("#readout")
    expect(readout).to_be_visible()
    expect(readout).to_have_attribute("data-y", "0")
    expect(readout).to_have_attribute("data-x", "3")


def test_the_per_map_colour_bar_caption_is_whole(page: Page) -> None:
    ready(page, "/?sample=3")
    page.locator('#scale-mode label:has(input[value="channel"])').click()
    caption = page.locator("#layer-conv1 .colorbar-caption").first
    expect(caption).to_have_text("per map (its range under it)")
    assert caption.evaluate("(c) => c.scrollWidth <= c.clientWidth && c.scrollHeight <= c.clientHeight + 1")
