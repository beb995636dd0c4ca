"""Model insight in the explorer, in a real Chromium: receptive fields of clicked units outlined on the
input (with the arithmetic and the effective field), explanation overlays, top-activating digits on the
filter panel and in the enlarged view, and ``/?sample=<id>`` deep links. Geometry and numbers are checked
against the API (/api/model, /api/receptive-field, /api/explain, .../channels/{c}/top)."""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.test_explorer import decode, open_explorer, renders, settled_box, wait_for_render

pytestmark = pytest.mark.browser

IMAGE = 28
TIMES = "\u00d7"


def model_field(page: Page, layer: str) -> dict:
    """size / jump / start of a layer from GET /api/model."""
    layers = page.request.get("/api/model").json()["layers"]
    return next(info["receptive_field"] for info in layers if info["name"] == layer)


def expected_box(field: dict, y: int, x: int) -> tuple[dict, dict]:
    """(unclipped, clipped) inclusive bounds of unit (y, x): centre start + i * jump, +- (size - 1) / 2."""
    half = (field["size"] - 1) / 2
    cy, cx = field["start"] + y * field["jump"], field["start"] + x * field["jump"]
    full = {"y0": round(cy - half), "x0": round(cx - half), "y1": round(cy + half), "x1": round(cx + half)}
    clipped = {
        "y0": max(full["y0"], 0),
        "x0": max(full["x0"], 0),
        "y1": min(full["y1"], IMAGE - 1),
        "x1": min(full["x1"], IMAGE - 1),
    }
    return full, clipped


def click_unit(page: Page, layer: str, channel: int, y: int, x: int) -> None:
    """Click the centre of cell (y, x) of a map in the layer list."""
    canvas = page.locator(f"#layer-{layer} .map-tile").nth(channel).locator("canvas.map")
    h, w = (int(canvas.get_attribute(a)) for a in ("height", "width"))
    box = settled_box(page, canvas)
    page.mouse.click(box["x"] + (x + 0.5) * box["width"] / w, box["y"] + (y + 0.5) * box["height"] / h)


def ready_panel(page: Page, layer: str, channel: int, y: int, x: int) -> Locator:
    panel = page.locator(
        f"#inspector .rf-panel[data-state=ready][data-layer={layer}][data-channel='{channel}']"
        f"[data-y='{y}'][data-x='{x}']"
    )
    expect(panel).to_be_visible()
    return panel


def outline_in_pixels(panel: Locator, selector: str) -> dict:
    """An outline's position and size in input pixels, measured on screen against the picture beside it
    (the canvas has one pixel per input pixel, padding cells included)."""
    canvas = panel.locator(".rf-theory canvas.rf-canvas")
    cells = int(canvas.get_attribute("width"))
    margin = (cells - IMAGE) // 2
    stage = canvas.bounding_box()
    box = panel.locator(f".rf-theory {selector}").bounding_box()
    assert stage is not None and box is not None
    cell = stage["width"] / cells
    return {
        "x0": (box["x"] - stage["x"]) / cell - margin,
        "y0": (box["y"] - stage["y"]) / cell - margin,
        "width": box["width"] / cell,
        "height": box["height"] / cell,
    }


def assert_outline(measured: dict, box: dict) -> None:
    assert measured["width"] == pytest.approx(box["x1"] - box["x0"] + 1, abs=0.05)
    assert measured["height"] == pytest.approx(box["y1"] - box["y0"] + 1, abs=0.05)
    assert measured["x0"] == pytest.approx(box["x0"], abs=0.05)
    assert measured["y0"] == pytest.approx(box["y0"], abs=0.05)


# ------------------------------------------------------------------------------------------------


def test_clicking_a_conv2_unit_outlines_its_receptive_field(page: Page) -> None:
    open_explorer(page, "/?sample=3")
    field = model_field(page, "conv2")
    assert field["size"] == 14  # two 5x5 convolutions around a 2x2 pool
    y, x = 4, 6
    full, clipped = expected_box(field, y, x)
    assert full == clipped  # a unit in the middle: nothing to clip

    click_unit(page, "conv2", 5, y, x)
    dialog = page.locator("#inspector")
    expect(dialog.locator("#inspector-title")).to_have_text("conv2 · channel 5")
    panel = ready_panel(page, "conv2", 5, y, x)
    expect(dialog.locator(".zoom-pick")).to_have_attribute("data-y", str(y))
    outline = panel.locator(".rf-theory .rf-box")
    for key, value in clipped.items():
        assert outline.get_attribute(f"data-{key}") == str(value)
    assert_outline(outline_in_pixels(panel, ".rf-box"), clipped)
    expect(panel.locator(".rf-theory .rf-box-full")).to_have_count(0)

    # The arithmetic is spelled out with the layer's numbers, and the table ends at conv2.
    math = panel.locator(".rf-math")
    expect(math).to_contain_text(f"size = {field['size']}, jump = {field['jump']}, start = {field['start']}")
    centre_y = field["start"] + y * field["jump"]
    expect(math.locator(".rf-axis").first).to_contain_text(f"= {centre_y:g}")
    expect(math.locator(".rf-axis").first).to_contain_text(f"{clipped['y0']} to {clipped['y1']}")
    rows = panel.locator(".rf-steps tr")
    expect(rows.last).to_contain_text("conv2")
    expect(rows.last.locator("td").nth(4)).to_have_text(str(field["size"]))

    # The effective field is the API's gradient, and all of it lies inside the box.
    api = page.request.post(
        "/api/receptive-field", multipart={"sample": "3", "layer": "conv2", "channel": "5", "y": str(y), "x": str(x)}
    ).json()
    assert api["box"] == clipped
    gradient = decode(api["gradient"])
    nonzero = int(np.count_nonzero(gradient))
    expect(panel.locator(".rf-effective figcaption")).to_contain_text(f"non-zero on {nonzero} of 784 pixels")
    expect(panel.locator(".rf-effective figcaption")).to_contain_text("all inside the box")
    heat = panel.locator(".rf-effective canvas.rf-canvas")
    assert int(heat.get_attribute("width")) == int(panel.locator(".rf-theory canvas.rf-canvas").get_attribute("width"))


def test_a_border_unit_is_clipped_and_shows_its_padding(page: Page) -> None:
    open_explorer(page, "/?sample=3")
    field = model_field(page, "pool2")
    y, x = 0, 4
    full, clipped = expected_box(field, y, x)
    assert full != clipped  # reaches into the padding above and to the right
    click_unit(page, "pool2", 2, y, x)
    panel = ready_panel(page, "pool2", 2, y, x)
    assert_outline(outline_in_pixels(panel, ".rf-box"), clipped)
    assert_outline(outline_in_pixels(panel, ".rf-box-full"), full)
    rows, cols = clipped["y1"] - clipped["y0"] + 1, clipped["x1"] - clipped["x0"] + 1
    expect(panel.locator(".rf-theory figcaption")).to_contain_text(
        f"{rows} rows {TIMES} {cols} columns fall on the image"
    )
    expect(panel.locator(".rf-axis").first).to_contain_text(f"clipped to {clipped['y0']} to {clipped['y1']}")


def test_the_field_follows_the_keyboard(page: Page) -> None:
    open_explorer(page, "/?sample=3")
    tile = page.locator("#layer-conv1 .map-tile").nth(0)
    settled_box(page, tile)
    tile.focus()
    page.keyboard.press("Enter")  # a keyboard "click": the centre unit
    ready_panel(page, "conv1", 0, 14, 14)
    expect(page.locator(".zoom-canvas")).to_be_focused()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowUp")
    panel = ready_panel(page, "conv1", 0, 13, 13)
    assert_outline(outline_in_pixels(panel, ".rf-box"), expected_box(model_field(page, "conv1"), 13, 13)[1])
    # A click inside the enlarged map picks that unit.
    zoom = page.locator(".zoom-canvas")
    box = zoom.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + 2.5 * box["width"] / 28, box["y"] + 0.5 * box["height"] / 28)
    ready_panel(page, "conv1", 0, 0, 2)
    page.keyboard.press("Escape")
    expect(page.locator("#inspector")).to_be_hidden()


def percent(p: float) -> str:
    """A probability as format.js's formatPercent writes it."""
    pct = p * 100
    if 99.95 <= pct < 100:
        return ">99.9%"
    if 0 < pct < 0.05:
        return "<0.1%"
    return f"{pct:.1f}%"


def overlay_alpha(page: Page) -> np.ndarray:
    rgba = page.locator("#explain .explain-overlay").evaluate(
        "c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"
    )
    return np.asarray(rgba, dtype=np.uint8).reshape(IMAGE, IMAGE, 4)[..., 3]


def explained_digit(page: Page) -> int:
    """A test digit whose explanation maps are not all zero (Grad-CAM can be: it keeps only the positive
    part of a weighted sum)."""
    for sample in range(20):
        maps = [
            page.request.post(f"/api/explain?method={m}", multipart={"sample": str(sample)}).json()["map"]
            for m in ("saliency", "gradcam", "hirescam", "occlusion")
        ]
        if all(m["max"] > 0 for m in maps):
            return sample
    raise AssertionError("no test digit among the first 20 has non-zero explanations")


@pytest.mark.parametrize("method", ["saliency", "gradcam", "hirescam", "occlusion"])
def test_explanation_overlay_appears_for_each_method(page: Page, method: str) -> None:
    sample = explained_digit(page)
    open_explorer(page, f"/?sample={sample}")
    card = page.locator("#explain")
    card.scroll_into_view_if_needed()
    card.locator(f"label:has(input[value={method}])").click()
    expect(card).to_have_attribute("data-method", method)
    expect(card).to_have_attribute("data-state", "ready")
    expect(card).to_have_attribute("data-empty", "false")
    api = page.request.post(f"/api/explain?method={method}", multipart={"sample": str(sample)}).json()
    predicted = page.text_content("#predicted")
    assert str(api["target"]) == predicted
    expect(card).to_have_attribute("data-target", predicted)
    expect(card.locator(".explain-says")).to_contain_text(
        {"saliency": "Saliency", "gradcam": "Grad-CAM", "hirescam": "HiResCAM", "occlusion": "Occlusion"}[method]
    )
    # The overlay is painted where the map is strong and transparent where it is zero.
    values = decode(api["map"])
    alpha = overlay_alpha(page)
    strength = np.abs(values) / np.abs(values).max()
    assert alpha[np.unravel_index(np.abs(values).argmax(), values.shape)] == 255
    assert np.all(alpha[strength == 0] == 0)
    assert np.abs(alpha / 255 - strength).max() < 0.02
    # Opacity control.
    card.locator(".explain-opacity").fill("30")
    assert float(card.locator(".explain-overlay").evaluate("c => c.style.opacity")) == pytest.approx(0.3)


def test_the_class_picker_changes_the_explained_digit(page: Page) -> None:
    open_explorer(page, "/?sample=3")
    card = page.locator("#explain")
    expect(card).to_have_attribute("data-state", "ready")
    predicted = int(page.text_content("#predicted"))
    other = (predicted + 1) % 10
    card.locator("label:has(input[value=occlusion])").click()
    expect(card).to_have_attribute("data-method", "occlusion")
    before = overlay_alpha(page)
    card.locator(".explain-target").select_option(str(other))
    expect(card).to_have_attribute("data-target", str(other))
    expect(card).to_have_attribute("data-state", "ready")
    api = page.request.post(f"/api/explain?method=occlusion&target={other}", multipart={"sample": "3"}).json()
    expect(card.locator(".explain-status")).to_contain_text(f"the digit {other}")
    expect(card.locator(".explain-status")).to_contain_text(f"probability {percent(api['probability'])}")
    assert not np.array_equal(before, overlay_alpha(page))
    # A new digit is explained for its own prediction when the picker says "the prediction".
    card.locator(".explain-target").select_option("")
    before = renders(page)
    page.locator("#gallery .sample").nth(7).click()
    wait_for_render(page, before, "sample")
    expect(card).to_have_attribute("data-target", page.text_content("#predicted") or "")


def test_the_filter_panel_shows_nine_top_digits(page: Page) -> None:
    open_explorer(page, "/?sample=3")
    page.check("#layer-conv1 [data-toggle=filters]")
    strip = page.locator("#layer-conv1 .top-strip")
    expect(strip).to_be_visible()
    strip.locator("select").select_option("4")
    panel = strip.locator(".top-panel[data-state=ready][data-channel='4']")
    expect(panel).to_be_visible()
    digits = panel.locator(".top-digit")
    expect(digits).to_have_count(9)
    api = page.request.get("/api/layers/conv1/channels/4/top").json()["examples"]
    assert len(api) == 9
    for figure, example in zip(digits.all(), api, strict=True):
        assert figure.get_attribute("data-index") == str(example["index"])
        assert float(figure.get_attribute("data-activation")) == pytest.approx(example["activation"])
        img = figure.locator("img")
        # the image of the model the card belongs to (?model=), from its own test set
        model = page.get_attribute("main", "data-model")
        expect(img).to_have_attribute("src", f"/api/samples/{example['index']}.png?model={model}")
        page.wait_for_function("i => i.complete && i.naturalWidth === 28", arg=img.element_handle())
        box = example["box"]
        outline = figure.locator(".top-box")
        assert outline.get_attribute("data-y0") == str(box["y0"])
        stage, drawn = img.bounding_box(), outline.bounding_box()
        assert stage is not None and drawn is not None
        assert drawn["width"] / (stage["width"] / IMAGE) == pytest.approx(box["x1"] - box["x0"] + 1, abs=0.05)
        patch = figure.locator("canvas.top-patch")
        expect(patch).to_have_attribute("data-drawn", "true")
        assert int(patch.get_attribute("width")) == box["x1"] - box["x0"] + 1
    values = [float(d.get_attribute("data-activation")) for d in digits.all()]
    assert values == sorted(values, reverse=True)
    # A click opens that digit in the explorer.
    first = api[0]
    before = renders(page)
    digits.first.locator("a").click()
    wait_for_render(page, before, "sample")
    assert page.url.endswith(f"?sample={first['index']}")
    expect(page.locator("#original-caption")).to_contain_text(f"#{first['index']}")


def test_the_enlarged_view_shows_the_channels_top_digits(page: Page) -> None:
    open_explorer(page, "/?sample=3")
    click_unit(page, "conv2", 11, 5, 5)
    panel = page.locator("#inspector .top-panel[data-layer=conv2][data-channel='11'][data-state=ready]")
    expect(panel.locator(".top-digit")).to_have_count(9)


def test_a_deep_link_shows_that_sample(page: Page) -> None:
    card = page.request.get("/api/model/card").json()
    wrong = card["misclassified"]
    sample = wrong[0]["index"] if wrong else 1234
    open_explorer(page, f"/?sample={sample}")
    api = page.request.post("/api/activations?layers=probs", multipart={"sample": str(sample)}).json()
    assert page.text_content("#predicted") == str(api["prediction"]["label"])
    if wrong:
        assert api["prediction"]["label"] == wrong[0]["predicted"]
    expect(page.locator("#original-caption")).to_contain_text(f"#{sample}")
    expect(page.locator("#explain")).to_have_attribute("data-target", str(api["prediction"]["label"]))
