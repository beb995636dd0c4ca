"""The training page (GET /training) in Simplified Chinese, at a desktop's and a phone's width: the scrubber
moved (keyboard, or a tap on a phone) to a step that keeps only the conv and BatchNorm layers, the filters'
colour range and the second layer's filter changed, the drift view switched to another layer and the ReLU
comparison read; then no English left but the words that stay (layer and model names, key caps), no
character without a glyph, and no sideways scrolling."""

# ruff: noqa: RUF001 -- the expected texts are Chinese, with its full-width punctuation (and gamma)
from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.chinese import VIEWPORTS, english_words, layer_names, missing_glyphs, watched_context
from tests.browser.conftest import BrowserErrors

pytestmark = pytest.mark.browser

READY_MS = 120_000
# The keys the scrubber and the drawing pad name, as printed on the keys (Home 键, Ctrl+Z in Chinese too).
KEY_CAPS = {"Home", "End", "Ctrl"}


@pytest.fixture(params=list(VIEWPORTS))
def zh_page(
    request: pytest.FixtureRequest, browser: Browser, base_url: str, browser_errors: BrowserErrors
) -> Iterator[Page]:
    with watched_context(browser, browser_errors, base_url, request.param) as context:
        page = context.new_page()
        page.goto("/training?lang=zh-CN")
        page.wait_for_selector("main[data-state=ready]", timeout=READY_MS)
        yield page


def data_words(page: Page) -> set[str]:
    """Layer names and the served models' names (and their parts: the word check splits at "_")."""
    names = {m["name"] for m in page.request.get("/api/models").json()}
    return layer_names(page) | names | {part for name in names for part in name.split("_")}


def test_the_training_page_in_chinese(zh_page: Page) -> None:
    page = zh_page
    expect(page.locator("h1")).to_have_text("观看网络学习")
    expect(page.locator("#norelu-title")).to_have_text("最大池化之前需要 ReLU 吗？")
    checkpoints = page.request.get("/api/training").json()["checkpoints"]
    # the scrubber: the last checkpoint, then one back (a step that keeps only conv and BatchNorm layers)
    last = len(checkpoints) - 1
    track = page.locator("#track")
    if page.viewport_size and page.viewport_size["width"] < 500:
        track.scroll_into_view_if_needed()
        box = track.bounding_box()
        assert box is not None
        page.touchscreen.tap(box["x"] + box["width"] - 16, box["y"] + box["height"] / 2)
    else:
        track.focus()
        page.keyboard.press("End")
    expect(track).to_have_attribute("aria-valuenow", str(last))
    previous = max(i for i, c in enumerate(checkpoints[:last]) if not c["full"])
    page.goto(f"/training?lang=zh-CN&step={checkpoints[previous]['step']}")
    page.wait_for_selector("main[data-state=ready]", timeout=READY_MS)
    step = f"{checkpoints[previous]['step']:,}"
    expect(page.locator("#step-readout")).to_contain_text(f"第{step}步 · 第")
    assert (track.get_attribute("aria-valuetext") or "").startswith(
        f"第{previous + 1}个检查点（共{len(checkpoints)}个）"
    )
    expect(page.locator("#digit-note")).to_contain_text(f"第{step}步只保存了卷积层和批归一化层")
    page.locator("#play").click()
    expect(page.locator("#play")).to_have_text("❚❚ 暂停")
    page.locator("#play").click()
    expect(page.locator("#play")).to_have_text("▶ 播放")

    # the filters: this step's colour range, the next filter of the second layer
    page.locator('#filter-range label:has(input[value="step"])').click()
    page.locator("#second-conv-next").click()
    expect(page.locator("#second-conv-kernels")).to_have_attribute("data-channel", "1")
    expect(page.locator("#first-conv-moved")).to_contain_text("的权重相对初始化已移动了其初始大小的")

    # the drift view on another layer, and the ReLU comparison
    page.locator('.tr-toc a[href="#drift"]').click()
    drift = page.locator("#drift")
    picks = drift.locator("#drift-layer input")
    other = picks.nth(1).get_attribute("value")
    page.locator(f'#drift-layer label:has(input[value="{other}"])').click()
    expect(drift).to_have_attribute("data-layer", str(other))
    expect(drift).to_have_attribute("data-state", "ready")
    expect(drift.locator(".tr-readout").first).to_contain_text(re.compile(rf"^第[\d,]+步：{other} 的输出，均值"))
    expect(drift.locator(".tr-summary").first).to_contain_text("各通道标准差的中位数从")
    page.locator('.tr-toc a[href="#norelu"]').click()
    expect(page.locator("#norelu-result")).to_contain_text("在测试集上实测：")
    expect(page.locator("#norelu-table th").first).to_have_text("模型及其卷积部分")

    assert english_words(page, allowed=data_words(page) | KEY_CAPS) == []
    assert missing_glyphs(page) == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
