"""The BatchNorm page (GET /batchnorm) and the explorer's model switch in a real Chromium: both training
curves drawn from the model cards, the batch lab's eval/train predictions equal the API's (a batch of
one explained), the folding formula and result, and no console errors."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from app.datasets import mnist

pytestmark = pytest.mark.browser

READY_MS = 120_000  # the first fold request compares 10,000 images (seconds on a busy machine)


def open_page(page: Page) -> Page:
    page.goto("/batchnorm")
    page.wait_for_selector("main[data-state=ready]", timeout=READY_MS)
    return page


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def lab_api(page: Page, **fields: str) -> dict:
    response = page.request.post("/api/batchnorm", multipart=fields)
    assert response.ok, response.text()
    return response.json()


def wait_for_batch(page: Page, size: int) -> None:
    lab = "document.getElementById('lab').dataset"
    page.wait_for_function(f"() => {lab}.state === 'ready' && {lab}.batchSize === '{size}'")


def test_both_training_curves_and_their_numbers(page: Page, output_path: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    open_page(page)
    models = {m["name"]: m for m in page.request.get("/api/models").json()}
    assert {"lenet_bn", "lenet"} <= set(models)
    expect(page.locator("#training")).to_have_attribute("data-state", "ready")
    for name in ("lenet_bn", "lenet"):
        series = page.locator(f'#curves .bn-series[data-model="{name}"]')
        expect(series).to_have_count(1)
        assert series.locator("circle").count() == len(models[name]["curve"])
        assert len(series.locator("path").get_attribute("d") or "") > 100
        row = page.locator(f'#curves-table tr[data-model="{name}"]')
        expect(row).to_contain_text(f"{models[name]['test_accuracy'] * 100:.2f}%")
    expect(page.locator("#curves-summary")).to_contain_text("After one epoch")
    # the high-learning-rate pair, from models/high_lr.json
    high = page.request.get("/api/batchnorm/high-lr").json()
    for run in high["runs"]:
        expect(page.locator(f'#high-lr .bn-series[data-model="{run["name"]}"]')).to_have_count(1)
    expect(page.locator("#high-lr-commands")).to_contain_text("convlens train")
    # the linear accuracy view redraws both charts
    page.locator('#curve-mode label:has(input[value="accuracy"])').click()
    expect(page.locator("#training")).to_have_attribute("data-mode", "accuracy")
    expect(page.locator("#curves .bn-series")).to_have_count(2)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    target = Path(output_path) / "batchnorm-1280.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 50_000


def test_the_batch_lab_shows_eval_and_train_predictions(page: Page) -> None:
    open_page(page)
    wait_for_batch(page, 64)
    expected = lab_api(page, samples="64")
    assert page.text_content("#eval-digit") == str(expected["eval"]["label"])
    assert page.text_content("#train-digit") == str(expected["train"]["label"])
    assert page.locator("#lab-batch .bn-batch-item").count() == 64
    expect(page.locator("#lab-notes")).to_be_hidden()
    # the layer picker shows bn3's 500 units, batch bars against running ticks
    page.locator('#lab .bn-layer-pick label:has(input[value="bn3"])').click()
    expect(page.locator("#lab-charts .bn-chart")).to_have_count(2)
    expect(page.locator("#lab-charts .bn-chart").first).to_have_attribute("data-channels", "500")
    expect(page.locator("#lab-layer-summary")).to_contain_text("bn3: 64 values per unit")

    # a batch of eight; inspect its fourth digit
    page.locator('.bn-size[data-samples="8"]').click()
    wait_for_batch(page, 8)
    page.locator('#lab-batch .bn-batch-item[data-index="3"]').click()
    page.wait_for_selector('#lab-batch .bn-batch-item[data-index="3"][aria-pressed="true"]')
    expected = lab_api(page, samples="8", inspect="3")
    assert page.text_content("#eval-digit") == str(expected["eval"]["label"])
    assert page.text_content("#train-digit") == str(expected["train"]["label"])

    # a batch of one: explained, not an error
    page.locator('.bn-size[data-samples="1"]').click()
    wait_for_batch(page, 1)
    expect(page.locator("#lab")).to_have_attribute("data-one-value", "bn3")
    notes = page.locator("#lab-notes")
    expect(notes).to_be_visible()
    expect(notes).to_contain_text("Expected more than 1 value per channel")
    expected = lab_api(page, samples="1")
    assert page.text_content("#train-digit") == str(expected["train"]["label"])
    expect(page.locator("#lab-layer-summary")).to_contain_text("500 of 500 channels have batch variance exactly 0")


def test_uploaded_images_make_the_batch(page: Page) -> None:
    digits = mnist.load("test")
    open_page(page)
    files = [{"name": f"digit{i}.png", "mimeType": "image/png", "buffer": png(digits.images[i])} for i in range(3)]
    page.set_input_files("#lab-files", files)
    page.set_input_files("#lab-file", {"name": "mine.png", "mimeType": "image/png", "buffer": png(digits.images[7])})
    page.locator("#lab-form button[type=submit]").click()
    wait_for_batch(page, 4)
    expect(page.locator("#lab-inspected-caption")).to_contain_text("mine.png")
    expect(page.locator("#lab-batch-hint")).to_contain_text("your image is first")
    # no file at all is refused in the page, with words
    page.set_input_files("#lab-files", [])
    page.set_input_files("#lab-file", [])
    page.locator("#lab-form button[type=submit]").click()
    expect(page.locator("#lab .bn-error")).to_contain_text("Choose one or more images")


def test_parameters_and_the_folding_formula(page: Page) -> None:
    open_page(page)
    expect(page.locator("#params-charts .bn-chart")).to_have_count(4)
    expect(page.locator("#params-charts .bn-chart").first).to_have_attribute("data-channels", "20")
    page.locator('#params .bn-layer-pick label:has(input[value="bn2"])').click()
    expect(page.locator("#params-charts .bn-chart").first).to_have_attribute("data-channels", "50")

    fold = page.locator("#fold")
    expect(fold).to_have_attribute("data-state", "ready")
    body = page.request.get("/api/batchnorm/fold?weights=false").json()
    assert float(fold.get_attribute("data-max-diff") or "1") == body["max_abs_logit_diff"] <= 1e-4
    expect(page.locator("#fold-result")).to_contain_text("10,000 test images")
    expect(page.locator("#fold-result")).to_contain_text(f"{body['time_ratio']:.3f}")
    rows = page.locator("#fold-formula .bn-formula-row")
    expect(rows).to_have_count(3)
    page.select_option("#fold-pair", "1")  # conv2 + bn2
    page.fill("#fold-channel", "7")
    expect(fold).to_have_attribute("data-channel", "7")
    pair = body["pairs"][1]["channels"]
    values = [
        float(t.replace("=", "").strip().replace("\u2212", "-")) for t in rows.locator("output").all_text_contents()
    ]
    np.testing.assert_allclose(
        values, [pair["scale"][7], pair["folded_weight"][7], pair["folded_bias"][7]], rtol=1e-4, atol=1e-5
    )


def test_the_explorer_switches_models(page: Page) -> None:
    page.goto("/?model=lenet")
    page.wait_for_selector("main[data-state=ready]")
    assert page.input_value("#model-select") == "lenet"
    expect(page.locator("#layer-conv1")).to_have_count(1)
    expect(page.locator("#layer-bn1")).to_have_count(0)
    sample = page.get_attribute("#gallery .sample", "data-sample")
    expected = page.request.post("/api/activations?model=lenet&layers=probs", multipart={"sample": sample or "0"})
    assert page.text_content("#predicted") == str(expected.json()["prediction"]["label"])
    page.select_option("#model-select", "lenet_bn")  # in place: no reload
    expect(page.locator("#layer-bn1")).to_have_count(1)
    page.wait_for_selector("main[data-state=ready]")
    assert "model=" not in page.url


def test_the_fold_channel_shows_its_limits_and_refuses_what_is_out_of_range(page: Page) -> None:
    open_page(page)
    fold = page.locator("#fold")
    expect(fold).to_have_attribute("data-state", "ready")
    pairs = page.request.get("/api/batchnorm/fold?weights=false").json()["pairs"]
    sizes = [len(pair["channels"]["scale"]) for pair in pairs]
    problem = page.locator("#fold-channel-error")
    expect(page.locator("#fold-channel-range")).to_have_text(f"0 to {sizes[0] - 1}")
    page.fill("#fold-channel", str(sizes[0] + 580))  # never shown as another channel
    expect(problem).to_be_visible()
    expect(problem).to_contain_text(f"Channel must be a whole number from 0 to {sizes[0] - 1}")
    expect(page.locator("#fold-channel")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#fold-formula")).to_be_hidden()
    assert fold.get_attribute("data-channel") is None
    last = len(pairs) - 1  # fc1 + bn3: 500 units
    page.select_option("#fold-pair", str(last))
    expect(page.locator("#fold-channel-range")).to_have_text(f"0 to {sizes[last] - 1}")
    expect(problem).to_contain_text(f"from 0 to {sizes[last] - 1}")  # still out of range: said again
    page.fill("#fold-channel", str(sizes[last] - 1))
    expect(fold).to_have_attribute("data-channel", str(sizes[last] - 1))
    expect(page.locator("#fold-formula")).to_be_visible()
    page.fill("#fold-channel", str(sizes[last]))
    expect(problem).to_contain_text(f"from 0 to {sizes[last] - 1}")
    page.fill("#fold-channel", "2.5")
    expect(problem).to_contain_text("whole number")
