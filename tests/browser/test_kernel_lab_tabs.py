"""The kernel lab's new parts in a real Chromium: the conv-layer tab and the 1-D tab against their APIs, the
rounding of sizes that do not divide, pooling a feature map at true scale, and the page refusing (in words,
with no size in the formula) what the server would refuse. Keyboard use and a phone's width for each."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

MINUS = "\u2212"
TIMES = "\u00d7"

SETTLE = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"


def number(text: str) -> float:
    return float(text.strip().replace(MINUS, "-"))


def decode(entry: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(entry["data"]), "<f4").reshape(entry["shape"])


def open_lab(page: Page, path: str = "/kernels") -> Page:
    page.goto(path)
    page.wait_for_selector("main[data-state=ready]")
    page.wait_for_function("() => Number(document.querySelector('main').dataset.renders || 0) > 0")
    return page


def layer_renders(page: Page) -> int:
    return int(page.get_attribute("#panel-layer", "data-renders") or 0)


def wait_layer(page: Page, after: int) -> None:
    page.wait_for_function(
        f"() => {{ const d = document.querySelector('#panel-layer').dataset;"
        f" return Number(d.renders || 0) > {after} && !d.busy; }}"
    )


def open_layer_tab(page: Page) -> Page:
    open_lab(page, "/kernels#conv-layer")
    expect(page.locator("#tab-layer")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#panel-filter")).to_be_hidden()
    wait_layer(page, 0)
    return page


def conv_layer(page: Page, **fields) -> dict:
    data = {k: v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
    reply = page.request.post("/api/conv-layer", multipart=data)
    assert reply.ok, reply.text()
    return reply.json()


def shapes(page: Page) -> dict[str, str]:
    return {c.get_attribute("data-tensor"): c.inner_text() for c in page.locator("#layer-shapes code").all()}


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


# ---- the conv-layer tab ---------------------------------------------------------------------------


def test_conv_layer_tab_shows_the_lectures_shapes_and_one_units_sum(page: Page) -> None:
    open_layer_tab(page)
    assert shapes(page) == {
        "input": f"1 {TIMES} 3 {TIMES} 32 {TIMES} 32",
        "weight": f"1 {TIMES} 3 {TIMES} 5 {TIMES} 5",
        "bias": "1",
        "output": f"1 {TIMES} 1 {TIMES} 28 {TIMES} 28",
    }
    expect(page.locator("#layer-explanation")).to_contain_text("one 28x28 map")
    expect(page.locator("#layer-photos [data-photo=cat]")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#layer-credits")).to_contain_text("CC0")
    # The page sends the bank as it shows it: the lecture's template on R, its negative on G.
    weight = [json.loads(page.get_attribute(f"#layer-filter-0-c{c}", "data-values")) for c in range(3)]
    assert weight[0][2] == [0, -1, 0, 1, 0] and weight[1][2] == [0, 1, 0, -1, 0] and not np.any(weight[2])
    # Keyboard: focus the map, Enter picks the middle unit, an arrow key moves it.
    canvas = page.locator("#layer-stack canvas.pickable").first
    before = layer_renders(page)
    canvas.focus()
    page.keyboard.press("Enter")
    wait_layer(page, before)
    expect(page.locator("#panel-layer")).to_have_attribute("data-unit", "0,0,14,14")
    before = layer_renders(page)
    page.keyboard.press("ArrowLeft")
    wait_layer(page, before)
    expect(page.locator("#panel-layer")).to_have_attribute("data-unit", "0,0,14,13")
    api = conv_layer(page, photo="cat", weight=[weight], bias=[0], padding="0", stride="1", unit="0,0,14,13")
    unit = api["unit"]
    shown = page.locator("#layer-unit")
    expect(shown.locator(".step-block")).to_have_count(3)  # one table per input channel
    sums = [number(t) for t in shown.locator(".layer-channel-sum").all_inner_texts()]
    assert sums == pytest.approx(unit["channel_sums"], abs=1e-4)
    assert number(shown.locator(".layer-total .step-sum").inner_text()) == pytest.approx(unit["value"], abs=1e-4)
    expect(shown.locator(".step-check")).to_contain_text("✓")
    assert unit["value"] == pytest.approx(float(decode(api["output"])[0, 0, 14, 13]), abs=1e-5)
    # The patch is outlined on the image.
    assert page.locator("#layer-stack .marker-patch").count() == 1


def test_conv_layer_bank_depth_and_batch(page: Page, tmp_path: Path) -> None:
    open_layer_tab(page)
    before = layer_renders(page)
    page.click("#layer-add")
    wait_layer(page, before)
    expect(page.locator("#layer-bank .layer-filter")).to_have_count(2)
    assert shapes(page)["weight"] == f"2 {TIMES} 3 {TIMES} 5 {TIMES} 5"
    assert shapes(page)["output"] == f"1 {TIMES} 2 {TIMES} 28 {TIMES} 28"
    expect(page.locator("#layer-filter-1-preset")).to_have_value("luminance")
    # Another photo, K = 3 and padding "same": 32 x 32 out.
    before = layer_renders(page)
    page.click("#layer-photos [data-photo=coffee]")
    page.select_option("#layer-k", "3")
    page.fill("#layer-padding", "same")
    wait_layer(page, before)
    page.wait_for_function("() => document.querySelector('#layer-stack').dataset.shape === '1,2,32,32'")
    # Grey: filters one deep.
    before = layer_renders(page)
    page.click("#layer-color label:has-text('grey')")
    wait_layer(page, before)
    page.wait_for_function("() => document.querySelector('#layer-stack').dataset.shape === '1,2,32,32'")
    assert shapes(page)["weight"] == f"2 {TIMES} 1 {TIMES} 3 {TIMES} 3"
    # A batch of two uploads: the input and the output become N = 2.
    paths = []
    for i, colour in enumerate([(255, 0, 0), (0, 255, 0)]):
        picture = np.zeros((40, 40, 3), np.uint8)
        picture[:, 20:] = colour
        path = tmp_path / f"half{i}.png"
        path.write_bytes(png(picture))
        paths.append(str(path))
    before = layer_renders(page)
    page.set_input_files("#layer-files", paths)
    wait_layer(page, before)
    page.wait_for_function("() => document.querySelector('#layer-stack').dataset.shape === '2,2,32,32'")
    assert shapes(page)["input"] == f"2 {TIMES} 1 {TIMES} 32 {TIMES} 32"
    expect(page.locator("#layer-stack .layer-row")).to_have_count(2)
    # Out of range: refused by the page with the server's limits, nothing sent.
    shown = layer_renders(page)
    page.fill("#layer-size", "300")
    expect(page.locator("#error")).to_contain_text("Longer side: 300 is out of range; the server takes 4 to 256.")
    page.evaluate(SETTLE)  # the refusal is decided on input; give any request the page might start two frames
    assert layer_renders(page) == shown


def test_conv_layer_presets_match_the_api(page: Page) -> None:
    """ "one channel only: green" gives the green channel; "Sobel on all channels" gives Sobel of R + G + B."""
    open_layer_tab(page)
    before = layer_renders(page)
    page.select_option("#layer-filter-0-preset", "one channel only: green")
    wait_layer(page, before)
    reply = conv_layer(page, photo="cat", weight=[[[[0.0] * 5] * 5] * 3], padding="2")
    green = decode(reply["input"])[0, 1]
    page.fill("#layer-padding", "2")
    page.wait_for_function("() => document.querySelector('#layer-stack').dataset.shape === '1,1,32,32'")
    canvas = page.locator("#layer-stack canvas.pickable").first
    before = layer_renders(page)
    canvas.focus()
    page.keyboard.press("Enter")
    wait_layer(page, before)
    value = number(page.locator("#layer-unit .step-output").inner_text())
    assert value == pytest.approx(float(green[16, 16]), abs=1e-4)


def test_tabs_by_keyboard_and_the_depthwise_link(page: Page) -> None:
    open_lab(page)
    expect(page.locator("label:has(input[name=color][value=rgb])")).to_contain_text("depthwise")
    page.focus("#tab-filter")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#tab-layer")).to_be_focused()
    expect(page.locator("#tab-layer")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#panel-layer")).to_be_visible()
    assert page.url.endswith("#conv-layer")
    page.keyboard.press("End")
    expect(page.locator("#panel-signal")).to_be_visible()
    page.keyboard.press("Home")
    expect(page.locator("#panel-filter")).to_be_visible()
    page.click("#to-layer-tab")
    expect(page.locator("#panel-layer")).to_be_visible()
    page.go_back()
    expect(page.locator("#panel-filter")).to_be_visible()


# ---- the 1-D tab ----------------------------------------------------------------------------------


def test_two_dice_step_by_step(page: Page) -> None:
    open_lab(page, "/kernels#convolution-1d")
    page.wait_for_function("() => Number(document.querySelector('#panel-signal').dataset.renders || 0) > 0")
    values = json.loads(page.get_attribute("#signal-output", "data-values"))
    assert values == pytest.approx([(6 - abs(s - 7)) / 36 for s in range(2, 13)])
    stage = page.locator("#signal-stage")
    expect(stage).to_have_attribute("data-step", "0")
    expect(page.locator("#signal-sum")).to_contain_text("Output 0 (2): a[0]·b[0]")
    page.focus("#signal-next")
    for _ in range(5):
        page.keyboard.press("Enter")
    expect(stage).to_have_attribute("data-step", "5")
    expect(page.locator("#signal-sum")).to_contain_text("(7): a[0]·b[5] + a[1]·b[4]")
    assert number(page.locator("#signal-sum .step-sum").inner_text()) == pytest.approx(6 / 36, abs=1e-3)
    expect(stage.locator(".signal-b.hit")).to_have_count(6)
    # The flipped kernel reads b backwards: a loaded die shows its 0.5 first.
    page.select_option("#signal-preset", "loaded")
    page.wait_for_function("() => document.querySelector('#signal-b').value.includes('0.5')")
    page.wait_for_function("() => document.querySelector('#signal-stage').dataset.step === '0'")
    assert stage.locator(".signal-slide .signal-b").first.inner_text() == "0.5"
    reply = page.request.post(
        "/api/convolve1d", data={"signal": [1 / 6] * 6, "kernel": [0.1] * 5 + [0.5], "mode": "correlation"}
    )
    page.click("#signal-mode label:has-text('correlation')")
    page.wait_for_function(
        "() => document.querySelector('#signal-stage .signal-slide .signal-b').textContent === '0.1'"
    )
    values = json.loads(page.get_attribute("#signal-output", "data-values"))
    assert values == pytest.approx(reply.json()["output"])
    # The 2-D flip: the half turn of the example.
    flipped = json.loads(page.locator("#signal-2d table").nth(1).get_attribute("data-values"))
    written = json.loads(page.locator("#signal-2d table").nth(0).get_attribute("data-values"))
    assert flipped == [row[::-1] for row in written[::-1]]
    # A value that is not a number is refused in words.
    page.fill("#signal-a", "1/6, x")
    page.dispatch_event("#signal-a", "change")
    expect(page.locator("#error")).to_contain_text("a, value 2:")


# ---- sizes that do not divide, and refusals -------------------------------------------------------


def test_rounding_floor_and_ceil(page: Page) -> None:
    open_lab(page, "/kernels?sample=3")
    page.fill("#stride", "3")  # (28 - 3) / 3 = 8.33
    formula = page.locator("#formula")
    expect(formula).to_have_attribute("data-height", "9")
    expect(formula.locator(".formula-rounding").first).to_contain_text("8.33333 is not whole: floor → 9")
    expect(formula.locator(".formula-rounding").first).to_contain_text("ceil → 10")
    expect(page.locator("#map-input .marker-tail-rows")).to_have_attribute("data-kind", "dropped")
    page.select_option("#rounding", "ceil")
    expect(formula).to_have_attribute("data-height", "10")
    expect(page.locator("#map-a")).to_have_attribute("data-shape", "1,10,10")
    expect(formula).to_have_attribute("data-source", "server")
    expect(formula).to_contain_text("overhangs")
    expect(page.locator("#map-input .marker-tail-rows")).to_have_attribute("data-kind", "overhang")
    # The last pixel's window reaches into the overhang: the step-through still matches the server.
    canvas = page.locator("#map-a canvas.map-canvas")
    canvas.focus()
    page.keyboard.press("Enter")
    for _ in range(5):
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowDown")
    expect(page.locator("#steps")).to_have_attribute("data-y", "9")
    expect(page.locator("#steps .step-check")).to_contain_text("✓")


def test_pool_padding_over_half_the_window_is_refused_not_sized(page: Page) -> None:
    open_lab(page)
    page.wait_for_function("() => Number(document.querySelector('main').dataset.poolRenders || 0) > 0")
    shown = int(page.get_attribute("main", "data-pool-renders"))
    page.fill("#pool-size", "3")
    page.wait_for_function(f"() => Number(document.querySelector('main').dataset.poolRenders) > {shown}")
    shown = int(page.get_attribute("main", "data-pool-renders"))
    page.fill("#pool-padding", "2")
    formula = page.locator("#pool-formula")
    expect(formula).to_have_attribute("data-refused", "true")
    expect(formula).not_to_contain_text("Output: 1")
    expect(page.locator("#error")).to_contain_text(f"a 3{TIMES}3 window takes 0 to 1 (at most half the window")
    expect(page.locator("[data-limit=pool-padding]")).to_have_text("(0\u20131)")
    page.evaluate(SETTLE)  # the refusal is decided on input; give any request the page might start two frames
    assert int(page.get_attribute("main", "data-pool-renders")) == shown  # nothing was asked
    page.fill("#pool-padding", "1")
    expect(formula).not_to_have_attribute("data-refused", "true")


def test_pooling_a_feature_map_at_true_scale(page: Page) -> None:
    open_lab(page, "/kernels?sample=5")
    page.wait_for_function("() => document.querySelector('#map-pool').dataset.shape === '1,14,14'")
    expect(page.locator("#map-pool-input .map-title")).to_contain_text("kernel A's output")
    # The same screen pixels per cell: 2x2 pooling with stride 2 halves the drawn map.
    pooled = page.locator("#map-pool .map-frame").bounding_box()
    source = page.locator("#map-pool-input .map-frame").bounding_box()
    assert pooled is not None and source is not None
    assert source["width"] == pytest.approx(2 * pooled["width"], abs=1)
    # A relu1 map of the network, pooled, is pool1: the step-through agrees with the server.
    page.select_option("#pool-source", "layer")
    page.fill("#pool-channel", "4")
    expect(page.locator("#map-pool-input .map-title")).to_contain_text("relu1 channel 4")
    spec = {"size": 2, "stride": 2, "source": {"kind": "layer", "layer": "relu1", "channel": 4}}
    reply = page.request.post("/api/pool", multipart={"sample": "5", "spec": json.dumps(spec)})
    pool1 = decode(reply.json()["outputs"][0])[0]
    canvas = page.locator("#map-pool canvas.map-canvas")
    canvas.focus()
    page.keyboard.press("Enter")  # the middle: (7, 7)
    assert number(page.locator("#pool-steps .step-sum").inner_text()) == pytest.approx(float(pool1[7, 7]), abs=1e-4)
    page.fill("#pool-channel", "20")
    expect(page.locator("#error")).to_contain_text("relu1 channel: 20 is out of range")


def test_new_tabs_at_phone_width(browser, browser_errors, base_url: str, output_path: str) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, base_url=base_url, has_touch=True, is_mobile=True
    )
    browser_errors.watch(context)
    try:
        page = context.new_page()
        open_layer_tab(page)
        page.locator("#layer-stack canvas.pickable").first.tap()
        page.wait_for_function("() => document.querySelector('#panel-layer').dataset.unit")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        for grid in page.locator("#layer-bank .layer-grid").all():
            box = grid.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        target = Path(output_path) / "kernels-layer-390.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target), full_page=True)
        page.locator("#tab-signal").tap()
        page.wait_for_function("() => Number(document.querySelector('#panel-signal').dataset.renders || 0) > 0")
        page.locator("#signal-next").tap()
        expect(page.locator("#signal-stage")).to_have_attribute("data-step", "1")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(Path(output_path) / "kernels-signal-390.png"), full_page=True)
        # The first tab on the bundled photo: the pooled maps at true scale still fit the phone.
        page.locator("#tab-filter").tap()
        page.wait_for_function("() => Number(document.querySelector('main').dataset.poolRenders || 0) > 0")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        box = page.locator("#map-pool-input .map-frame").bounding_box()
        pooled = page.locator("#map-pool .map-frame").bounding_box()
        assert box is not None and pooled is not None and box["x"] + box["width"] <= 390
        assert box["width"] == pytest.approx(2 * pooled["width"], abs=1)  # still at true scale
    finally:
        context.close()
