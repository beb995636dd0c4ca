"""The model page's shift panel (POST /api/perturb) and the 1x1 demo's limits and bottleneck in a real
Chromium: values against the API, the keyboard, refusals in words, a phone's width."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def open_model_page(page: Page) -> Page:
    page.goto("/model")
    page.wait_for_selector("main[data-state=ready]")
    assert page.get_attribute("main", "data-error") is None
    return page


def shift_renders(page: Page) -> int:
    return int(page.get_attribute("#shift-section", "data-renders") or 0)


def wait_shift(page: Page, after: int) -> None:
    page.wait_for_function(
        f"() => {{ const d = document.querySelector('#shift-section').dataset;"
        f" return Number(d.renders || 0) > {after} && !d.busy; }}"
    )


def test_arrow_keys_shift_the_digit_and_the_table_is_the_apis(page: Page) -> None:
    open_model_page(page)
    digit = page.locator("#shift-digit")
    digit.focus()
    for expected in ("0,1", "0,2"):
        before = shift_renders(page)
        page.keyboard.press("ArrowRight")
        wait_shift(page, before)
        expect(page.locator("#shift-section")).to_have_attribute("data-shift", expected)
    api = page.request.post("/api/perturb", multipart={"sample": "0", "shift": "0,2"}).json()
    rows = page.locator("#shift-table tbody tr")
    expect(rows).to_have_count(len(api["layers"]))
    for row, layer in zip(rows.all(), api["layers"], strict=True):
        assert row.get_attribute("data-layer") == layer["name"]
        assert float(row.get_attribute("data-change")) == pytest.approx(layer["relative_change"], rel=1e-9)
    # 2 pixels is one pool1 unit: the move undone there leaves (almost) nothing.
    expect(page.locator("#shift-table tr[data-layer=pool1] td").last).to_contain_text("moved 0, 1")
    expect(page.locator("#shift-verdict")).to_contain_text("max pooling made the change")
    p = api["prediction"]
    expect(page.locator("#shift-status")).to_contain_text(f"says {p['before']}")
    # Past the limit: refused in words, the digit stays at 4.
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    expect(page.locator("#shift-status")).to_contain_text("At most 4 pixels each way")
    expect(page.locator("#shift-section")).to_have_attribute("data-shift", "0,4")
    # Turning by keyboard: the slider moves a degree per arrow key.
    before = shift_renders(page)
    page.focus("#shift-rotate")
    page.keyboard.press("ArrowRight")
    wait_shift(page, before)
    expect(page.locator("#shift-section")).to_have_attribute("data-rotate", "1")
    expect(page.locator("#shift-table tr[data-layer=conv1] td").last).to_have_text("—")


def test_the_1x1_demo_takes_64_outputs_and_refuses_more_in_words(page: Page) -> None:
    open_model_page(page)
    limits = page.request.get("/api/mix/limits").json()
    assert limits["max_outputs"] == 64
    expect(page.locator("#mix-outputs")).to_have_attribute("max", "64")
    expect(page.locator("#mix-outputs-limit")).to_have_text("(1\u201364)")
    section = page.locator("section:has(#mix-form)")
    renders = int(section.get_attribute("data-renders"))
    page.fill("#mix-outputs", "64")
    page.dispatch_event("#mix-outputs", "change")
    page.wait_for_function(
        f"() => Number(document.querySelector('section:has(#mix-form)').dataset.renders) > {renders}"
        " && !document.querySelector('section:has(#mix-form)').dataset.busy"
    )
    expect(section).to_have_attribute("data-mixed", "64")
    expect(page.locator("#mix-outputs-maps canvas")).to_have_count(64)
    for wrong, words in (("65", "65 is out of range; the 1 \u00d7 1 layer takes 1 to 64"), ("0", "0 is out of range")):
        page.fill("#mix-outputs", wrong)
        page.dispatch_event("#mix-outputs", "change")
        expect(page.locator("#error")).to_contain_text(words)
        expect(page.locator("#mix-outputs")).to_have_value(wrong)  # not changed in silence
        expect(page.locator("#mix-outputs")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#mix-outputs-maps canvas")).to_have_count(64)  # the last result stays
    # Every mixable layer is offered, conv2 with its 50 channels.
    page.select_option("#mix-layer", "conv2")
    expect(page.locator("#mix-inputs-title")).to_have_text("The 50 input maps")


def test_the_bottleneck_counts(page: Page) -> None:
    open_model_page(page)
    table = page.locator("#bottleneck-table")
    expect(table).to_have_attribute("data-bottleneck-params", "164160")
    expect(table).to_have_attribute("data-direct-params", "590080")
    expect(page.locator("#bottleneck-summary")).to_contain_text("3.6 times the parameters")
    page.fill("#bottleneck-c_out", "64")
    page.dispatch_event("#bottleneck-c_out", "change")
    api = page.request.get("/api/mix/bottleneck?c_out=64").json()
    expect(table).to_have_attribute("data-bottleneck-params", str(api["bottleneck"]["params"]))
    expect(table).to_contain_text(f"{api['direct']['madds']:,}")
    page.fill("#bottleneck-c_mid", "0")
    page.dispatch_event("#bottleneck-c_mid", "change")
    expect(page.locator("#error")).to_contain_text("C_mid (after the 1 \u00d7 1): 0 is out of range")


def test_panels_at_phone_width(browser, browser_errors, base_url: str, output_path: str) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, base_url=base_url, has_touch=True, is_mobile=True
    )
    browser_errors.watch(context)
    try:
        page = open_model_page(context.new_page())
        before = shift_renders(page)
        page.locator("#shift-section [data-move='1,0']").tap()
        wait_shift(page, before)
        expect(page.locator("#shift-section")).to_have_attribute("data-shift", "1,0")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.locator("#shift-section").screenshot(path=str(Path(output_path) / "model-shift-390.png"))
        box = page.locator("#mix-bottleneck").bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390
    finally:
        context.close()


def test_the_api_refuses_what_the_page_refuses(page: Page) -> None:
    reply = page.request.post("/api/mix", multipart={"sample": "0", "matrix": json.dumps([[0.0] * 20] * 65)})
    assert reply.status == 422 and "1 to 64 rows" in reply.json()["detail"]
    reply = page.request.post("/api/perturb", multipart={"sample": "0", "shift": "0,5"})
    assert reply.status == 422 and "within +-4" in reply.json()["detail"]
