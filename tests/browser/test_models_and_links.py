"""Switching models without losing the input, two models side by side, and the page's address (?model=,
?sample=) on every page, in a real Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.datasets import mnist
from tests.browser.test_explorer import api_layer, draw, open_explorer, png, renders, wait_for_render

pytestmark = pytest.mark.browser

READY_MS = 120_000  # a guard against a hang, never reached: every page is ready in well under a second


@pytest.fixture(scope="module")
def digits() -> mnist.Split:
    return mnist.load("test")


def activations(page: Page, model: str, **multipart: object) -> dict:
    reply = page.request.post(f"/api/activations?model={model}", multipart=multipart)
    assert reply.ok, reply.text()
    return reply.json()


def test_switching_the_model_keeps_an_uploaded_digit(page: Page, digits: mnist.Split, tmp_path: Path) -> None:
    open_explorer(page)
    path = tmp_path / "four.png"
    path.write_bytes(png(digits.images[4]))
    before = renders(page)
    page.set_input_files("#file", str(path))
    wait_for_render(page, before, "file")
    expect(page.locator("#original-caption")).to_have_text("Your image: four.png")
    page.evaluate("window.sameDocument = true")  # gone if the page reloads
    before = renders(page)
    page.select_option("#model-select", "lenet")  # no reload: the upload is sent to lenet
    wait_for_render(page, before, "file")
    assert "model=lenet" in page.url
    assert page.evaluate("window.sameDocument") is True
    expect(page.locator("#original-caption")).to_have_text("Your image: four.png")
    expect(page.locator("main")).to_have_attribute("data-model", "lenet")
    expected = page.request.post(
        "/api/activations?model=lenet&layers=probs",
        multipart={"file": {"name": "four.png", "mimeType": "image/png", "buffer": path.read_bytes()}},
    ).json()
    assert page.text_content("#predicted") == str(expected["prediction"]["label"])
    expect(page.locator("#layer-bn1")).to_have_count(0)  # lenet's layers, from GET /api/model?model=lenet
    expect(page.locator("#layer-conv1")).to_have_count(1)


def test_switching_the_model_keeps_a_drawing(page: Page) -> None:
    open_explorer(page)
    before = renders(page)
    draw(page, [(0.5, 0.15 + 0.07 * i) for i in range(11)])
    wait_for_render(page, before, "stroke")
    before = renders(page)
    page.select_option("#model-select", "lenet")
    wait_for_render(page, before, "stroke")
    expect(page.locator("#original-caption")).to_have_text("Your drawing")
    before = renders(page)
    page.select_option("#model-select", "lenet_bn")
    wait_for_render(page, before, "stroke")
    assert "model=" not in page.url  # the default model needs no ?model=


def test_two_models_side_by_side_aligned_by_layer(page: Page) -> None:
    open_explorer(page, "/?sample=8")
    before = renders(page)
    page.select_option("#compare-select", "lenet")
    wait_for_render(page, before, "sample")
    assert "compare=lenet" in page.url
    first = [layer["name"] for layer in page.request.get("/api/model").json()["layers"]]
    second = [layer["name"] for layer in page.request.get("/api/model?model=lenet").json()["layers"]]
    rows = page.locator("#layers > .layer-row")
    names = rows.evaluate_all("rows => rows.map((r) => r.dataset.layer)")
    assert names == first  # lenet's layers are a subsequence: every row is one of lenet_bn's
    for name in names:
        row = page.locator(f'#layers > .layer-row[data-layer="{name}"]')
        expect(row.locator('.layer[data-model="lenet_bn"]')).to_have_count(1)
        if name in second:
            expect(row.locator('.layer[data-model="lenet"]')).to_have_count(1)
        else:
            expect(row.locator('.layer-gap[data-model="lenet"]')).to_contain_text(f"lenet has no {name}")
    # the second model's maps and verdict are lenet's own, for the same digit
    lenet = activations(page, "lenet", sample="8")
    expect(page.locator("#compare-verdict")).to_contain_text(f"lenet says {lenet['prediction']['label']}")
    conv1 = api_layer(lenet, "conv1")
    canvas = page.locator("#layer-b-conv1 .map-tile").nth(5).locator("canvas.map")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 10.5 * box["width"] / 28, box["y"] + 12.5 * box["height"] / 28)
    readout = page.locator("#readout")
    expect(readout).to_have_attribute("data-channel", "5")
    assert float(readout.get_attribute("data-value") or "nan") == pytest.approx(float(conv1[5, 12, 10]), abs=1e-5)
    # the address keeps the pair: reloading shows both again
    page.reload()
    page.wait_for_selector("main[data-state=ready]")
    expect(page.locator("main")).to_have_attribute("data-compare", "lenet")
    expect(page.locator(".layer-gap")).to_have_count(len(set(first) - set(second)))


def test_the_model_page_shows_the_model_it_is_asked_for_and_switches_in_place(page: Page) -> None:
    page.goto("/model?model=lenet&sample=5")
    page.wait_for_selector("main[data-state=ready]")
    assert page.input_value("#model-select") == "lenet"
    expect(page.locator("#arch-table tr[data-layer=bn1]")).to_have_count(0)
    card = page.request.get("/api/model/card?model=lenet").json()
    expect(page.locator('[data-stat="test-accuracy"] dd')).to_have_text(f"{card['test_accuracy'] * 100:.2f}%")
    assert page.input_value("#mix-sample") == "5"  # ?sample= is the 1x1 demo's digit
    page.fill("#mix-sample", "12")
    page.dispatch_event("#mix-sample", "change")
    section = page.locator("#mix-form").locator("xpath=ancestor::section")
    page.wait_for_function("() => !document.querySelector('#mix-form').closest('section').dataset.busy")
    page.evaluate("window.sameDocument = true")
    page.select_option("#model-select", "lenet_bn")
    expect(page.locator("#arch-table tr[data-layer=bn1]")).to_have_count(1)
    page.wait_for_selector("main[data-state=ready]")
    assert page.input_value("#mix-sample") == "12"  # no reload: the demo keeps its digit
    assert page.evaluate("window.sameDocument") is True
    assert "model=" not in page.url
    expect(section).to_have_attribute("data-mixed", "4")


PAGES = ["/", "/kernels", "/model", "/batchnorm"]
# the kernel lab names its (MNIST) test digits, the pages of a model its test images
LINKS = [("sample=abc", "?sample=abc is not a test"), ("model=nope", "?model=nope is not a served model")]


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(("query", "words"), LINKS, ids=["bad-sample", "bad-model"])
def test_a_bad_address_is_explained_on_every_page_until_dismissed(page: Page, path: str, query: str, words: str):
    page.goto(f"{path}?{query}")
    error = page.locator("#error")
    expect(error).to_be_visible()
    expect(error).to_contain_text(words)
    page.wait_for_selector("main[data-state=ready]", timeout=READY_MS)  # the page's own loading hides nothing
    expect(error).to_be_visible()
    expect(error).to_contain_text(words)
    assert page.get_attribute("main", "data-error-origin") == "link"
    page.click("#error-close")
    expect(error).to_be_hidden()
    assert page.get_attribute("main", "data-error") is None


def test_a_model_without_batchnorm_is_explained_on_the_batchnorm_page(page: Page) -> None:
    page.goto("/batchnorm?model=lenet")
    page.wait_for_selector("main[data-state=ready]", timeout=READY_MS)
    expect(page.locator("#error")).to_be_hidden()  # a served model is shown: the page says what does not apply
    note = page.locator("#no-batchnorm")
    expect(note).to_be_visible()
    expect(note).to_contain_text("lenet has no BatchNorm layers")
    with_bn = [m["name"] for m in page.request.get("/api/models").json() if m["batchnorm"]]
    expect(note).to_contain_text(f"Models with BatchNorm: {', '.join(with_bn)}")
    for section in ("#params", "#lab", "#fold"):
        expect(page.locator(section)).to_be_hidden()
        expect(page.locator(section)).to_have_attribute("data-state", "missing")
    expect(page.locator("#training")).to_have_attribute("data-curves", "2")  # the comparison is about every model


def test_an_out_of_range_sample_is_explained(page: Page) -> None:
    open_explorer(page, "/?sample=123456")
    expect(page.locator("#error")).to_contain_text("?sample=123456 is not a test image: the ids go from 0 to 9999")
    assert renders(page) == 1  # the first test digit instead
    expect(page.locator("#original-caption")).to_contain_text("Test digit #")
