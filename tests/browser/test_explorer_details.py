"""Small things a first-time reader of the explorer trips over: Clear on the drawing pad takes its result
away (and none still on its way comes back), and numbers on coloured cells stay legible (WCAG AA)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_explorer import draw, open_explorer, renders, wait_for_render

pytestmark = pytest.mark.browser

NO_DIGIT = "\u2013"  # the verdict's dash when there is nothing to predict

# WCAG contrast ratio of each cell's text against its background (computed colours).
CONTRASTS = """(cells) => {
    const lum = (css) => {
        const [r, g, b] = css.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number).map((v) => {
            const c = v / 255;
            return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    return cells.map((td) => {
        const style = getComputedStyle(td);
        const [a, b] = [lum(style.color), lum(style.backgroundColor)].sort((x, y) => y - x);
        return { text: td.textContent, ratio: (a + 0.05) / (b + 0.05) };
    });
}"""


def test_clear_takes_the_drawing_and_its_result_away(page: Page) -> None:
    open_explorer(page)
    before = renders(page)
    draw(page, [(0.5, 0.15 + 0.07 * i) for i in range(11)])
    wait_for_render(page, before, "stroke")
    expect(page.locator("#original-caption")).to_have_text("Your drawing")
    page.click("#clear")
    expect(page.locator("#predicted")).to_have_text(NO_DIGIT)
    expect(page.locator("#original-caption")).to_have_text("Nothing drawn")
    expect(page.locator("main")).to_have_attribute("data-source", "none")
    expect(page.locator("#layer-conv1")).to_have_attribute("data-empty", "true")
    assert page.locator("#probs .prob-row.top").count() == 0
    # a stroke still on its way when the pad is cleared is not shown either
    draw(page, [(0.3, 0.2 + 0.08 * i) for i in range(8)])
    page.click("#clear")
    shown = renders(page)
    page.wait_for_function("() => !document.querySelector('main').dataset.busy")
    page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    assert page.get_attribute("main", "data-source") == "none"
    expect(page.locator("#predicted")).to_have_text(NO_DIGIT)
    assert renders(page) == shown
    # a test digit after that is shown as usual
    before = renders(page)
    page.locator("#gallery .sample").nth(3).click()
    wait_for_render(page, before, "sample")
    assert page.locator("#layer-conv1").get_attribute("data-empty") is None


def test_numbers_on_coloured_cells_meet_wcag_aa(page: Page) -> None:
    open_explorer(page, "/?sample=3")
    for layer, channel in (("pool2", 7), ("pool2", 20), ("conv1", 4)):
        page.locator(f"#layer-{layer} .map-tile").nth(channel).click()
        dialog = page.locator("#inspector")
        expect(dialog).to_be_visible()
        cells = dialog.locator("table.numbers td, table.slide-grid td")
        expect(cells.first).to_be_visible()
        if layer == "conv1":
            expect(dialog.locator(".slide-panel")).to_have_attribute("data-state", "ready")
        ratios = cells.evaluate_all(CONTRASTS)
        assert len(ratios) >= 25
        low = [r for r in ratios if r["ratio"] < 4.5]
        assert not low, low[:5]
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
