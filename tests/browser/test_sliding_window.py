"""The sliding window in the explorer's enlarged view: conv1 over the normalised, padded input, pool1 over
relu1, conv2 over all of pool1's channels, each number checked against numpy and the API, with play,
pause, step and the keyboard; and the picture of what conv1 slides over, in its card."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.conftest import BrowserErrors
from tests.browser.test_explorer import api_activations, api_layer, number, open_explorer

pytestmark = pytest.mark.browser

SAMPLE = "3"


def weights(page: Page, layer: str) -> dict[str, np.ndarray]:
    body = page.request.get(f"/api/layers/{layer}/weights").json()
    return {t["name"]: np.frombuffer(base64.b64decode(t["data"]), "<f4").reshape(t["shape"]) for t in body["tensors"]}


def layer_info(page: Page, name: str) -> dict:
    model = page.request.get("/api/model").json()
    return {
        **next(layer for layer in model["layers"] if layer["name"] == name),
        "normalization": model["normalization"],
    }


def open_panel(page: Page, layer: str, channel: int) -> Locator:
    page.locator(f"#layer-{layer} .map-tile").nth(channel).click()
    panel = page.locator("#inspector .slide-panel")
    expect(panel).to_have_attribute("data-state", "ready")
    expect(panel).to_have_attribute("data-layer", layer)
    return panel


def go_to(panel: Locator, y: int, x: int, h: int, w: int) -> None:
    """Click output pixel (y, x) of the panel's h x w output picture: the window jumps there."""
    canvas = panel.locator(".slide-output canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    canvas.click(position={"x": (x + 0.5) * box["width"] / w, "y": (y + 0.5) * box["height"] / h})
    expect(panel).to_have_attribute("data-y", str(y))
    expect(panel).to_have_attribute("data-x", str(x))


def grid(panel: Locator, index: int) -> np.ndarray:
    cells = panel.locator(".slide-grid").nth(index).locator("td")
    return np.array([float(t) for t in cells.evaluate_all("(tds) => tds.map((td) => td.title.replace('\u2212', '-'))")])


def test_conv1_slides_over_the_normalised_padded_input(page: Page) -> None:
    open_explorer(page, f"/?sample={SAMPLE}")
    info = layer_info(page, "conv1")
    k, s, p = info["kernel_size"], info["stride"], info["padding"]
    result = api_activations(page, sample=SAMPLE)
    image, conv1 = api_layer(result, "input")[0], api_layer(result, "conv1")
    mean, std = info["normalization"]["mean"][0], info["normalization"]["std"][0]
    padded = np.pad((image - mean) / std, p)  # zeros after normalising: the padding is 0
    w = weights(page, "conv1")
    panel = open_panel(page, "conv1", 6)
    expect(panel.locator(".slide-grid").first.locator("td")).to_have_count(k * k)
    expect(panel).to_contain_text(f"padded with {p} zeros")
    y, x = 0, 9  # a window half in the padding
    go_to(panel, y, x, *conv1.shape[1:])
    window = padded[y * s : y * s + k, x * s : x * s + k]
    np.testing.assert_allclose(grid(panel, 0), window.ravel(), atol=2e-6)
    np.testing.assert_allclose(grid(panel, 1), w["weight"][6, 0].ravel(), atol=2e-6)
    np.testing.assert_allclose(grid(panel, 2), (window * w["weight"][6, 0]).ravel(), atol=2e-6)
    total = float(panel.get_attribute("data-total") or "nan")
    assert total == pytest.approx(float((window * w["weight"][6, 0]).sum() + w["bias"][6]), abs=1e-5)
    assert total == pytest.approx(float(conv1[6, y, x]), abs=1e-4)  # the API's value for this unit
    assert float(panel.get_attribute("data-expected") or "nan") == pytest.approx(float(conv1[6, y, x]), abs=1e-6)
    expect(panel.locator(".slide-check")).to_contain_text("the same, up to rounding")
    # the output fills pixel by pixel: painted up to this position, blank after it
    rgba = panel.locator(".slide-output canvas").evaluate(
        "(c) => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"
    )
    pixels = np.asarray(rgba, dtype=np.uint8).reshape(conv1.shape[1], conv1.shape[2], 4)[..., :3]
    blank = pixels[-1, -1]
    assert (pixels[y, x + 1 :] == blank).all() and not (pixels[y, : x + 1] == blank).all(axis=-1).all()


def test_play_pause_step_and_the_keyboard(page: Page) -> None:
    open_explorer(page, f"/?sample={SAMPLE}")
    panel = open_panel(page, "conv1", 2)
    expect(panel).to_have_attribute("data-playing", "true")  # it starts sliding by itself
    play = panel.locator(".slide-controls button").first
    expect(play).to_have_text("Pause")
    page.wait_for_function("() => Number(document.querySelector('.slide-panel').dataset.step) >= 2")
    play.click()
    expect(panel).not_to_have_attribute("data-playing", "true")
    step = int(panel.get_attribute("data-step") or "-1")
    forward = panel.get_by_role("button", name="Step forward one position")
    forward.focus()
    page.keyboard.press("Enter")
    expect(panel).to_have_attribute("data-step", str(step + 1))
    page.keyboard.press("ArrowRight")
    expect(panel).to_have_attribute("data-step", str(step + 2))
    page.keyboard.press("ArrowDown")  # one row further: the output's width
    expect(panel).to_have_attribute("data-step", str(step + 2 + 28))
    page.keyboard.press("Home")
    expect(panel).to_have_attribute("data-step", "0")
    page.keyboard.press("End")
    expect(panel).to_have_attribute("data-step", str(28 * 28 - 1))
    page.get_by_role("button", name="Step back one position").click()
    expect(panel).to_have_attribute("data-step", str(28 * 28 - 2))
    speed = panel.locator(".slide-speed input")
    speed.fill("7")
    expect(panel.locator(".slide-speed output")).to_have_text("128 a second")
    play.click()  # plays on from here to the end
    expect(panel).to_have_attribute("data-step", str(28 * 28 - 1))
    expect(panel).not_to_have_attribute("data-playing", "true")


def test_reduced_motion_waits_for_play(browser: Browser, browser_errors: BrowserErrors, base_url: str) -> None:
    context = browser.new_context(base_url=base_url, reduced_motion="reduce")
    browser_errors.watch(context)
    try:
        page = open_explorer(context.new_page(), f"/?sample={SAMPLE}")
        panel = open_panel(page, "pool1", 0)
        expect(panel).to_have_attribute("data-step", "0")
        assert panel.get_attribute("data-playing") is None
        assert panel.locator(".slide-window").first.evaluate("(w) => getComputedStyle(w).transitionDuration") == "0s"
    finally:
        context.close()


def test_pool1_keeps_the_largest_value_of_each_window(page: Page) -> None:
    open_explorer(page, f"/?sample={SAMPLE}")
    info = layer_info(page, "pool1")
    k, s = info["kernel_size"], info["stride"]
    result = api_activations(page, sample=SAMPLE)
    relu1, pool1 = api_layer(result, "relu1"), api_layer(result, "pool1")
    panel = open_panel(page, "pool1", 4)
    y, x = 6, 5
    go_to(panel, y, x, *pool1.shape[1:])
    window = relu1[4, y * s : y * s + k, x * s : x * s + k]
    np.testing.assert_array_equal(grid(panel, 0), window.ravel())
    assert float(panel.get_attribute("data-total") or "nan") == float(pool1[4, y, x]) == float(window.max())
    expect(panel.locator(".slide-grid td.mark")).to_have_count(1)


def test_conv2_sums_every_input_channel_plus_the_bias(page: Page) -> None:
    open_explorer(page, f"/?sample={SAMPLE}")
    info = layer_info(page, "conv2")
    k, s, p = info["kernel_size"], info["stride"], info["padding"]
    result = api_activations(page, sample=SAMPLE)
    before, conv2 = api_layer(result, "pool1"), api_layer(result, "conv2")
    w = weights(page, "conv2")
    panel = open_panel(page, "conv2", 3)
    channels = panel.locator(".slide-channel")
    expect(channels).to_have_count(w["weight"].shape[1])  # one per input channel
    y, x = 4, 6
    go_to(panel, y, x, *conv2.shape[1:])
    padded = np.pad(before, ((0, 0), (p, p), (p, p)))
    windows = padded[:, y * s : y * s + k, x * s : x * s + k]  # (C_in, k, k)
    expected_sums = (windows * w["weight"][3]).sum(axis=(1, 2))
    shown = np.array(channels.evaluate_all("(fs) => fs.map((f) => Number(f.dataset.sum))"))
    np.testing.assert_allclose(shown, expected_sums, atol=1e-5)
    total = float(panel.get_attribute("data-total") or "nan")
    assert total == pytest.approx(float(shown.sum() + w["bias"][3]), abs=1e-5)
    assert total == pytest.approx(float(conv2[3, y, x]), abs=1e-4)  # the sums plus the bias: the API's value
    # any channel's numbers, on demand
    channels.nth(7).click()
    expect(panel.locator(".slide-detail-title")).to_contain_text("pool1 channel 7")
    np.testing.assert_allclose(grid(panel, 2), (windows[7] * w["weight"][3, 7]).ravel(), atol=2e-6)


def test_the_conv1_card_shows_what_it_slides_over(page: Page) -> None:
    open_explorer(page, f"/?sample={SAMPLE}")
    info = layer_info(page, "conv1")
    p = info["padding"]
    mean, std = info["normalization"]["mean"][0], info["normalization"]["std"][0]
    figure = page.locator("#layer-conv1 .padded-input")
    expect(figure).to_have_attribute("data-side", str(28 + 2 * p))
    assert float(figure.get_attribute("data-low") or "nan") == pytest.approx(-mean / std, abs=1e-5)
    expect(figure).to_contain_text(f"{p}-pixel frame")
    expect(figure).to_contain_text(f"becomes {number_text(-mean / std)}")
    rgba = figure.locator("canvas.padded-canvas").evaluate(
        "(c) => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"
    )
    pixels = np.asarray(rgba, dtype=np.uint8).reshape(28 + 2 * p, 28 + 2 * p, 4)[..., :3]
    assert (pixels[0, 0] == [247, 247, 245]).all()  # the padding: 0, the white middle of the scale
    assert (pixels[p, p] != pixels[0, 0]).any()  # the background just inside it: below 0, blue
    text = page.locator("#layer-input .layer-explain").inner_text()
    assert "exactly what the network receives" not in text and "normalises" in text


def number_text(v: float) -> str:
    """formatTick's three significant digits, with a true minus sign."""
    return f"{v:.3g}".replace("-", "\u2212")


def test_confidence_says_why_it_stops_short_of_100(page: Page) -> None:
    open_explorer(page, f"/?sample={SAMPLE}")
    card = page.request.get("/api/model/card").json()
    eps = card["label_smoothing"]
    assert eps > 0
    note = page.locator("#confidence-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text(f"label smoothing {eps:g}")
    expect(note).to_contain_text(f"{(1 - eps + eps / 10) * 100:.1f}%")
    assert number(page.text_content("#confidence").split("%")[0]) < 100 * (1 - eps + eps / 10) + 1
