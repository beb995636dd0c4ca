"""The training page (GET /training) in a real Chromium: the scrubber moves the filters (painted from the
weights API at that step) and the curves' cursors, the digit's maps and prediction follow the step (the
nearest full checkpoint's answer between them, compared with the API), the drift view shows both networks
with the API's numbers, the ReLU comparison shows the model cards' numbers, keyboard and touch operation,
the phone layout, and a model without a timeline explained. Every expected number is read from the API."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from app.datasets import mnist

pytestmark = pytest.mark.browser

MINUS = "\u2212"
READY_MS = 120_000
# the diverging scale's two ends (static/js/config.js): the colour of -max and of +max
NEGATIVE_END = (0x16, 0x32, 0x7A)
POSITIVE_END = (0x6E, 0x10, 0x20)


def open_training(page: Page, query: str = "") -> Page:
    page.goto(f"/training{query}")
    page.wait_for_selector("main[data-state=ready]", timeout=READY_MS)
    return page


def api(page: Page, path: str) -> dict | list:
    response = page.request.get(path)
    assert response.ok, response.text()
    return response.json()


def checkpoints(page: Page, model: str | None = None) -> list[dict]:
    return api(page, "/api/training" + (f"?model={model}" if model else ""))["checkpoints"]


def weight(page: Page, layer: str, step: int, model: str | None = None) -> np.ndarray:
    query = f"checkpoint={step}" + (f"&model={model}" if model else "")
    body = api(page, f"/api/layers/{layer}/weights?{query}")
    tensor = next(t for t in body["tensors"] if t["name"] == "weight")
    return np.frombuffer(base64.b64decode(tensor["data"]), "<f4").reshape(tensor["shape"])


def convs(page: Page, model: str | None = None) -> list[str]:
    """The model's first two conv layers, from its layer table: the two the filter views show."""
    layers = api(page, "/api/model" + (f"?model={model}" if model else ""))["layers"]
    return [layer["name"] for layer in layers if layer["kind"] == "conv"][:2]


def activations(page: Page, step: int, *, sample: int | None = None, png: bytes | None = None) -> dict:
    url = f"/api/activations?checkpoint={step}&layers=conv1"
    if png is not None:
        response = page.request.post(url, multipart={"file": {"name": "d.png", "mimeType": "image/png", "buffer": png}})
    else:
        response = page.request.post(url, multipart={"sample": str(sample)})
    assert response.ok, response.text()
    return response.json()


def nearest_full(points: list[dict], i: int) -> int:
    """The full checkpoint nearest checkpoint i by steps, the earlier one on a tie."""
    fulls = [k for k, c in enumerate(points) if c["full"]]
    return min(fulls, key=lambda k: (abs(points[k]["step"] - points[i]["step"]), points[k]["step"]))


def go_to(page: Page, i: int) -> None:
    """Checkpoint i by keyboard: Home, then the right arrow i times."""
    page.focus("#track")
    page.keyboard.press("Home")
    for _ in range(i):
        page.keyboard.press("ArrowRight")
    expect(page.locator("#track")).to_have_attribute("aria-valuenow", str(i))


def pixels(canvas: Locator) -> np.ndarray:
    """The canvas's RGB values, (H, W, 3)."""
    size, data = canvas.evaluate(
        "c => [[c.height, c.width], Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)]"
    )
    return np.asarray(data, dtype=np.uint8).reshape(*size, 4)[..., :3]


def numbers(text: str) -> list[float]:
    return [float(n.replace(MINUS, "-")) for n in re.findall(rf"[-{MINUS}]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)]


def close(shown: float, expected: float) -> bool:
    """Shown with 3 significant digits (a value under 5e-5 in size as 0)."""
    return abs(shown - expected) <= max(5e-5, 6e-3 * abs(expected))


def check_filters_paint_the_weights(page: Page, step: int) -> None:
    """In "this step" mode, the range shown is max |w| of the API's weights at ``step``, and the weight with that
    size is painted in the scale's end colour (the first conv layer and the chosen filter of the second)."""
    page.locator('#filter-range label:has(input[value="step"])').click()
    first, second = convs(page)
    conv1 = weight(page, first, step)  # LeNet's conv1: (20, 1, 5, 5)
    grid = page.locator("#first-conv-filters")
    expect(grid).to_have_attribute("data-layer", first)
    expect(grid).to_have_attribute("data-step", str(step))
    m = float(np.abs(conv1).max())
    assert float(grid.get_attribute("data-range") or 0) == pytest.approx(m, rel=1e-6)
    f, _, y, x = np.unravel_index(np.abs(conv1).argmax(), conv1.shape)
    end = POSITIVE_END if conv1[f, 0, y, x] > 0 else NEGATIVE_END
    assert tuple(pixels(grid.locator("canvas").nth(int(f)))[y, x]) == end
    conv2 = weight(page, second, step)  # LeNet's conv2: (50, 20, 5, 5)
    channel = conv2.shape[0] - 1
    page.fill("#second-conv-channel", str(channel))
    page.press("#second-conv-channel", "Enter")
    kernels = page.locator("#second-conv-kernels")
    expect(kernels).to_have_attribute("data-layer", second)
    expect(kernels).to_have_attribute("data-channel", str(channel))
    expect(kernels).to_have_attribute("data-step", str(step))
    assert float(kernels.get_attribute("data-range") or 0) == pytest.approx(
        float(np.abs(conv2[channel]).max()), rel=1e-6
    )


# ------------------------------------------------------------------------------------------------


def test_the_scrubber_moves_the_filters_and_the_curves_cursor(page: Page) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    open_training(page)
    points = checkpoints(page)
    last = len(points) - 1
    track = page.locator("#track")
    expect(track).to_have_attribute("role", "slider")
    expect(track).to_have_attribute("aria-valuemax", str(last))
    expect(page.locator("main")).to_have_attribute("data-step", str(points[0]["step"]))
    expect(page.locator("#filters")).to_have_attribute("data-loaded", str(len(points)))
    tiles = page.locator("#first-conv-filters canvas")
    expect(tiles).to_have_count(weight(page, convs(page)[0], points[0]["step"]).shape[0])
    expect(page.locator("#first-conv-title")).to_contain_text(convs(page)[0])
    expect(page.locator("#second-conv-title")).to_contain_text(convs(page)[1])
    accuracy = page.locator('svg[data-series="accuracy"]')
    loss = page.locator('svg[data-series="loss"]')
    before = {"x": float(accuracy.get_attribute("data-cursor-x") or 0), "tile": pixels(tiles.first)}
    assert float(accuracy.get_attribute("data-value") or 0) == pytest.approx(points[0]["test_accuracy"])
    check_filters_paint_the_weights(page, points[0]["step"])

    page.focus("#track")
    page.keyboard.press("End")
    expect(page.locator("main")).to_have_attribute("data-step", str(points[last]["step"]))
    assert float(accuracy.get_attribute("data-cursor-x") or 0) > before["x"]
    assert accuracy.get_attribute("data-cursor") == loss.get_attribute("data-cursor") == str(last)
    assert float(accuracy.get_attribute("data-value") or 0) == pytest.approx(points[last]["test_accuracy"])
    assert float(loss.get_attribute("data-value") or 0) == pytest.approx(points[last]["train_loss"])
    assert not np.array_equal(pixels(tiles.first), before["tile"])
    check_filters_paint_the_weights(page, points[last]["step"])
    # the readout and the slider's words name the step
    expect(page.locator("#step-readout")).to_contain_text(f"step {points[last]['step']:,}")
    assert f"step {points[last]['step']:,}" in (track.get_attribute("aria-valuetext") or "")
    # the address remembers the step
    assert f"step={points[last]['step']}" in page.url


def test_keyboard_and_play(page: Page) -> None:
    open_training(page)
    points = checkpoints(page)
    last = len(points) - 1
    track = page.locator("#track")
    page.focus("#track")
    page.keyboard.press("ArrowRight")
    expect(track).to_have_attribute("aria-valuenow", "1")
    expect(page.locator("main")).to_have_attribute("data-step", str(points[1]["step"]))
    page.keyboard.press("ArrowLeft")
    expect(track).to_have_attribute("aria-valuenow", "0")
    page.keyboard.press("End")
    expect(track).to_have_attribute("aria-valuenow", str(last))
    expect(page.locator("#next")).to_be_disabled()
    page.keyboard.press("Home")
    expect(track).to_have_attribute("aria-valuenow", "0")
    expect(page.locator("#prev")).to_be_disabled()
    page.keyboard.press("PageUp")
    assert int(track.get_attribute("aria-valuenow") or 0) > 0
    page.keyboard.press("Home")
    # the next button by keyboard
    page.focus("#next")
    page.keyboard.press("Enter")
    expect(track).to_have_attribute("aria-valuenow", "1")
    # play steps through the checkpoints; pause stops there
    play = page.locator("#play")
    play.focus()
    page.keyboard.press("Enter")
    expect(play).to_have_attribute("aria-pressed", "true")
    page.wait_for_function("() => Number(document.getElementById('track').getAttribute('aria-valuenow')) >= 2")
    page.keyboard.press("Enter")
    expect(play).to_have_attribute("aria-pressed", "false")
    expect(play).to_have_text("▶ Play")
    # playing from the last but one checkpoint steps once and stops at the end by itself
    page.focus("#track")
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")
    play.click()
    expect(track).to_have_attribute("aria-valuenow", str(last))
    expect(play).to_have_attribute("aria-pressed", "false")


def test_the_digits_maps_and_prediction_follow_the_step(page: Page) -> None:
    open_training(page)
    points = checkpoints(page)
    samples = api(page, "/api/samples")
    digit = page.locator("#digit")
    between = next((i for i, c in enumerate(points) if not c["full"]), None)
    assert between is not None, "the timeline keeps some checkpoints without the whole network"
    full = next(i for i, c in enumerate(points) if c["full"] and i > 0)
    for i in (0, between, full, len(points) - 1):
        go_to(page, i)
        k = nearest_full(points, i)
        expect(digit).to_have_attribute("data-shown-step", str(points[k]["step"]))
        expect(digit).to_have_attribute("data-step", str(points[i]["step"]))
        expected = activations(page, points[k]["step"], sample=samples[0]["id"])
        assert page.text_content("#predicted") == str(expected["prediction"]["label"])
        conv1 = next(layer for layer in expected["layers"] if layer["name"] == "conv1")
        maps = page.locator("#maps")
        assert float(maps.get_attribute("data-min") or 0) == pytest.approx(conv1["min"])
        assert float(maps.get_attribute("data-max") or 0) == pytest.approx(conv1["max"])
        # the largest |value| of the API's maps is painted in the end colour of the symmetric scale
        values = np.frombuffer(base64.b64decode(conv1["data"]), "<f4").reshape(conv1["shape"])
        c, y, x = np.unravel_index(np.abs(values).argmax(), values.shape)
        end = POSITIVE_END if values[c, y, x] > 0 else NEGATIVE_END
        assert tuple(pixels(maps.locator("canvas").nth(int(c)))[y, x]) == end
        note = page.text_content("#digit-note") or ""
        if points[i]["full"]:
            assert "keeps the whole network" in note
        else:
            assert f"those of step {points[k]['step']:,}" in note and "nearest" in note
    # another test digit, at the last step
    page.locator(f'#gallery .sample[data-sample="{samples[1]["id"]}"]').click()
    expect(digit).to_have_attribute("data-digit", "2")
    expected = activations(page, points[-1]["step"], sample=samples[1]["id"])
    assert page.text_content("#predicted") == str(expected["prediction"]["label"])
    conv1 = next(layer for layer in expected["layers"] if layer["name"] == "conv1")
    expect(page.locator("#maps canvas")).to_have_count(conv1["shape"][0])


def test_an_uploaded_or_drawn_digit_is_answered_at_the_step(page: Page) -> None:
    open_training(page)
    points = checkpoints(page)
    full = next(i for i, c in enumerate(points) if c["full"] and i > 0)
    go_to(page, full)
    digit = page.locator("#digit")
    expect(digit).to_have_attribute("data-shown-step", str(points[full]["step"]))
    split = mnist.load("test")
    buf = io.BytesIO()
    Image.fromarray(split.images[7]).save(buf, format="PNG")
    page.set_input_files("#file", files=[{"name": "seven.png", "mimeType": "image/png", "buffer": buf.getvalue()}])
    expect(page.locator("#seen-caption")).to_have_text("Your image: seven.png")
    expected = activations(page, points[full]["step"], png=buf.getvalue())
    expect(page.locator("#predicted")).to_have_text(str(expected["prediction"]["label"]))
    # a stroke on the pad is sent when the pen lifts
    page.locator("#pad").scroll_into_view_if_needed()
    box = page.locator("#pad").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.15)
    page.mouse.down()
    for k in range(1, 11):
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] * (0.15 + 0.07 * k), steps=3)
    page.mouse.up()
    expect(page.locator("#seen-caption")).to_have_text("Your drawing")
    expect(digit).to_have_attribute("data-digit", "3")


def test_the_drift_view_shows_both_networks_with_the_apis_numbers(page: Page) -> None:
    open_training(page)
    points = checkpoints(page)
    page.focus("#track")
    page.keyboard.press("End")
    step = points[-1]["step"]
    figures = page.locator("#drift-charts figure")
    expect(figures).to_have_count(2)
    for layer in ("conv1", "fc1"):
        page.locator(f'#drift-layer label:has(input[value="{layer}"])').click()
        expect(page.locator("#drift")).to_have_attribute("data-layer", layer)
        expect(page.locator("#drift")).to_have_attribute("data-state", "ready")
        for name in ("lenet_bn", "lenet"):
            drift = api(page, f"/api/training/drift?model={name}&layer={layer}")
            figure = page.locator(f'#drift-charts figure[data-model="{name}"]')
            expect(figure).to_have_attribute("data-batchnorm", drift["batchnorm"] or "")
            series = 2 if drift["batchnorm"] else 1
            expect(figure.locator(".tr-drift-series")).to_have_count(2 * series)  # the means and the stds panels
            at = next(c for c in drift["checkpoints"] if c["step"] == step)
            expected = []
            for part in ("output", "after")[:series]:
                for stat in ("mean", "std"):
                    values = np.sort(at[part][stat])
                    median = values[int(np.floor(0.5 * (len(values) - 1) + 0.5))]  # the middle channel, rounding up
                    expected += [values[0], values[-1], median]
            # "means A to B (median C), std D to E (median F)" for the output, then for what BatchNorm hands on
            readout = figure.locator(".tr-readout").text_content() or ""
            stats = numbers(" ".join(re.findall(r"(?:means|std) ([^;(]+\(median [^)]+\))", readout)))
            assert len(stats) == len(expected), (readout, expected)
            assert all(close(s, e) for s, e in zip(stats, expected, strict=True)), (readout, expected)
            # the cursor sits at the last checkpoint
            expect(figure).to_have_attribute("data-cursor", str(len(drift["checkpoints"]) - 1))


def test_the_relu_comparison_shows_the_model_cards_numbers(page: Page) -> None:
    open_training(page)
    models = {m["name"]: m for m in api(page, "/api/models")}
    section = page.locator("#norelu")
    expect(section).to_have_attribute("data-state", "ready")
    for name in ("lenet_bn", "lenet_bn_norelu"):
        row = page.locator(f'#norelu-table tr[data-model="{name}"]')
        expect(row).to_contain_text(f"{models[name]['test_accuracy'] * 100:.2f}%")
        epoch1 = next(h for h in models[name]["history"] if h["epoch"] == 1)
        expect(row).to_contain_text(f"{epoch1['test_accuracy'] * 100:.2f}%")
        layers = [layer["name"] for layer in api(page, f"/api/model?model={name}")["layers"]]
        conv_part = layers[1 : layers.index("flatten")]
        expect(row.locator(".tr-layers")).to_have_text(" → ".join(conv_part))
        series = page.locator(f'#norelu-chart .tr-series[data-model="{name}"]')
        expect(series.locator("circle")).to_have_count(len(models[name]["curve"]))
    result = page.text_content("#norelu-result") or ""
    for name in ("lenet_bn", "lenet_bn_norelu"):
        assert f"{models[name]['test_accuracy'] * 100:.2f}%" in result
    assert "relu1 and relu2" in (page.text_content("#norelu-setup") or "")


def test_the_model_switch_shows_that_models_timeline(page: Page) -> None:
    open_training(page, "?model=lenet")
    points = checkpoints(page, "lenet")
    expect(page.locator("#track")).to_have_attribute("aria-valuemax", str(len(points) - 1))
    page.focus("#track")
    page.keyboard.press("End")
    accuracy = page.locator('svg[data-series="accuracy"]')
    expect(accuracy).to_have_attribute("data-cursor", str(len(points) - 1))
    assert float(accuracy.get_attribute("data-value") or 0) == pytest.approx(points[-1]["test_accuracy"])
    page.locator('#filter-range label:has(input[value="step"])').click()
    conv1 = weight(page, convs(page, "lenet")[0], points[-1]["step"], model="lenet")
    grid = page.locator("#first-conv-filters")
    expect(grid).to_have_attribute("data-step", str(points[-1]["step"]))
    assert float(grid.get_attribute("data-range") or 0) == pytest.approx(float(np.abs(conv1).max()), rel=1e-6)
    assert page.input_value("#model-select") == "lenet"


def test_a_step_in_the_address(page: Page) -> None:
    points = checkpoints(page)
    i = len(points) // 2
    open_training(page, f"?step={points[i]['step']}")
    expect(page.locator("#track")).to_have_attribute("aria-valuenow", str(i))
    expect(page.locator("#digit")).to_have_attribute("data-shown-step", str(points[nearest_full(points, i)]["step"]))
    open_training(page, "?step=seven")
    expect(page.locator("#error-text")).to_contain_text("?step=seven is not a checkpoint")
    expect(page.locator("#track")).to_have_attribute("aria-valuenow", "0")


def test_phone_width_touch_and_readable_axes(browser, browser_errors, base_url: str, output_path: str) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, base_url=base_url, has_touch=True, is_mobile=True
    )
    browser_errors.watch(context)
    try:
        page = open_training(context.new_page())
        points = checkpoints(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        # every chart fits, and every axis text is at least 11 CSS px and on screen
        texts = page.evaluate(
            """() => [...document.querySelectorAll('.tr-chart text')].map((t) => {
                const box = t.getBoundingClientRect();
                return {size: parseFloat(getComputedStyle(t).fontSize), left: box.left, right: box.right,
                        text: t.textContent, shown: box.width > 0};
            })"""
        )
        assert texts
        for t in texts:
            assert t["size"] >= 11, t
            if t["shown"]:
                assert t["left"] >= 0 and t["right"] <= 390, t
        for chart in page.locator(".tr-chart").all():
            box = chart.bounding_box()
            if box is not None:
                assert box["x"] >= 0 and box["x"] + box["width"] <= 390
        # a tap on the track's right end picks the last checkpoint
        track = page.locator("#track")
        track.scroll_into_view_if_needed()
        box = track.bounding_box()
        assert box is not None
        page.touchscreen.tap(box["x"] + box["width"] - 16, box["y"] + box["height"] / 2)
        expect(track).to_have_attribute("aria-valuenow", str(len(points) - 1))
        # the scrubber stays in view while the drift view is read
        page.locator("#drift").scroll_into_view_if_needed()
        bar = page.locator("#scrubber").bounding_box()
        assert bar is not None and bar["y"] >= -1 and bar["y"] < 5
        target = Path(output_path) / "training-390.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target), full_page=True)
    finally:
        context.close()


def test_full_page_at_1280(page: Page, output_path: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    open_training(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    target = Path(output_path) / "training-1280.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 50_000
