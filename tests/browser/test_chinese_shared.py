"""The modules every page shares, in Chinese: the gallery, the prediction panel, the model switch, the colour
bars, the input sources' checks and the server's errors (a lead-in by HTTP status before the API's English
detail), model-words' class names from the card, and the web font the Chinese pages draw their hanzi with."""

# ruff: noqa: RUF001  (the expected Chinese text has fullwidth punctuation and en dashes on purpose)

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.browser.chinese import VIEWPORTS, english_words, missing_glyphs

pytestmark = pytest.mark.browser

FASHION_ZH = ["T恤/上衣", "裤子", "套头衫", "连衣裙", "外套", "凉鞋", "衬衫", "运动鞋", "包", "短靴"]
LEADS = {400: "请求无效", 413: "文件或请求太大", 415: "服务器不接受这种文件类型", 422: "请求无效"}
FONT_FACE = """async () => {
  await document.fonts.ready;
  const face = [...document.fonts].find((f) => f.family.replace(/"/g, "") === "ConvLens Noto Sans SC");
  return face ? face.status : "none";
}"""


def open_chinese(page: Page, path: str) -> None:
    page.goto(path)
    page.wait_for_selector("main[data-state=ready]")


def broken_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("L", (112, 112), 40).save(buffer, format="PNG")
    whole = buffer.getvalue()
    return whole[: len(whole) // 2]  # a PNG signature with a cut-off body: the page's checks pass it


@pytest.mark.parametrize("width", list(VIEWPORTS))
def test_gallery_prediction_switch_and_colour_bars_read_in_chinese(browser: Browser, base_url: str, width: str) -> None:
    context = browser.new_context(base_url=base_url, **VIEWPORTS[width])
    try:
        page = context.new_page()
        open_chinese(page, "/?lang=zh-CN&model=fashion_vgg")
        gallery = page.locator("#gallery .sample")
        expect(gallery.first).to_be_visible()
        # the card's class names in Chinese, and no English grammar around them
        assert set(gallery.locator(".sample-label").all_inner_texts()) <= set(FASHION_ZH)
        expect(gallery.first).to_have_attribute("aria-label", re.compile(r"^测试图像 #\d+，标签为\S+"))
        wrong = page.locator("#gallery .sample.wrong").first
        expect(wrong).to_have_attribute("aria-label", re.compile(r"；模型判为\S+（错误）$"))
        expect(wrong).to_have_attribute("title", re.compile(r"^#\d+：\S+，模型判为\S+$"))
        assert english_words(page, selector="#gallery") == []

        gallery.nth(2).click()
        expect(page.locator("#confidence")).to_have_text(re.compile(r"^置信度[\d.<>]+% · (标签\S+ ✓|但它其实是\S+ ✗)$"))
        assert page.locator("#probs .prob-digit").all_inner_texts() == FASHION_ZH
        expect(page.locator("#predicted")).to_have_text(re.compile("|".join(map(re.escape, FASHION_ZH))))
        for part in ("#predicted", "#confidence", "#probs"):  # the panel's own text (the page's labels are its own)
            assert english_words(page, selector=part) == [], part

        switch = page.locator("#model-switch label")
        expect(switch).to_contain_text("模型")
        options_text = page.locator("#model-select option").all_inner_texts()
        assert "fashion_vgg（Fashion-MNIST，有 BatchNorm，92.72%）" in options_text
        assert any("无 BatchNorm" in text for text in options_text)
        # data, the same in every language: the model names (the word pattern splits lenet_bn) and the data set
        names = {part for m in page.request.get("/api/models").json() for part in m["name"].split("_")}
        assert english_words(page, allowed=names | {"Fashion-MNIST"}, selector="#model-switch") == []

        # every colour bar says its scale and range in Chinese (a caption or note is the page's own words)
        labels = page.eval_on_selector_all(
            ".colorbar[aria-label]", "bars => bars.map((b) => b.getAttribute('aria-label'))"
        )
        assert labels
        scale = re.compile(
            r"^(蓝（负）– 白（0）– 红（正）|暗（0）– 亮（高）|黑（低）– 白（高）)，从[^，]+到[^，]+(，.+)?$"
        )
        assert [label for label in labels if not scale.match(label)] == []
        assert page.locator('[data-word="a-item"]').first.inner_text() == "图像"
        assert missing_glyphs(page) == []
    finally:
        context.close()


def test_upload_problems_and_server_errors_read_in_chinese(page: Page, browser_errors) -> None:
    open_chinese(page, "/?lang=zh-CN")
    error = page.locator("#error-text")
    page.set_input_files("#file", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a digit"}])
    expect(error).to_have_text("“notes.txt”不是网络能读取的图像：请发送 PNG、JPEG、GIF、WebP 或 BMP 文件。")
    page.set_input_files("#file", files=[{"name": "empty.png", "mimeType": "image/png", "buffer": b""}])
    expect(error).to_have_text("“empty.png”是空文件。")

    data = broken_png()
    reply = page.request.post(
        "/api/activations", multipart={"file": {"name": "broken.png", "mimeType": "image/png", "buffer": data}}
    )
    assert reply.status in LEADS
    browser_errors.allow(rf"status of {reply.status}")  # Chromium logs the 4xx the test provokes
    page.set_input_files("#file", files=[{"name": "broken.png", "mimeType": "image/png", "buffer": data}])
    # the API's detail stays English (the API's language), after a Chinese sentence saying what happened
    expect(error).to_have_text(f"{LEADS[reply.status]}（{reply.status}）：{reply.json()['detail']}")


def test_english_errors_are_the_servers_detail_alone(page: Page, browser_errors) -> None:
    open_chinese(page, "/?lang=en")
    data = broken_png()
    reply = page.request.post(
        "/api/activations", multipart={"file": {"name": "broken.png", "mimeType": "image/png", "buffer": data}}
    )
    browser_errors.allow(rf"status of {reply.status}")
    page.set_input_files("#file", files=[{"name": "broken.png", "mimeType": "image/png", "buffer": data}])
    expect(page.locator("#error-text")).to_have_text(reply.json()["detail"])


def test_chinese_pages_draw_hanzi_with_the_web_font(page: Page) -> None:
    open_chinese(page, "/model?lang=zh-CN")
    assert page.evaluate(FONT_FACE) == "loaded"
    assert page.evaluate("""() => document.fonts.check('16px "ConvLens Noto Sans SC"', "模型")""")
    family = page.evaluate("getComputedStyle(document.querySelector('.site-nav a')).fontFamily")
    assert family.startswith('"ConvLens Noto Sans SC"')
    assert missing_glyphs(page) == []


def test_english_pages_never_fetch_the_web_font(browser: Browser, base_url: str) -> None:
    context = browser.new_context(base_url=base_url)
    try:
        page = context.new_page()
        fetched: list[str] = []
        page.on("request", lambda request: fetched.append(request.url))
        open_chinese(page, "/model?lang=en")
        assert page.evaluate(FONT_FACE) == "unloaded"  # declared for CJK code points only: nothing asked for it
        assert [url for url in fetched if url.endswith(".woff2")] == []
    finally:
        context.close()
