"""The model page (GET /model) read in Chinese (?lang=zh-CN), at a desktop's and a phone's width, for the
lecture's LeNet and for fashion_vgg: after the page has loaded and its panels have answered (a confusion
cell opened, the 1x1 demo re-mixed and refused a value, the shift panel moved past its limit, a filter's
readout shown), no English word a reader meets is left but the layer names, every character has a glyph,
and a phone's page does not scroll sideways."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.chinese import VIEWPORTS, english_words, layer_names, missing_glyphs, visible_text, watched_context
from tests.browser.conftest import BrowserErrors

pytestmark = pytest.mark.browser

MIX = "section:has(#mix-form)"
SHIFT = "#shift-section"
COLON = "\uff1a"  # the full-width colon of a Chinese sentence
WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-'][A-Za-z]+)*")  # a word as english_words() reads one
# Code that stays as it is inside Chinese sentences: an API address (/api/model) and the channel counts'
# symbols C_in, C_out, C_mid (C<sub>out</sub> reads "Cout"); english_words() sees words in them.
CODE = re.compile(r"/api/[\w/.-]*|\bC_?(?:in|out|mid)\b")


@pytest.fixture(params=sorted(VIEWPORTS))
def zh_context(
    request: pytest.FixtureRequest, browser: Browser, browser_errors: BrowserErrors, base_url: str
) -> Iterator[BrowserContext]:
    with watched_context(browser, browser_errors, base_url, request.param) as context:
        yield context


def data_words(page: Page, model: str) -> set[str]:
    """What the API names, the same in every language: the layer names and kinds of ``model`` and the served
    models' names (with their parts, as english_words() splits features.0 and lenet_bn), and the datasets."""
    layers = page.request.get(f"/api/model?model={model}").json()["layers"]
    names = layer_names(page, model) | {layer["kind"] for layer in layers}
    names |= {m["name"] for m in page.request.get("/api/models").json()}
    return names | {part for name in names for part in WORD.findall(name)} | {"Fashion-MNIST"}


def outside_code(page: Page, words: list[str]) -> list[str]:
    """The ``words`` that the page's text has outside its code (CODE): English a reader meets."""
    prose = set(WORD.findall(CODE.sub(" ", visible_text(page))))
    return [w for w in words if w in prose]


def open_in_chinese(context: BrowserContext, model: str) -> Page:
    page = context.new_page()
    page.goto(f"/model?model={model}&lang=zh-CN")
    page.wait_for_selector("main[data-state=ready]")
    assert page.get_attribute("main", "data-error") is None
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator(MIX)).to_have_attribute("data-mixed", "4")
    page.wait_for_function("() => Number(document.querySelector('#shift-section').dataset.renders || 0) > 0")
    return page


def wait_for_render(page: Page, section: str, after: int) -> None:
    """Until ``section`` has drawn an answer newer than render ``after`` and is not waiting for another."""
    page.wait_for_function(
        f"() => {{ const d = document.querySelector('{section}').dataset;"
        f" return Number(d.renders) > {after} && !d.busy; }}"
    )


def open_a_confusion_cell(page: Page, model: str) -> None:
    """The cell off the diagonal with the most mistakes: its title, its images and their titles."""
    card = page.request.get(f"/api/model/card?model={model}").json()
    matrix = card["confusion_matrix"]
    count, label, predicted = max(
        (matrix[i][j], i, j) for i in range(len(matrix)) for j in range(len(matrix)) if i != j
    )
    page.click(f"#confusion td[data-label='{label}'][data-predicted='{predicted}'] button")
    panel = page.locator("#cell-digits")
    expect(panel.locator(".cell-title")).to_contain_text(
        f"被认成 {class_heading(page, predicted)}{COLON}{count} 个测试"
    )
    shown = sum(1 for m in card["misclassified"] if (m["label"], m["predicted"]) == (label, predicted))
    expect(panel.locator("a.digit-link")).to_have_count(shown)
    assert (panel.locator("a.digit-link").first.get_attribute("title") or "").startswith("测试")


def class_heading(page: Page, index: int) -> str:
    """The class's name as the page shows it (the confusion matrix's column heading)."""
    return page.locator("#confusion thead th").nth(index + 1).inner_text()


def drive_the_1x1_demo(page: Page) -> None:
    """A preset re-mixes the maps; an out-of-range C_out is refused in a sentence the page builds."""
    renders = int(page.get_attribute(MIX, "data-renders") or 0)
    page.click("[data-preset=difference]")
    wait_for_render(page, MIX, renders)
    expect(page.locator("#mix-counts")).to_contain_text("个参数")
    expect(page.locator("#mix-outputs-maps figcaption").first).to_contain_text(f"混合 0{COLON}")
    most = page.request.get(f"/api/mix/limits?model={page.get_attribute('main', 'data-model')}").json()["max_outputs"]
    page.fill("#mix-outputs", str(most + 1))
    page.dispatch_event("#mix-outputs", "change")
    expect(page.locator("#error-text")).to_contain_text(f"输出数 C_out{COLON}{most + 1} 超出范围")
    expect(page.locator("#bottleneck-summary")).to_contain_text("倍")


def drive_the_shift_panel(page: Page) -> None:
    """One step down by the button, then past the limit by the keyboard: the refusal is a sentence."""
    before = int(page.get_attribute("#shift-section", "data-renders") or 0)
    page.click("#shift-section [data-move='1,0']")
    wait_for_render(page, SHIFT, before)
    expect(page.locator("#shift-status")).to_contain_text(f"向下移动 1、向右移动 0{COLON}网络在移动前的回答是")
    expect(page.locator("#shift-verdict")).to_contain_text("池化能减弱小的移动带来的变化")
    most = page.request.get("/api/perturb/limits").json()["max_shift"]
    page.locator("#shift-digit").focus()
    for _ in range(most + 1):
        page.keyboard.press("ArrowDown")
    expect(page.locator("#shift-status")).to_contain_text(f"每个方向最多移动 {most} 个像素")


def show_a_filter_readout(page: Page) -> None:
    first = page.locator("#filter-layers .filter-layer").first
    canvas = first.locator("canvas").first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    name = first.get_attribute("data-layer")
    expect(page.locator("#readout")).to_contain_text(f"{name} 卷积核 0 · (y ")


@pytest.mark.parametrize("model", ["lenet_bn", "fashion_vgg"])
def test_the_model_page_reads_in_chinese(zh_context: BrowserContext, model: str) -> None:
    page = open_in_chinese(zh_context, model)
    expect(page.locator("h1")).to_have_text("模型及其数字")
    expect(page.locator("#arch-table thead th")).to_have_text(
        ["层", "输出", "输出尺寸的由来", "参数量", "乘加次数", "感受野"]
    )
    expect(page.locator("#arch-table tfoot .hint")).to_contain_text("次乘加")
    expect(page.locator("#card-stats dt").first).to_have_text("测试准确率")
    open_a_confusion_cell(page, model)
    drive_the_1x1_demo(page)
    drive_the_shift_panel(page)
    show_a_filter_readout(page)
    assert outside_code(page, english_words(page, allowed=data_words(page, model))) == []
    assert missing_glyphs(page) == []
    width = page.viewport_size["width"] if page.viewport_size else 0
    if width == 390:  # the English page does not scroll sideways on a phone (test_model_page.py): nor does this one
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
