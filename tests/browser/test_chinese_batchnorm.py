"""The BatchNorm page (GET /batchnorm) in Simplified Chinese, at a desktop's and a phone's width: every
section loaded and driven (a batch of one with its notes, bn3's statistics, a channel read off a chart, a
batch refused in the page's words, a fold channel out of range, the accuracy view), then no English left
but the words that stay (layer names...), no character without a glyph, and no sideways scrolling. A
model without BatchNorm layers (?model=lenet) says so in Chinese."""

# ruff: noqa: RUF001 -- the expected texts are Chinese, with its full-width punctuation (and gamma)
from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.chinese import VIEWPORTS, english_words, layer_names, missing_glyphs, watched_context
from tests.browser.conftest import BrowserErrors

pytestmark = pytest.mark.browser

READY_MS = 120_000  # the first fold request compares 10,000 images (seconds on a busy machine)


@pytest.fixture(params=list(VIEWPORTS))
def zh_context(
    request: pytest.FixtureRequest, browser: Browser, base_url: str, browser_errors: BrowserErrors
) -> Iterator[BrowserContext]:
    with watched_context(browser, browser_errors, base_url, request.param) as context:
        yield context


def open_page(context: BrowserContext, query: str = "") -> Page:
    page = context.new_page()
    page.goto(f"/batchnorm?lang=zh-CN{query}")
    page.wait_for_selector("main[data-state=ready]", timeout=READY_MS)
    return page


def wait_for_batch(page: Page, size: int) -> None:
    lab = "document.getElementById('lab').dataset"
    page.wait_for_function(f"() => {lab}.state === 'ready' && {lab}.batchSize === '{size}'")


def data_words(page: Page, model: str | None = None) -> set[str]:
    """Layer names and the served models' names (and their parts: the word check splits at "_")."""
    names = {m["name"] for m in page.request.get("/api/models").json()}
    return layer_names(page, model) | names | {part for name in names for part in name.split("_")}


def assert_reads_in_chinese(page: Page, allowed: set[str]) -> None:
    assert english_words(page, allowed=allowed) == []
    assert missing_glyphs(page) == []
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_batchnorm_page_in_chinese(zh_context: BrowserContext) -> None:
    page = open_page(zh_context)
    expect(page.locator("h1")).to_have_text("批归一化，实测")
    expect(page.locator("#params-title")).to_have_text("每个批归一化层在每个通道上保存的参数")
    expect(page.locator("#params-charts .bn-chart-label").first).to_have_text("缩放因子 γ（权重）")
    # a channel read off a chart (a tap on a phone)
    chart = page.locator("#params-charts .bn-chart-box").first
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] - 8, box["y"] + box["height"] / 2)
    expect(page.locator("#params-charts .bn-readout").first).to_contain_text("通道 19：")

    # the lab: a batch of one explained, bn3's statistics against the running ones
    wait_for_batch(page, 64)
    expect(page.locator("#lab-summary")).to_contain_text("训练模式下的一个批次，共64张")
    page.locator('.bn-size[data-samples="1"]').click()
    wait_for_batch(page, 1)
    notes = page.locator("#lab-notes")
    expect(notes).to_contain_text("批次只有一张图像：bn3 的每个通道只看到一个值")
    expect(notes).to_contain_text("bn1和bn2 仍然看到这张图像的像素")
    page.locator('#lab .bn-layer-pick label:has(input[value="bn3"])').click()
    expect(page.locator("#lab-layer-summary")).to_contain_text("500个通道中有500个的批次方差恰好为 0")
    # a batch the page refuses, in its own words
    page.locator('#lab input[name="source"][value="files"]').check()
    page.locator("#lab-form button[type=submit]").click()
    expect(page.locator("#lab .bn-error")).to_contain_text("请为批次选择一张或多张图像")

    # folding: the server's check, and a channel out of range
    expect(page.locator("#fold-result")).to_contain_text("在全部10,000张测试图像上比较折叠前后的网络")
    page.fill("#fold-channel", "99")
    expect(page.locator("#fold-channel-error")).to_contain_text("通道必须是 0 到 19 之间的整数：conv1 + bn1 有20个通道")

    # the training comparison, both views
    expect(page.locator("#curves-summary")).to_contain_text("训练一轮后：")
    expect(page.locator("#high-lr-recipe")).to_contain_text("峰值学习率为1而不是0.05")
    page.locator('#curve-mode label:has(input[value="accuracy"])').click()
    expect(page.locator("#training")).to_have_attribute("data-mode", "accuracy")
    expect(page.locator("#curves .bn-axis-label").last).to_have_text("测试准确率")

    assert_reads_in_chinese(page, data_words(page))


def test_a_model_without_batchnorm_says_so_in_chinese(zh_context: BrowserContext) -> None:
    page = open_page(zh_context, "&model=lenet")
    note = page.locator("#no-batchnorm")
    expect(note).to_be_visible()
    expect(note).to_contain_text("lenet 没有批归一化层：它的层是 input（input）、conv1（conv）")
    with_bn = [m["name"] for m in page.request.get("/api/models").json() if m["batchnorm"]]
    expect(note).to_contain_text(f"有批归一化的模型：{'、'.join(with_bn)}（可在上方选择）")
    for section in ("#params", "#lab", "#fold"):
        expect(page.locator(section)).to_be_hidden()
    expect(page.locator("#training")).to_have_attribute("data-curves", "2")
    # the layer kinds in the note are the API's words (docs/glossary.md: names and kinds stay as they are)
    layers = page.request.get("/api/model?model=lenet").json()["layers"]
    kinds = {layer["kind"] for layer in layers}
    assert_reads_in_chinese(page, data_words(page, "lenet") | kinds)
