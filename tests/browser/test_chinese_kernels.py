"""The kernel lab in Simplified Chinese (?lang=zh-CN), at a desktop's and a phone's width: all three tabs
driven until their dynamic text is on screen (the output-size formula with a size that does not divide, a
pixel stepped through, the Sobel demo's combined sum, pooling a relu1 map and one pooled window, an invalid
kernel cell and a bank padding the page refuses in words, one unit of the conv layer, the 1-D steps), and
then no English word a reader would meet, no character drawn as a missing glyph, and (at 390 px) no
horizontal scrolling of the page."""

# ruff: noqa: RUF001  # the Chinese sentences carry full-width punctuation and the multiplication sign of sizes

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.chinese import VIEWPORTS, english_words, layer_names, missing_glyphs, visible_text, watched_context
from tests.browser.conftest import BrowserErrors

pytestmark = pytest.mark.browser


# What stays as it is besides the layers (see allowed()): the bundled photos' credits from the API (people, a
# library, a licence); the key's own label (Ctrl+V); the Scharr kernels' name, a proper name like Sobel's; the
# formula symbols C_in and C_out (drawn as C<sub>in</sub>, read as "Cin").
DATA_WORDS = {"Stefan", "van", "der", "Walt", "Rachel", "Michetti", "NASA", "scikit-image", "CC0"}
DATA_WORDS |= {"Ctrl", "Scharr", "Cin", "Cout"}


@pytest.fixture(params=list(VIEWPORTS))
def zh(
    request: pytest.FixtureRequest, browser: Browser, browser_errors: BrowserErrors, base_url: str
) -> Iterator[Page]:
    with watched_context(browser, browser_errors, base_url, request.param) as context:
        yield context.new_page()


def allowed(page: Page) -> set[str]:
    """Layer names and kinds, and the model's name (in its parts: the words are split at "_")."""
    body = page.request.get("/api/model").json()
    return layer_names(page) | {layer["kind"] for layer in body["layers"]} | set(body["name"].split("_")) | DATA_WORDS


def read_clean(page: Page) -> None:
    """What a reader of the page meets now is Chinese, drawn with real glyphs."""
    words = english_words(page, allowed=allowed(page))
    found = [re.compile(rf"\b{re.escape(w)}\b") for w in words]
    lines = [line for line in visible_text(page).splitlines() if any(f.search(line) for f in found)]
    assert words == [], (words, lines)
    assert missing_glyphs(page) == []


def fits(page: Page) -> None:
    if page.viewport_size and page.viewport_size["width"] <= 390:
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def renders(page: Page, selector: str, name: str = "renders") -> int:
    return int(page.evaluate(f"() => Number(document.querySelector('{selector}').dataset.{name} || 0)"))


def wait_more(page: Page, selector: str, after: int, name: str = "renders") -> None:
    page.wait_for_function(
        f"() => {{ const d = document.querySelector('{selector}').dataset;"
        f" return Number(d.{name} || 0) > {after} && !d.busy; }}"
    )


def open_lab(page: Page, path: str) -> None:
    page.goto(path)
    page.wait_for_selector("main[data-state=ready]")
    wait_more(page, "main", 0)
    wait_more(page, "main", 0, "poolRenders")


def test_a_kernel_on_an_image_in_chinese(zh: Page) -> None:
    page = zh
    open_lab(page, "/kernels?lang=zh-CN&sample=3")
    expect(page.locator("h1")).to_have_text("卷积核实验室")
    expect(page.locator("#tab-filter")).to_have_text("图像上的卷积核")
    expect(page.locator("#kernel-a-info")).to_contain_text("权重之和")
    # A stride that does not divide: the formula with both roundings and the server's note, in words.
    shown = renders(page, "main")
    page.fill("#stride", "3")
    wait_more(page, "main", shown)
    formula = page.locator("#formula")
    expect(formula).to_have_attribute("data-source", "server")
    expect(formula.locator(".formula-head")).to_have_text("输出：9 × 9 像素")
    expect(formula.locator(".formula-rounding").first).to_contain_text("8.33333 不是整数：floor → 9")
    expect(formula.locator(".formula-note").first).to_contain_text("因此向下取整")
    # One output pixel, step by step (convolution: the flipped kernel).
    shown = renders(page, "main")
    page.click("#mode label:has(input[value=convolution])")
    wait_more(page, "main", shown)
    page.locator("#map-a canvas.map-canvas").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#steps .step-where")).to_contain_text("输出像素")
    expect(page.locator("#steps .step-check")).to_contain_text("✓ 相同")
    expect(page.locator("#applied-hint")).to_contain_text("翻转")
    read_clean(page)
    # The Sobel demo: two kernels and their magnitude, on the bundled colour photo; one combined sum.
    shown = renders(page, "main")
    page.click("#demo-sobel")
    wait_more(page, "main", shown)
    page.click("#color label:has(input[value=rgb])")
    page.wait_for_function("() => document.querySelector('#map-a').dataset.shape.startsWith('3,')")
    page.locator("#map-combined canvas.map-canvas").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#steps .step-combined")).to_contain_text("组合（幅值）")
    expect(page.locator("#step-channel-field")).to_be_visible()
    read_clean(page)
    # An invalid kernel cell: the page refuses it in words.
    page.fill("#kernel-a-grid input[data-row='1'][data-col='1']", "1..2")
    expect(page.locator("#error-text")).to_have_text("卷积核 A，第 2 行第 2 列：“1..2”不是数。")
    expect(page.locator("#network-note")).to_have_text("请先修正卷积核 A。")
    read_clean(page)
    page.fill("#kernel-a-grid input[data-row='1'][data-col='1']", "0")
    expect(page.locator("#error")).to_be_hidden()
    # Pooling a relu1 map of the network (a test digit), and one pooled window.
    page.click("#gallery button >> nth=0")
    shown = renders(page, "main", "poolRenders")
    page.select_option("#pool-source", "layer")
    wait_more(page, "main", shown, "poolRenders")
    expect(page.locator("#map-pool")).to_have_attribute("data-shape", "1,14,14")
    expect(page.locator("#map-pool-input .map-title")).to_have_text("池化对象：relu1 通道 0")
    page.locator("#map-pool canvas.map-canvas").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#pool-steps .step-sum-line")).to_contain_text("4 个值中的最大值")
    expect(page.locator("#pool-source-note")).to_contain_text("正好得到 pool1")
    read_clean(page)
    # A pooling padding over half the window: refused, in words, with no size.
    page.fill("#pool-padding", "2")
    expect(page.locator("#pool-formula")).to_have_attribute("data-refused", "true")
    expect(page.locator("#pool-formula .formula-head")).to_have_text("输出：无 —— 服务器拒绝这些设置")
    expect(page.locator("#error-text")).to_contain_text("池化填充：2×2 的窗口接受 0 到 1")
    read_clean(page)
    fits(page)


def test_the_conv_layer_tab_in_chinese(zh: Page) -> None:
    page = zh
    open_lab(page, "/kernels?lang=zh-CN")
    page.click("#tab-layer")
    wait_more(page, "#panel-layer", 0)
    expect(page.locator("#layer-shapes dt").first).to_have_text("输入")
    expect(page.locator("#layer-explanation")).to_contain_text("每个卷积核都与输入同深度")
    expect(page.locator("#layer-credits")).to_contain_text("猫咪切尔西")
    # Two more filters (the next presets), then one unit's sum over the depth.
    for _ in range(2):
        shown = renders(page, "#panel-layer")
        page.click("#layer-add")
        wait_more(page, "#panel-layer", shown)
    expect(page.locator("#layer-filter-1-preset option:checked")).to_have_text("亮度")
    page.locator("#layer-stack canvas.pickable").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#panel-layer[data-unit]")
    expect(page.locator("#layer-unit .step-where")).to_contain_text("输出单元")
    expect(page.locator("#layer-unit .step-check")).to_contain_text("✓ 相同")
    expect(page.locator("#layer-formula .formula-note").first).to_contain_text("填充规则：每边 0")
    read_clean(page)
    # A padding the page refuses, in words.
    page.fill("#layer-padding", "x")
    expect(page.locator("#error-text")).to_contain_text("填充：请输入 0 到")
    expect(page.locator("#error-text")).to_contain_text("之间的整数（或输入“same”）。")
    read_clean(page)
    page.fill("#layer-padding", "same")
    expect(page.locator("#error")).to_be_hidden()
    # A grey image: one channel, named in Chinese.
    shown = renders(page, "#panel-layer")
    page.click("#layer-color label:has(input[value=gray])")
    wait_more(page, "#panel-layer", shown)
    expect(page.locator("#layer-filter-0-c0 + figcaption")).to_have_text("灰度")
    read_clean(page)
    fits(page)


def test_the_1d_tab_in_chinese(zh: Page) -> None:
    page = zh
    open_lab(page, "/kernels?lang=zh-CN")
    page.click("#tab-signal")
    wait_more(page, "#panel-signal", 0)
    expect(page.locator("#signal-title")).to_have_text("数学意义上的卷积")
    page.click("#signal-next")
    expect(page.locator("#signal-where")).to_have_text("第 2 个输出，共 11 个")
    expect(page.locator("#signal-sum")).to_contain_text("输出 1（3）：a[0]·b[1] + a[1]·b[0]")
    page.click("#signal-play")
    expect(page.locator("#signal-play")).to_have_text("暂停")
    page.click("#signal-play")
    expect(page.locator("#signal-play")).to_have_text("播放")
    read_clean(page)
    # Correlation: the outputs are lags; then a list the page refuses, in words.
    shown = renders(page, "#panel-signal")
    page.click("#signal-mode label:has(input[value=correlation])")
    wait_more(page, "#panel-signal", shown)
    expect(page.locator("#signal-sum")).to_contain_text("滞后")
    page.fill("#signal-a", "1/6, x")
    page.dispatch_event("#signal-a", "change")
    expect(page.locator("#error-text")).to_have_text("a，第 2 个值：“x”不是数。")
    read_clean(page)
    fits(page)
