"""The language switch, the Accept-Language default and the remembered choice, in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.chinese import english_words, missing_glyphs

pytestmark = pytest.mark.browser

NAV_ZH = ["网络探索", "卷积核实验室", "模型", "批归一化", "训练过程"]


def test_accept_language_chooses_chinese(browser: Browser, base_url: str) -> None:
    context = browser.new_context(base_url=base_url, locale="zh-CN")  # Accept-Language: zh-CN
    try:
        page = context.new_page()
        page.goto("/model")
        expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
        expect(page.locator(".site-nav a")).to_have_text(NAV_ZH)
        expect(page.locator(".skip-link")).to_have_text("跳到正文")
        assert missing_glyphs(page) == []
    finally:
        context.close()


def test_english_browser_gets_english(page: Page) -> None:
    page.goto("/model")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".site-nav a").first).to_have_text("Explorer")
    expect(page.locator('.lang-switch a[data-lang="en"]')).to_have_attribute("aria-current", "true")


def test_switch_is_remembered_and_keeps_the_address(page: Page) -> None:
    page.goto("/model?model=lenet")
    page.locator('.lang-switch a[data-lang="zh-CN"]').click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    assert "model=lenet" in page.url and "lang=zh-CN" in page.url
    expect(page.locator('.lang-switch a[data-lang="zh-CN"]')).to_have_attribute("aria-current", "true")
    # the cookie remembers it: an address without ?lang= is Chinese too
    page.goto("/kernels")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator(".site-nav a[aria-current=page]")).to_have_text("卷积核实验室")
    # by keyboard: the English link is an ordinary link
    english = page.locator('.lang-switch a[data-lang="en"]')
    english.focus()
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto("/kernels")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_unknown_language_is_said_in_words(page: Page) -> None:
    page.goto("/model?lang=fr")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#error-text")).to_contain_text("?lang=fr is not a language of this site")


def test_header_in_chinese_fits_a_phone(browser: Browser, base_url: str) -> None:
    context = browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844}, has_touch=True)
    try:
        page = context.new_page()
        page.goto("/model?lang=zh-CN")
        expect(page.locator(".site-nav a").first).to_have_text("网络探索")
        overflow = page.evaluate("document.querySelector('.site-header').scrollWidth - window.innerWidth")
        assert overflow <= 0
        assert english_words(page, selector=".site-header") == []
        assert english_words(page, selector=".site-footer") == []
    finally:
        context.close()
