"""The explorer's enlarged view and its model-insight parts in Simplified Chinese (/?lang=zh-CN), at a desktop's
and a phone's width: the inspector of a conv, batchnorm, max-pool and vector layer (statistics, filter or
normalisation, numbers, the readout), the receptive field of a unit (clipped at the image's edge), the
top-activating images (in the inspector and on a conv layer's filter panel), the sliding window (one input
channel, several input channels, max pooling) and the explanation overlay for every method and for a chosen
class. Each part's text is read for English words (only layer names and kinds, data of the API, may stay)
and the page for characters drawn without a glyph."""

# ruff: noqa: RUF001, RUF003 -- the Chinese text's own punctuation (，：（）) and the formulas' Greek letters

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.chinese import VIEWPORTS, english_words, missing_glyphs, watched_context
from tests.browser.conftest import BrowserErrors
from tests.browser.test_explorer import open_explorer

pytestmark = pytest.mark.browser

METHODS = ("saliency", "gradcam", "hirescam", "occlusion")


@pytest.fixture(params=list(VIEWPORTS))
def zh_page(
    request: pytest.FixtureRequest, browser: Browser, browser_errors: BrowserErrors, base_url: str
) -> Iterator[Page]:
    """The explorer in Chinese with test digit 3 on screen, at the parameter's width."""
    with watched_context(browser, browser_errors, base_url, request.param) as context:
        page = open_explorer(context.new_page(), "/?sample=3&lang=zh-CN")
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        yield page


# Names that stay as they are (docs/glossary.md) but that english_words() reads as one hyphenated word, where
# its list has the parts ("Grad", "CAM").
HYPHENATED_NAMES = {"Grad-CAM"}


def data_words(page: Page) -> set[str]:
    """What stays as the API spells it: the served model's layer names and kinds (conv, maxpool ...)."""
    layers = page.request.get("/api/model").json()["layers"]
    return {layer["name"] for layer in layers} | {layer["kind"] for layer in layers} | HYPHENATED_NAMES


def assert_chinese(page: Page, *selectors: str) -> None:
    allowed = data_words(page)
    found = {selector: english_words(page, allowed=allowed, selector=selector) for selector in selectors}
    assert found == {selector: [] for selector in selectors}
    assert missing_glyphs(page) == []


def fits(page: Page) -> None:
    """At a phone's width neither the page nor the open inspector is wider than the screen (the English page's
    own test asserts the same)."""
    width = page.viewport_size["width"] if page.viewport_size else 0
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    dialog = page.locator("#inspector")
    if dialog.is_visible():
        box = dialog.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5


def inspect_map(page: Page, layer: str, channel: int) -> Locator:
    page.locator(f"#layer-{layer} .map-tile").nth(channel).click()
    dialog = page.locator(f"#inspector[data-layer={layer}][data-channel='{channel}']")
    expect(dialog).to_be_visible()
    return dialog


def settled_slide(dialog: Locator) -> Locator:
    """The sliding window, ready and stepped once by hand (so that it stands still with a sum written out)."""
    panel = dialog.locator(".slide-panel[data-state=ready]")
    expect(panel).to_be_visible()
    step = panel.locator(".slide-controls button").nth(2)  # "Step ▶"
    step.click()
    expect(panel).not_to_have_attribute("data-playing", "true")
    expect(panel.locator(".slide-sum-line")).not_to_be_empty()
    return panel


def close(page: Page) -> None:
    page.keyboard.press("Escape")
    expect(page.locator("#inspector")).to_be_hidden()


def test_inspector_of_a_conv_layer_with_its_insight_reads_in_chinese(zh_page: Page) -> None:
    page = zh_page
    dialog = inspect_map(page, "conv2", 1)
    expect(dialog.locator("#inspector-title")).to_have_text("conv2 · 通道1")
    expect(dialog.locator(".inspector-weights h3")).to_have_text("卷积核1")
    expect(dialog.locator(".top-panel[data-state=ready] .top-digit")).to_have_count(9)
    expect(dialog.locator(".top-panel h3")).to_have_text("使 conv2 通道1激活最强的测试数字")
    slide = settled_slide(dialog)
    expect(slide.locator("h3")).to_have_text("观看窗口滑动")
    expect(slide.locator(".slide-detail-title")).to_contain_text("（可在上方选择其他通道）")
    # The unit in the corner: its field reaches into the padding, and the panel says how it was clipped.
    canvas = dialog.locator(".zoom-canvas")
    h, w = (int(canvas.get_attribute(a) or 0) for a in ("height", "width"))
    box = canvas.bounding_box()
    assert box is not None
    canvas.click(position={"x": 0.5 * box["width"] / w, "y": 0.5 * box["height"] / h})
    field = dialog.locator(".rf-panel[data-state=ready][data-y='0'][data-x='0']")
    expect(field).to_be_visible()
    expect(field.locator("h3")).to_have_text("conv2 通道1在 (y 0, x 0) 处能看到什么")
    expect(field.locator(".rf-axis").first).to_contain_text("落在图像之前的填充中")
    expect(field.locator("table.rf-steps th").first).to_have_text("层")
    expect(page.locator("#inspector .readout")).to_contain_text("通道1")  # the click's reading
    assert_chinese(page, "#inspector")
    fits(page)
    close(page)


def test_inspector_of_conv1_batchnorm_pooling_and_vectors_reads_in_chinese(zh_page: Page) -> None:
    page = zh_page
    dialog = inspect_map(page, "conv1", 0)  # one input channel: the filter's numbers, the normalised input
    expect(dialog.locator(".inspector-weights table.numbers caption")).to_have_text("权重")
    expect(settled_slide(dialog).locator(".slide-about")).to_contain_text("输入先经过归一化")
    expect(dialog.locator(".rf-panel[data-state=ready]")).to_be_visible()
    expect(dialog.locator(".top-panel[data-state=ready]")).to_be_visible()
    assert_chinese(page, "#inspector")
    close(page)

    dialog = inspect_map(page, "bn1", 2)  # γ, β, the running statistics
    expect(dialog.locator(".inspector-weights h3")).to_have_text("通道2的归一化")
    expect(dialog.locator(".inspector-weights")).to_contain_text("全局方差 σ²")
    expect(dialog.locator(".inspector-stats dt").first).to_have_text("最小值")
    expect(dialog.locator(".top-panel[data-state=ready]")).to_be_visible()
    assert_chinese(page, "#inspector")
    close(page)

    dialog = inspect_map(page, "pool2", 7)  # max pooling: the largest value of each window; a small map's numbers
    expect(dialog.locator("table.numbers caption")).to_have_text("数值（保留2位小数；悬停可看完整数值）")
    expect(settled_slide(dialog).locator(".slide-sum-line")).to_contain_text("个值中的最大值（已框出）")
    expect(dialog.locator(".rf-panel[data-state=ready]")).to_be_visible()
    expect(dialog.locator(".top-panel[data-state=ready]")).to_be_visible()
    assert_chinese(page, "#inspector")
    fits(page)
    close(page)

    for layer, caption in (("fc1", "最大的10个值"), ("probs", "全部数值")):  # a strip and bars
        page.locator(f"#layer-{layer} button.vector-strip, #layer-{layer} button.vector-bars").click()
        dialog = page.locator(f"#inspector[data-layer={layer}]")
        expect(dialog).to_be_visible()
        expect(dialog.locator("table.unit-table caption")).to_have_text(caption)
        assert_chinese(page, "#inspector")
        close(page)


def test_filter_panel_top_images_read_in_chinese(zh_page: Page) -> None:
    page = zh_page
    page.check("#layer-conv1 [data-toggle=filters]")
    strip = page.locator("#layer-conv1 .top-strip")
    strip.locator("select").select_option("4")
    expect(strip.locator(".top-panel[data-state=ready][data-channel='4'] .top-digit")).to_have_count(9)
    expect(strip.locator("label.top-pick")).to_contain_text("使 conv1 激活最强的测试数字")
    expect(strip.locator("select option").first).to_have_text("通道0")
    assert_chinese(page, "#layer-conv1 .top-strip")
    fits(page)


def test_explanations_read_in_chinese(zh_page: Page) -> None:
    page = zh_page
    card = page.locator("#explain")
    card.scroll_into_view_if_needed()
    parts = tuple(f"#explain .explain-{part}" for part in ("says", "status", "detail", "stage", "bar", "target"))
    says = {"saliency": "显著图：", "gradcam": "Grad-CAM：", "hirescam": "HiResCAM：", "occlusion": "遮挡："}
    for method in METHODS:
        card.locator(f"label:has(input[value={method}])").click()
        expect(card).to_have_attribute("data-method", method)
        expect(card).to_have_attribute("data-state", "ready")
        expect(card.locator(".explain-says")).to_contain_text(says[method])
        expect(card.locator(".explain-detail")).to_contain_text("计算方式：")
        expect(card.locator(".explain-status")).to_contain_text("正在解释预测的数字")
        assert_chinese(page, *parts)
    # Another class than the predicted one.
    predicted = int(page.text_content("#predicted") or 0)
    other = (predicted + 1) % 10
    card.locator(".explain-target").select_option(str(other))
    expect(card).to_have_attribute("data-target", str(other))
    expect(card).to_have_attribute("data-state", "ready")
    expect(card.locator(".explain-status")).to_contain_text(f"正在解释数字{other}：概率为")
    expect(card.locator(".explain-target option").first).to_have_text(f"预测结果（{predicted}）")
    assert_chinese(page, *parts)
    fits(page)
