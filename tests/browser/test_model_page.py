"""The model page (GET /model) in a real Chromium: the architecture arithmetic, the confusion matrix and
its digits, the filters (values compared with the API's) and the 1x1 demo."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

MINUS = "\u2212"
DOT = "\u00b7"


def open_model_page(page: Page) -> Page:
    page.goto("/model")
    page.wait_for_selector("main[data-state=ready]")
    assert page.get_attribute("main", "data-error") is None
    return page


def decode(tensor: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(tensor["data"]), "<f4").reshape(tensor["shape"])


def readout_value(page: Page) -> float:
    return float(page.get_attribute("#readout", "data-value"))


def hover_cell(page: Page, selector: str, fx: float, fy: float) -> None:
    target = page.locator(selector)
    target.scroll_into_view_if_needed()
    box = target.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"])


def test_architecture_table_spells_out_the_arithmetic(page: Page) -> None:
    open_model_page(page)
    model = page.request.get("/api/model").json()
    info = {layer["name"]: layer for layer in model["layers"]}
    pool2 = page.locator("#arch-table tr[data-layer=pool2]")
    rf = pool2.locator("td.rf")
    field = info["pool2"]["receptive_field"]
    assert (rf.get_attribute("data-size"), rf.get_attribute("data-jump"), rf.get_attribute("data-start")) == (
        str(field["size"]),
        str(field["jump"]),
        f"{field['start']:g}",
    )
    expect(rf).to_contain_text(f"{field['size']} \u00d7 {field['size']}")
    expect(rf).to_contain_text(f"jump {field['jump']}")
    before = info["relu2"]["receptive_field"]
    expect(rf).to_contain_text(f"r = {before['size']} + (2 \u2212 1)\u00b7{before['jump']} = {field['size']}")
    side = info["relu2"]["output_shape"][1]
    expect(pool2.locator("td.arith")).to_contain_text(f"({side} {MINUS} 2 + 2\u00b70) / 2 + 1 = {side // 2}")
    conv1 = page.locator("#arch-table tr[data-layer=conv1]")
    expect(conv1.locator("td.arith")).to_contain_text(f"(28 {MINUS} 5 + 2\u00b72) / 1 + 1 = 28")
    expect(conv1.locator("td.params")).to_contain_text("20\u00b7(1\u00b75\u00b75) + 20 = 520")
    conv2 = info["conv2"]
    expect(page.locator("#arch-table tr[data-layer=conv2] td.params")).to_contain_text(f"= {conv2['params']:,}")
    madds = int(np.prod(conv2["output_shape"])) * 20 * 5 * 5
    expect(page.locator("#arch-table tr[data-layer=conv2] td.madds")).to_contain_text(f"= {madds:,}")
    maps = info["pool2"]["output_shape"]
    flat = f"{int(np.prod(maps)):,}"
    expect(page.locator("#arch-table tr[data-layer=flatten] td.arith")).to_contain_text(
        f"{DOT.join(map(str, maps))} = {flat} values in one vector"
    )
    expect(page.locator("#arch-table tr[data-layer=fc1] td.arith")).to_contain_text(f"{flat} \u2192 500")
    assert page.get_attribute("#arch-table tfoot td.params", "data-value") == str(model["params"])
    assert page.locator("#arch-table .mismatch").count() == 0
    assert page.locator("#arch-table tbody tr").count() == len(model["layers"])


def test_a_confusion_cell_shows_its_digits_and_opens_them_in_the_explorer(page: Page) -> None:
    open_model_page(page)
    card = page.request.get("/api/model/card").json()
    matrix = np.array(card["confusion_matrix"])
    np.fill_diagonal(matrix, 0)
    label, predicted = np.unravel_index(matrix.argmax(), matrix.shape)
    count = int(matrix[label, predicted])
    page.click(f"#confusion td[data-label='{label}'][data-predicted='{predicted}'] button")
    panel = page.locator("#cell-digits")
    expect(panel).to_contain_text(f"A {label} read as {predicted}: {count} test digit")
    links = panel.locator("a.digit-link")
    expect(links).to_have_count(count)
    wanted = [m["index"] for m in card["misclassified"] if (m["label"], m["predicted"]) == (label, predicted)]
    assert [int(links.nth(i).get_attribute("data-sample")) for i in range(count)] == wanted
    page.wait_for_function(
        "() => [...document.querySelectorAll('#cell-digits img')].every((i) => i.complete && i.naturalWidth === 28)"
    )
    # the diagonal: a count, no list
    page.click("#confusion td[data-label='3'][data-predicted='3'] button")
    expect(panel).to_contain_text("answered correctly")
    expect(panel.locator("a.digit-link")).to_have_count(0)
    page.click(f"#confusion td[data-label='{label}'][data-predicted='{predicted}'] button")
    links.first.click()
    page.wait_for_url(f"**/?sample={wanted[0]}")
    page.wait_for_selector("main[data-state=ready]")
    expect(page.locator("#original-caption")).to_contain_text(f"#{wanted[0]}")


def test_every_filter_is_drawn_with_its_values_on_hover(page: Page) -> None:
    open_model_page(page)
    convs = [layer for layer in page.request.get("/api/model").json()["layers"] if layer["kind"] == "conv"]
    boxes = page.locator("#filter-layers .filter-layer > h3 + *")  # a box, or the frame a scrolling box sits in
    expect(boxes).to_have_count(len(convs))
    layers = page.locator("#filter-layers .filter-layer")
    assert [layers.nth(i).get_attribute("data-layer") for i in range(layers.count())] == [c["name"] for c in convs]
    first = page.locator("#filter-layers div.conv1-filters[data-layer=conv1]")
    second = page.locator("#filter-layers div.conv2-filters[data-layer=conv2]")
    expect(first.locator("canvas")).to_have_count(convs[0]["output_shape"][0])
    expect(second.locator(".filter-row canvas")).to_have_count(convs[1]["output_shape"][0])
    drawn = page.evaluate(
        """() => [...document.querySelectorAll('#filter-layers canvas')].every((c) => {
            const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            const colours = new Set();
            for (let i = 0; i < px.length; i += 4) colours.add(px[i] * 65536 + px[i + 1] * 256 + px[i + 2]);
            return colours.size > 3;
        })"""
    )
    assert drawn, "a filter canvas is blank"
    weights = page.request.get("/api/layers/conv1/weights").json()
    w, b = (decode(t) for t in weights["tensors"])
    tile = "#filter-layers div[data-layer=conv1] figure[data-filter='7']"
    hover_cell(page, f"{tile} canvas", 0.9, 0.3)  # (y 1, x 4)
    assert readout_value(page) == pytest.approx(float(w[7, 0, 1, 4]), abs=1e-7)
    expect(page.locator(f"{tile} .bias")).to_contain_text(f"{b[7]:.3g}".replace("-", MINUS)[:4])
    conv2 = page.request.get("/api/layers/conv2/weights").json()
    w2 = decode(conv2["tensors"][0])
    # row 11, kernel of input channel 3 (the 4th of 20 tiles, each 5 wide plus a 1 px gap), weight (2, 2)
    row = "#filter-layers div[data-layer=conv2] .filter-row[data-filter='11'] canvas"
    strip = page.locator(row)
    width = 20 * 5 + 19
    hover_cell(page, row, (3 * 6 + 2.5) / width, 2.5 / 5)
    assert strip.is_visible()
    assert page.get_attribute("#readout", "data-unit") == "3"
    assert readout_value(page) == pytest.approx(float(w2[11, 3, 2, 2]), abs=1e-7)


def test_the_1x1_demo_mixes_the_maps(page: Page) -> None:
    open_model_page(page)
    section = page.locator("section:has(#mix-form)")
    expect(section).to_have_attribute("data-mixed", "4")
    expect(page.locator("#mix-outputs-maps canvas")).to_have_count(4)
    expect(page.locator("#mix-inputs canvas")).to_have_count(20)
    counts = page.locator("#mix-counts")
    expect(counts).to_contain_text("4\u00d720 weights + 4 biases = 84 parameters")
    expect(counts).to_contain_text("4\u00d720\u00d75\u00d75 + 4 = 2,004 parameters")
    expect(counts).to_contain_text("25 times the multiply-adds")
    # two outputs, differences of neighbouring channels, on conv1 of digit 12
    renders = int(section.get_attribute("data-renders"))
    page.fill("#mix-sample", "12")
    page.select_option("#mix-layer", "conv1")
    page.fill("#mix-outputs", "2")
    page.dispatch_event("#mix-outputs", "change")
    page.click("[data-preset=difference]")
    # Each change asks again and only the newest answer is drawn (older ones may be dropped when they
    # overlap): wait for the newest, which clears data-busy, not for a number of renders.
    page.wait_for_function(
        f"() => Number(document.querySelector('section:has(#mix-form)').dataset.renders) > {renders}"
        " && !document.querySelector('section:has(#mix-form)').dataset.busy"
    )
    expect(page.locator("#mix-outputs-maps canvas")).to_have_count(2)
    matrix = [[1.0, -1.0] + [0.0] * 18, [0.0, 1.0, -1.0] + [0.0] * 17]
    reply = page.request.post(
        "/api/mix", multipart={"sample": "12", "layer": "conv1", "matrix": json.dumps(matrix)}
    ).json()
    mixed = decode(reply["output"])
    hover_cell(page, "#mix-outputs-maps figure:nth-child(2) canvas", (14 + 0.5) / 28, (9 + 0.5) / 28)
    assert readout_value(page) == pytest.approx(float(mixed[1, 9, 14]), abs=1e-5)
    assert page.get_attribute("#mix-explore", "href") == "/?sample=12"


def test_full_page_screenshot(page: Page, output_path: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    open_model_page(page)
    page.click("#confusion td.off button >> nth=0")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    target = Path(output_path) / "model-1280.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 50_000
    page.set_viewport_size({"width": 390, "height": 844})  # a phone: wide tables scroll inside their box
    page.wait_for_function("document.documentElement.scrollWidth <= 390")
