"""The explorer (GET /) read in Chinese (?lang=zh-CN), at a desktop's and a phone's width.

Each test loads the page, waits for its data, drives what makes text appear (the colour-scale switch, the
filter and BatchNorm toggles, a value read under the pointer or a finger, the inspector, a link the page
cannot follow, a second model side by side, a hand-made conv1 filter, a drawing, an upload, a model with
another preprocessing) and then asks what a reader still meets in English (tests/browser/chinese.py): nothing
but the API's own words (the served models' names, their layers' names and kinds: docs/glossary.md, "Left as
they are") and the few names KEEP lists. No character may lack a glyph, and nothing may stick out of a
phone's screen (the English page does not).
"""

# ruff: noqa: RUF001  (the Chinese sentences' full-width punctuation and the multiplication sign of the shapes are meant)

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.chinese import VIEWPORTS, english_words, missing_glyphs, watched_context
from tests.browser.conftest import BrowserErrors
from tests.browser.test_explorer import draw, png, renders, settled_box, wait_for_render

pytestmark = pytest.mark.browser

WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-'][A-Za-z]+)*")  # a word as english_words() reads one
# Words that stay as they are but that english_words() does not know as such: key names printed on the keys
# (Chinese software says "Ctrl+Z" too), the explorer's query parameter ?compare= (docs/glossary.md keeps query
# parameters), and two names of the glossary's list that chinese.py's ALLOWED has only in halves (Grad, CAM).
KEEP = {"Ctrl", "compare", "Grad-CAM", "Fashion-MNIST"}


@pytest.fixture(params=list(VIEWPORTS))
def zh(
    request: pytest.FixtureRequest, browser: Browser, browser_errors: BrowserErrors, base_url: str
) -> Iterator[Page]:
    """A page of a browser context at one of the two widths."""
    with watched_context(browser, browser_errors, base_url, request.param) as context:
        yield context.new_page()


def open_chinese(page: Page, query: str = "") -> Page:
    page.goto(f"/?lang=zh-CN{query}")
    page.wait_for_selector("main[data-state=ready]")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    return page


def data_words(page: Page) -> set[str]:
    """The API's words that stay as they are: every served model's name and its layers' names and kinds, cut
    into words the way english_words() cuts the page's text (lenet_bn -> lenet, bn; features.0 -> features)."""
    names: set[str] = set()
    for model in page.request.get("/api/models").json():
        layers = page.request.get(f"/api/model?model={model['name']}").json()["layers"]
        names |= {model["name"]} | {layer["name"] for layer in layers} | {layer["kind"] for layer in layers}
    return {word for name in names for word in WORD.findall(name)}


def english(page: Page) -> list[str]:
    return english_words(page, allowed=data_words(page) | KEEP)


def assert_fits(page: Page) -> None:
    width = page.evaluate("window.innerWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def touch(page: Page) -> bool:
    return bool(page.evaluate("matchMedia('(pointer: coarse)').matches"))


def point_at(page: Page, target: Locator) -> None:
    """A mouse hovers the middle of ``target``; a finger touches it (the touch's pointerdown alone: a whole tap
    would also click the map open in the inspector, whose readout is its own)."""
    box = settled_box(page, target)
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    if touch(page):
        target.dispatch_event("pointerdown", {"pointerType": "touch", "clientX": x, "clientY": y, "bubbles": True})
    else:
        page.mouse.move(x, y)


def test_the_page_its_cards_and_a_bad_link_read_in_chinese(zh: Page) -> None:
    page = open_chinese(zh, "&compare=" + quote("无此模型"))  # a name no model has, and no English word
    seen = set(english(page))
    expect(page.locator("#input-title")).to_contain_text("给网络输入")
    expect(page.locator("#layers-title")).to_have_text("按顺序查看每一层")
    expect(page.locator("#error-text")).to_contain_text("?compare=无此模型 不是本站提供的模型")
    expect(page.locator("#layer-conv1 .layer-explain")).to_contain_text("每张激活图对应一个卷积核")
    geometry = "5 × 5 卷积核，步长 1，填充 2 · 每个值看到5 × 5个输入像素 · 参数量 520"
    expect(page.locator("#layer-conv1 .layer-geometry")).to_have_text(geometry)
    expect(page.locator("#layer-conv1 .padded-input figcaption")).to_contain_text("四周各补2行（列）零（填充 2）")

    page.locator('#scale-mode label:has(input[value="channel"])').click()
    expect(page.locator("#layer-conv1 .colorbar-caption").first).to_have_text("按激活图（各自的范围见图下方）")
    page.locator("#layer-conv1 input[data-toggle=filters]").check()
    expect(page.locator("#layer-conv1 .map-extra").first).to_contain_text("偏置 ")
    page.locator("#layer-bn1 input[data-toggle=bn-params]").check()
    expect(page.locator("#layer-bn1 .bn-param").first).to_be_visible()
    page.locator("#layer-bn3 input[data-toggle=bn-params]").check()
    expect(page.locator("#layer-bn3 .bn-words")).to_have_text(["缩放因子", "平移因子", "全局均值", "全局方差"])
    seen |= set(english(page))
    assert missing_glyphs(page) == []
    assert_fits(page)

    point_at(page, page.locator("#layer-conv1 canvas.map").first)
    expect(page.locator("#readout")).to_contain_text("conv1 · 通道 0 · (y ")
    seen |= set(english(page))
    page.locator("#layer-conv2 .map-tile").nth(5).click()  # the inspector (explorer2's words)
    expect(page.locator("#inspector")).to_be_visible()
    expect(page.locator("#inspector #inspector-title")).to_contain_text("conv2")
    seen |= set(english(page))
    assert missing_glyphs(page) == []
    page.keyboard.press("Escape")
    expect(page.locator("#inspector")).to_be_hidden()
    assert_fits(page)
    assert sorted(seen) == []


def test_side_by_side_a_hand_made_filter_a_drawing_and_an_upload_read_in_chinese(zh: Page, tmp_path: Path) -> None:
    sobel = [[1, 0, -1], [2, 0, -2], [1, 0, -1]]
    override = quote(json.dumps({"channel": 3, "kernel": sobel}))
    page = open_chinese(zh, f"&compare=lenet&conv1_override={override}")
    expect(page.locator("#override .override-title")).to_have_text("conv1 的卷积核 3 已替换为你的3×3卷积核")
    expect(page.locator("#override-clear")).to_have_text("恢复使用训练得到的卷积核")
    expect(page.locator(".layer-gap[data-layer=bn1]")).to_have_text("lenet 没有 bn1：它没有批归一化层。")
    expect(page.locator("#compare-verdict")).to_contain_text("并排对比：lenet 判断为")
    seen = set(english(page))

    before = renders(page)
    draw(page, [(0.5, 0.15 + 0.07 * i) for i in range(11)])
    wait_for_render(page, before, "stroke")
    expect(page.locator("#original-caption")).to_have_text("你绘制的图像")
    page.click("#clear")
    expect(page.locator("#original-caption")).to_have_text("尚未绘制")
    expect(page.locator("#confidence")).to_contain_text("，或者选一个。")
    seen |= set(english(page))

    one = np.zeros((28, 28), dtype=np.uint8)
    one[5:23, 12:16] = 255  # a 1
    path = tmp_path / "手写1.PNG"  # a file name with no English word in it
    path.write_bytes(png(one))
    before = renders(page)
    page.set_input_files("#file", str(path))
    wait_for_render(page, before, "file")
    expect(page.locator("#original-caption")).to_have_text("你的图像：手写1.PNG")
    seen |= set(english(page))
    assert missing_glyphs(page) == []
    assert_fits(page)
    assert sorted(seen) == []


def test_a_model_that_resizes_colour_photos_reads_in_chinese(zh: Page) -> None:
    page = open_chinese(zh, "&model=fashion_vgg")
    expect(page.locator("#layer-input .layer-explain")).to_contain_text("预处理后的图像：转为灰度图像，裁掉纯色背景")
    expect(page.locator("#layer-pool .layer-explain")).to_contain_text("全局平均池化")
    expect(page.locator("#layer-classifier .layer-explain")).to_contain_text(
        "这里 flatten 的128个值变为10个数：每个类别一个得分（logit）。"
    )
    expect(page.locator("[data-for-preprocess=resize]")).to_be_visible()
    assert missing_glyphs(page) == []
    assert_fits(page)
    assert english(page) == []
