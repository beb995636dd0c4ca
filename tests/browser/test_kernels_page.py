"""The kernel lab page (GET /kernels) in a real Chromium: presets, the step-through against the API, the
mode flip, errors that keep the last result, the Sobel demo, pooling, image sources, the hand-over to the
explorer with a conv1 override, the keyboard, a strict CSP and two screen widths."""

from __future__ import annotations

import base64
import io
import itertools
import json
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, expect

from tests.helpers import patient

pytestmark = pytest.mark.browser

MINUS = "\u2212"
TIMES = "\u00d7"
SOBEL_X = [[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]
SOBEL_Y = [[-1.0, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]]
EMBOSS = [[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]]
ROOT = Path(__file__).resolve().parents[2]


# ---- helpers -------------------------------------------------------------------------------------


def counter(page: Page, name: str = "renders") -> int:
    return int(page.get_attribute("main", f"data-{name}") or 0)


def wait_for_render(page: Page, after: int, name: str = "renders") -> None:
    """Until a result newer than number ``after`` is on screen and no request is out."""
    key = "poolRenders" if name == "pool-renders" else "renders"
    page.wait_for_function(
        f"() => {{ const d = document.querySelector('main').dataset;"
        f" return Number(d.{key} || 0) > {after} && !d.busy; }}"
    )


def open_lab(page: Page, path: str = "/kernels") -> Page:
    page.goto(path)
    page.wait_for_selector("main[data-state=ready]")
    wait_for_render(page, 0)
    return page


def change(page: Page, action) -> None:
    """Do ``action`` and wait for the result it causes."""
    before = counter(page)
    action()
    wait_for_render(page, before)


def decode(entry: dict) -> np.ndarray:
    return np.frombuffer(base64.b64decode(entry["data"]), "<f4").reshape(entry["shape"])


def convolve(page: Page, spec: dict, **image: object) -> dict:
    reply = page.request.post("/api/convolve?include=data,padded", multipart={**image, "spec": json.dumps(spec)})
    assert reply.ok, reply.text()
    return reply.json()


def number(text: str) -> float:
    return float(text.strip().replace(MINUS, "-"))


def values(locator: Locator) -> list[list[float]]:
    return json.loads(locator.get_attribute("data-values"))


def click_cell(canvas: Locator, y: int, x: int) -> None:
    """Click the centre of map cell (y, x)."""
    h, w = int(canvas.get_attribute("data-height")), int(canvas.get_attribute("data-width"))
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    canvas.click(position={"x": (x + 0.5) * box["width"] / w, "y": (y + 0.5) * box["height"] / h})


def rgba(canvas: Locator) -> np.ndarray:
    data = canvas.evaluate("c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)")
    return np.asarray(data, dtype=np.uint8).reshape(-1, 4)


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def first_sample(page: Page, label: int | None = None) -> dict:
    samples = page.request.get("/api/samples").json()
    return next(s for s in samples if label is None or s["label"] == label)


def pick_sample(page: Page, sample_id: int) -> None:
    change(page, lambda: page.click(f"#gallery .sample[data-sample='{sample_id}']"))
    expect(page.locator("main")).to_have_attribute("data-source", "sample")


# ---- the tests -----------------------------------------------------------------------------------


def test_sobel_x_on_a_sample_and_the_step_through_sum_equals_the_api(page: Page) -> None:
    open_lab(page)
    sample = first_sample(page, label=0)
    pick_sample(page, sample["id"])
    change(page, lambda: page.select_option("#kernel-a-preset", "box blur 3x3"))
    change(page, lambda: page.select_option("#kernel-a-preset", "sobel x"))
    assert values(page.locator("#kernel-a-grid")) == SOBEL_X
    out = page.locator("#map-a")
    expect(out).to_be_visible()
    assert out.get_attribute("data-shape") == "1,26,26"  # valid padding: 28 - 3 + 1
    assert out.get_attribute("data-scale") == "diverging"
    canvas = out.locator("canvas.map-canvas")
    assert len(np.unique(rgba(canvas), axis=0)) > 10
    expect(page.locator("#map-b")).to_be_hidden()

    api = convolve(page, {"kernels": [SOBEL_X]}, sample=str(sample["id"]))
    expected = decode(api["outputs"][0])[0]  # (26, 26)
    y, x = (int(i) for i in np.unravel_index(np.abs(expected).argmax(), expected.shape))
    for yy, xx in [(y, x), (13, 5), (0, 25)]:
        click_cell(canvas, yy, xx)
        steps = page.locator("#steps")
        expect(steps).to_have_attribute("data-y", str(yy))
        expect(steps).to_have_attribute("data-x", str(xx))
        block = steps.locator(".step-block[data-kernel='0']")
        expect(block.locator("td")).to_have_count(9)
        shown = number(block.locator(".step-sum").inner_text())
        assert round(shown, 4) == round(float(expected[yy, xx]), 4), (yy, xx, shown, expected[yy, xx])
        expect(block.locator(".step-check")).to_contain_text("✓")
        # The products are the padded input's window times the weights, cell by cell.
        padded = decode(api["padded_input"])[0]
        cells = block.locator("td .step-p").all_inner_texts()
        products = np.array([number(t.removeprefix("= ")) for t in cells]).reshape(3, 3)
        np.testing.assert_allclose(products, padded[yy : yy + 3, xx : xx + 3] * np.array(SOBEL_X), atol=5e-5)
        # The window is outlined on the input at the same place (in % of the padded input's size).
        window = page.locator("#map-input .marker-window")
        style = window.evaluate("e => [e.style.left, e.style.top, e.style.width].map(parseFloat)")
        assert style == pytest.approx([xx / 28 * 100, yy / 28 * 100, 3 / 28 * 100], abs=1e-3)
        assert page.locator("#map-a .marker-pixel").is_visible()


def test_the_mode_toggle_flips_the_displayed_kernel(page: Page) -> None:
    open_lab(page)
    sample = first_sample(page, label=3)
    pick_sample(page, sample["id"])
    change(page, lambda: page.select_option("#kernel-a-preset", "emboss"))
    applied = page.locator("#applied-a")
    assert values(applied) == EMBOSS
    first_row = applied.locator("tr").first.locator("td").all_inner_texts()
    change(page, lambda: page.click("#mode label:has-text('convolution')"))
    flipped = [row[::-1] for row in EMBOSS[::-1]]
    assert values(applied) == flipped
    expect(applied).to_have_class("applied-grid turning")  # it visibly turns
    # The bottom row now reads the old top row backwards; the editor still holds the kernel as typed.
    assert applied.locator("tr").last.locator("td").all_inner_texts() == first_row[::-1]
    assert values(page.locator("#kernel-a-grid")) == EMBOSS
    expect(page.locator("#applied-hint")).to_contain_text("flips")
    # The step-through and the output follow the flipped weights, like the API's convolution.
    api = convolve(page, {"kernels": [EMBOSS], "mode": "convolution"}, sample=str(sample["id"]))
    assert api["applied_kernels"][0] == flipped
    expected = decode(api["outputs"][0])[0]
    click_cell(page.locator("#map-a canvas.map-canvas"), 12, 9)
    block = page.locator("#steps .step-block[data-kernel='0']")
    expect(block.locator(".step-title")).to_contain_text("flipped")
    assert round(number(block.locator(".step-sum").inner_text()), 4) == round(float(expected[12, 9]), 4)
    weights = [number(t.removeprefix(f"{TIMES} ")) for t in block.locator("td .step-w").all_inner_texts()]
    assert weights == [v for row in flipped for v in row]
    change(page, lambda: page.click("#mode label:has-text('cross-correlation')"))
    assert values(applied) == EMBOSS


def test_bad_kernels_show_a_clear_error_and_keep_the_result(page: Page, browser_errors) -> None:
    open_lab(page)
    pick_sample(page, first_sample(page)["id"])
    shown = counter(page)
    canvas = page.locator("#map-a canvas.map-canvas")
    before = rgba(canvas)
    error = page.locator("#error")
    cell = page.locator("#kernel-a-grid .kernel-cell").nth(4)
    # Chromium logs every 4xx response as a console error; these are provoked on purpose.
    browser_errors.allow(r"status of 422")

    # A stride of 0 is refused by the page with the server's own range (GET /api/kernels/limits), and the
    # formula shows no size for it.
    page.fill("#stride", "0")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Stride S: 0 is out of range; the server takes 1 to 64.")
    expect(page.locator("#formula")).to_have_attribute("data-refused", "true")

    cell.fill("abc")
    expect(error).to_contain_text("Kernel A, row 2, column 2")
    expect(error).to_contain_text("“abc” is not a number")
    expect(cell).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#try-network")).to_have_attribute("aria-disabled", "true")
    page.fill("#stride", "1")  # the cell is still wrong: nothing is sent
    cell.fill("NaN")
    expect(error).to_contain_text("“NaN” is not a number")
    cell.fill("")
    expect(error).to_contain_text("is empty")

    # Too large a value: the server refuses it, in the same words as to any client.
    reply = page.request.post(
        "/api/convolve",
        multipart={"sample": "0", "spec": json.dumps({"kernels": [[[-1, 0, 1], [-2, 1e9, 2], [-1, 0, 1]]]})},
    )
    assert reply.status == 422
    assert "Kernel A, row 2, column 2 must be at most 1,000,000" in reply.json()["detail"]
    cell.fill("1e9")
    expect(error).to_contain_text(reply.json()["detail"])
    expect(cell).not_to_have_attribute("aria-invalid", "true")
    # The error came from the answer to the last change; with no request still out, nothing can arrive late.
    page.wait_for_function("() => !document.querySelector('main').dataset.busy")
    assert counter(page) == shown  # nothing new was shown ...
    assert (rgba(canvas) == before).all()  # ... and the last result stayed

    # Fixing the kernel shows a new result and clears the error; normalising an edge detector is refused.
    change(page, lambda: page.select_option("#kernel-a-preset", "sobel y"))
    expect(error).to_be_hidden()
    page.click("#kernel-a-normalise")
    expect(error).to_contain_text("cannot be scaled to sum to 1")
    page.click("#error-close")
    expect(error).to_be_hidden()


def test_editor_tools_sizes_and_the_live_formula(page: Page) -> None:
    open_lab(page)
    pick_sample(page, first_sample(page)["id"])
    grid = page.locator("#kernel-a-grid")
    change(page, lambda: page.select_option("#kernel-a-preset", "box blur 3x3"))
    change(page, lambda: page.select_option("#kernel-size", "5"))
    expect(grid.locator(".kernel-cell")).to_have_count(25)
    box = np.array(values(grid))
    assert box[1:4, 1:4] == pytest.approx(np.full((3, 3), 1 / 9)) and box.sum() == pytest.approx(1)
    assert box[0].sum() == 0 and box[:, 4].sum() == 0  # centred in zeros
    change(page, lambda: page.click("#kernel-a-plus"))  # the centre cell is the chosen one
    assert values(grid)[2][2] == pytest.approx(1 / 9 + 1)
    page.select_option("#kernel-a-step", "0.5")
    cell = grid.locator(".kernel-cell").nth(1)
    change(page, lambda: (cell.focus(), page.keyboard.press("ArrowUp")))
    assert values(grid)[0][1] == 0.5
    change(page, lambda: page.click("#kernel-a-normalise"))
    assert np.array(values(grid)).sum() == pytest.approx(1, abs=1e-9)
    change(page, lambda: page.click("#kernel-a-transpose"))
    assert values(grid)[1][0] == pytest.approx(0.5 / 2.5)  # (blur 1 + centre 1 + 0.5) summed to 2.5
    change(page, lambda: page.click("#kernel-a-flip-v"))
    assert values(grid)[3][0] == pytest.approx(0.5 / 2.5)
    change(page, lambda: page.click("#kernel-a-flip-h"))
    assert values(grid)[3][4] == pytest.approx(0.5 / 2.5)
    change(page, lambda: grid.locator(".kernel-cell").nth(0).fill("1/4"))
    assert values(grid)[0][0] == 0.25

    # The formula updates before the server answers, and agrees with its arithmetic afterwards.
    formula = page.locator("#formula")
    page.select_option("#padding", "explicit")
    page.fill("#padding-p", "3")
    page.fill("#stride", "3")
    expect(formula).to_have_attribute("data-height", "10")  # floor((28 - 5 + 6) / 3) + 1
    expect(formula).to_contain_text("floor((28 - 5 + 2*3) / 3) + 1 = floor(9.66667) + 1 = 10")
    expect(page.locator("#map-a")).to_have_attribute("data-shape", "1,10,10")
    expect(formula).to_have_attribute("data-source", "server")
    expect(formula).to_contain_text("is not whole, so it is rounded down")
    page.select_option("#padding", "same")
    expect(formula).to_have_attribute("data-width", "10")  # ceil(28 / 3)
    # A preset of another size resizes both kernels; a 7x7 one cannot go into the network.
    page.check("#second-kernel")
    change(page, lambda: page.select_option("#kernel-a-preset", "identity"))
    expect(page.locator("#kernel-b-grid .kernel-cell")).to_have_count(9)
    change(page, lambda: page.select_option("#kernel-size", "7"))
    expect(page.locator("#kernel-b-grid .kernel-cell")).to_have_count(49)
    expect(page.locator("#try-network")).to_have_attribute("aria-disabled", "true")
    expect(page.locator("#network-note")).to_contain_text("at most that size")


ARITHMETIC = """async (cases) => {
    const m = await import("/static/js/conv-arithmetic.js");
    return cases.map(([w, k, s, p]) => {
        const a = m.axisArithmetic(w, k, s, p);
        return [a.before, a.after, a.output, a.whole];
    });
}"""


def test_the_output_size_arithmetic_agrees_with_numpys_windows(page: Page) -> None:
    """conv-arithmetic.js (the one place the pages pad and count outputs): numpy's sliding windows over
    the input padded as it says, every S-th one, are as many as its output; "same" keeps ceil(W / S) with
    the least padding, the odd pixel after."""

    def windows(size: int, kernel: int, stride: int) -> np.ndarray:
        """The pixel indices under a kernel-wide window moved `stride` at a time (none when it does not fit)."""
        if size < kernel:
            return np.empty((0, kernel), dtype=int)
        return np.lib.stride_tricks.sliding_window_view(np.arange(size), kernel)[::stride]

    page.goto("/kernels")
    cases = list(itertools.product((1, 5, 8, 28), (1, 2, 3, 4, 5, 7), (1, 2, 3), ("valid", "same", 0, 1, 3)))
    answers = page.evaluate(ARITHMETIC, cases)
    for (w, k, s, p), (before, after, output, whole) in zip(cases, answers, strict=True):
        case = f"W={w} K={k} S={s} padding={p}"
        padded = w + before + after
        slid = windows(padded, k, s)
        assert max(output, 0) == len(slid), case
        assert whole == (len(slid) > 0 and slid[-1][-1] == padded - 1), case  # the last window ends the input
        if p == "same":
            total = before + after
            assert (before, output) == (total // 2, -(-w // s)), case
            assert total == 0 or len(windows(w + total - 1, k, s)) < output, case  # no less padding would do
        else:
            assert before == after == (0 if p == "valid" else p), case


def test_a_malformed_sample_link_is_explained(page: Page) -> None:
    """/kernels?sample=abc falls back to the photo and says why, after the first result is on screen."""
    open_lab(page, "/kernels?sample=abc")
    expect(page.locator("main")).to_have_attribute("data-source", "photo")
    error = page.locator("#error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("?sample=abc is not a test digit id")
    page.click("#error-close")
    expect(error).to_be_hidden()


def test_sobel_outline_demo_shows_x_y_and_their_magnitude(page: Page) -> None:
    open_lab(page, "/kernels?sample=0")
    expect(page.locator("main")).to_have_attribute("data-source", "sample")
    change(page, lambda: page.click("#demo-sobel"))
    expect(page.locator("main")).to_have_attribute("data-source", "photo")
    for panel in ("#map-input", "#map-a", "#map-b", "#map-combined"):
        expect(page.locator(panel)).to_be_visible()
    assert page.locator("#map-combined").get_attribute("data-shape") == "1,320,480"  # "same" keeps the size
    assert page.locator("#map-combined").get_attribute("data-scale") == "gray"
    expect(page.locator("#map-combined .map-title")).to_contain_text("√(A² + B²)")
    photo = (ROOT / "static/img/edge-photo.png").read_bytes()
    api = convolve(
        page,
        {"kernels": [SOBEL_X, SOBEL_Y], "padding": "same", "combine": "magnitude"},
        file={"name": "edge-photo.png", "mimeType": "image/png", "buffer": photo},
    )
    a, b, c = (decode(o)[0] for o in [*api["outputs"], api["combined"]])
    np.testing.assert_allclose(c, np.sqrt(a**2 + b**2), atol=1e-5)
    y, x = (int(i) for i in np.unravel_index(c.argmax(), c.shape))
    click_cell(page.locator("#map-combined canvas.map-canvas"), y, x)
    steps = page.locator("#steps")
    expect(steps).to_have_attribute("data-y", str(y))
    sums = [number(t) for t in steps.locator(".step-sum").all_inner_texts()]
    assert sums == pytest.approx([a[y, x], b[y, x]], abs=1e-4)
    assert number(steps.locator(".step-combined-value").inner_text()) == pytest.approx(c[y, x], abs=1e-4)
    expect(steps.locator(".step-combined")).to_contain_text("✓")
    # The outline is bright where the photo has edges and dark on flat sky.
    combined = rgba(page.locator("#map-combined canvas.map-canvas"))[:, 0].reshape(320, 480)
    assert combined[y, x] > 200 and combined[40, 40] < 40


def test_pooling_matches_the_api(page: Page) -> None:
    open_lab(page)
    sample = first_sample(page, label=7)
    pick_sample(page, sample["id"])
    page.wait_for_function("() => Number(document.querySelector('main').dataset.poolRenders || 0) > 0")
    before = counter(page, "pool-renders")
    page.select_option("#pool-source", "image")
    page.click("#pool-op label:has-text('average')")
    page.fill("#pool-size", "3")
    page.fill("#pool-stride", "2")
    page.fill("#pool-padding", "1")
    page.wait_for_function("() => document.querySelector('#map-pool').dataset.shape === '1,14,14'")
    wait_for_render(page, before, "pool-renders")
    expect(page.locator("#pool-formula")).to_have_attribute("data-height", "14")
    reply = page.request.post(
        "/api/pool",
        multipart={
            "sample": str(sample["id"]),
            "spec": json.dumps({"op": "avg", "size": 3, "stride": 2, "padding": 1}),
        },
    )
    expected = decode(reply.json()["outputs"][0])[0]
    click_cell(page.locator("#map-pool canvas.map-canvas"), 6, 7)
    shown = number(page.locator("#pool-steps .step-sum").inner_text())
    assert round(shown, 4) == round(float(expected[6, 7]), 4)
    expect(page.locator("#pool-steps td")).to_have_count(9)


def test_image_sources_upload_paste_and_the_explorers_digit(page: Page, tmp_path: Path) -> None:
    # The explorer remembers the digit it shows; the lab's "explorer's digit" uses it.
    page.goto("/?sample=5")
    page.wait_for_selector("main[data-state=ready]")
    page.wait_for_function("() => localStorage.getItem('convlens.explorer.digit') !== null")
    open_lab(page)
    expect(page.locator("#source-explorer")).to_be_enabled()
    change(page, lambda: page.click("#source-explorer"))
    expect(page.locator("main")).to_have_attribute("data-source", "explorer")
    expect(page.locator("#source-caption")).to_contain_text("#5")
    assert page.locator("#map-a").get_attribute("data-shape") == "1,26,26"

    # A drawn digit (no test-digit id) travels as its 28x28 pixels.
    bar = [[255 if 10 <= x <= 13 and 4 <= y <= 23 else 0 for x in range(28)] for y in range(28)]
    record = {"sample": None, "pixels": [v for row in bar for v in row], "caption": "Your drawing"}
    page.evaluate("(r) => localStorage.setItem('convlens.explorer.digit', JSON.stringify(r))", record)
    change(page, lambda: page.click("#source-explorer"))
    expect(page.locator("#source-caption")).to_contain_text("Your drawing (28")
    assert page.locator("#map-a").get_attribute("data-shape") == "1,26,26"
    click_cell(page.locator("#map-a canvas.map-canvas"), 10, 8)  # Sobel x across the bar's left edge
    assert number(page.locator("#steps .step-sum").inner_text()) == 4

    # A large upload is scaled down to 512 px on its longer side before it is sent.
    big = np.zeros((600, 800), np.uint8)
    big[100:500, 390:410] = 255
    path = tmp_path / "bar.png"
    path.write_bytes(png(big))
    change(page, lambda: page.set_input_files("#file", str(path)))
    expect(page.locator("main")).to_have_attribute("data-source", "file")
    expect(page.locator("#source-caption")).to_contain_text(f"scaled down from 800{TIMES}600 to 512{TIMES}384")
    assert page.locator("#map-a").get_attribute("data-shape") == "1,382,510"

    # Paste (Ctrl+V) an RGB image and filter each channel.
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[:, 30:, 0] = 255
    data = base64.b64encode(png(rgb)).decode()
    paste = """(b64) => {
        const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
        const transfer = new DataTransfer();
        transfer.items.add(new File([bytes], "pasted.png", { type: "image/png" }));
        const init = { clipboardData: transfer, bubbles: true, cancelable: true };
        document.body.dispatchEvent(new ClipboardEvent("paste", init));
    }"""
    change(page, lambda: page.evaluate(paste, data))
    expect(page.locator("#source-caption")).to_contain_text("pasted.png")
    change(page, lambda: page.click("#color label:has-text('R, G, B')"))
    assert page.locator("#map-a").get_attribute("data-shape") == "3,38,58"
    expect(page.locator("#step-channel-field")).to_be_visible()
    page.select_option("#step-channel", "0")
    click_cell(page.locator("#map-a canvas.map-canvas"), 20, 29)
    expect(page.locator("#steps")).to_have_attribute("data-channel", "0")
    assert number(page.locator("#steps .step-sum").inner_text()) == pytest.approx(4.0)  # red jumps 0 -> 1
    page.select_option("#step-channel", "1")
    expect(page.locator("#steps")).to_have_attribute("data-channel", "1")
    assert number(page.locator("#steps .step-sum").inner_text()) == 0

    # Something that is not an image is refused in words.
    page.set_input_files("#file", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}])
    expect(page.locator("#error")).to_contain_text("not an image")


def activations(page: Page, **fields: str) -> dict:
    reply = page.request.post("/api/activations?layers=conv1", multipart=fields)
    assert reply.ok, reply.text()
    return reply.json()


def test_try_it_in_the_network_shows_the_explorer_with_the_override(page: Page) -> None:
    open_lab(page)
    sample = first_sample(page, label=0)
    plain = activations(page, sample=str(sample["id"]))
    # A conv1 filter whose replacement by Sobel x changes this digit's prediction (asked of the API).
    channel = next(
        c
        for c in range(20)
        if activations(page, sample=str(sample["id"]), conv1_override=json.dumps({"channel": c, "kernel": SOBEL_X}))[
            "prediction"
        ]["label"]
        != plain["prediction"]["label"]
    )
    expected = activations(
        page, sample=str(sample["id"]), conv1_override=json.dumps({"channel": channel, "kernel": SOBEL_X})
    )
    pick_sample(page, sample["id"])
    change(page, lambda: page.select_option("#kernel-a-preset", "laplacian 4-neighbour"))
    change(page, lambda: page.select_option("#kernel-a-preset", "sobel x"))
    page.select_option("#network-channel", str(channel))
    link = page.locator("#try-network")
    expect(link).to_have_attribute(
        "href", re.compile(rf"^/\?sample={sample['id']}&conv1_override=.*%22channel%22%3A{channel}%2C")
    )
    query = parse_qs(urlsplit(link.get_attribute("href")).query)
    assert json.loads(query["conv1_override"][0]) == {"channel": channel, "kernel": SOBEL_X}
    link.click()
    page.wait_for_selector("main[data-state=ready]")
    page.wait_for_function("() => Number(document.querySelector('main').dataset.renders || 0) > 0")
    notice = page.locator("#override")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(f"conv1 filter {channel} is replaced by your 3{TIMES}3 kernel")
    expect(notice.locator("td")).to_have_count(9)
    assert page.text_content("#predicted") == str(expected["prediction"]["label"])
    assert page.text_content("#predicted") != str(plain["prediction"]["label"])
    # The overridden map is Sobel x of the (normalised) digit: the readout shows the API's value.
    conv1 = decode(expected["layers"][0])
    y, x = (int(i) for i in np.unravel_index(np.abs(conv1[channel]).argmax(), conv1[channel].shape))
    tile = page.locator("#layer-conv1 canvas.map").nth(channel)
    tile.scroll_into_view_if_needed()
    box = tile.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + (x + 0.5) * box["width"] / 28, box["y"] + (y + 0.5) * box["height"] / 28)
    readout = page.locator("#readout")
    expect(readout).to_have_attribute("data-channel", str(channel))
    shown = number(readout.locator(".readout-value").inner_text())
    assert round(shown, 4) == round(float(conv1[channel, y, x]), 4)
    # Back to the trained filter: the notice goes, the address loses the override, the prediction returns.
    before = int(page.get_attribute("main", "data-renders"))
    page.click("#override-clear")
    page.wait_for_function(f"() => Number(document.querySelector('main').dataset.renders) > {before}")
    expect(notice).to_have_count(0)
    assert "conv1_override" not in page.url
    assert page.text_content("#predicted") == str(plain["prediction"]["label"])


def test_keyboard_reaches_the_controls_and_steps_through_pixels(page: Page) -> None:
    open_lab(page, "/kernels?sample=2")
    seen = set()
    for _ in range(90):
        page.keyboard.press("Tab")
        seen.add(
            page.evaluate("() => document.activeElement.id || document.activeElement.getAttribute('aria-label') || ''")
        )
    for wanted in (
        "demo-sobel",
        "source-photo",
        "file",
        "kernel-size",
        "kernel-a-preset",
        "kernel-a-plus",
        "kernel-a-normalise",
        "padding",
        "stride",
        "combine",
    ):
        assert wanted in seen, (wanted, sorted(seen))
    assert "Kernel A, row 2, column 2" in seen
    canvas = page.locator("#map-a canvas.map-canvas")
    canvas.focus()
    page.keyboard.press("Enter")
    steps = page.locator("#steps")
    expect(steps).to_have_attribute("data-y", "13")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    expect(steps).to_have_attribute("data-x", "14")
    expect(steps).to_have_attribute("data-y", "14")
    # Up/Down on a kernel cell steps its value.
    cell = page.locator("#kernel-a-grid .kernel-cell").nth(0)
    cell.focus()
    change(page, lambda: page.keyboard.press("ArrowDown"))
    assert values(page.locator("#kernel-a-grid"))[0][0] == -2


STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self';"
    " object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def test_works_under_a_strict_content_security_policy(page: Page) -> None:
    def with_csp(route) -> None:
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": STRICT_CSP})

    page.route(lambda url: urlsplit(url).path in ("/", "/kernels"), with_csp)
    open_lab(page)
    assert page.evaluate("document.querySelectorAll('script:not([src])').length") == 0
    handlers = (
        "[...document.querySelectorAll('*')].flatMap(e => [...e.attributes].filter(a => a.name.startsWith('on')))"
    )
    assert page.evaluate(f"{handlers}.length") == 0
    change(page, lambda: page.click("#demo-sobel"))
    click_cell(page.locator("#map-combined canvas.map-canvas"), 100, 100)
    expect(page.locator("#steps .step-block")).to_have_count(2)
    change(page, lambda: page.click("#mode label:has-text('convolution')"))


def test_full_page_screenshot_and_timing(page: Page, output_path: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    open_lab(page)
    change(page, lambda: page.click("#demo-sobel"))
    click_cell(page.locator("#map-combined canvas.map-canvas"), 175, 140)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    assert float(page.get_attribute("main", "data-last-ms")) > 0
    assert page.evaluate("performance.getEntriesByName('kernels:update').length") >= 1
    target = Path(output_path) / "kernels-1280.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 50_000


def test_phone_width(browser, browser_errors, base_url: str, output_path: str) -> None:
    context = patient(
        browser.new_context(viewport={"width": 390, "height": 844}, base_url=base_url, has_touch=True, is_mobile=True)
    )
    browser_errors.watch(context)
    try:
        page = open_lab(context.new_page(), "/kernels?sample=1")
        page.select_option("#kernel-size", "7")
        page.check("#second-kernel")
        wait_for_render(page, 1)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        for grid in ("#kernel-a-grid", "#kernel-b-grid"):
            box = page.locator(grid).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        click_cell(page.locator("#map-a canvas.map-canvas"), 10, 10)
        expect(page.locator("#steps .step-block")).to_have_count(2)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        target = Path(output_path) / "kernels-390.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target), full_page=True)
    finally:
        context.close()


CONTRAST = """(cell) => {
  const rgb = (text) => text.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
  const lum = (c) => {
    const [r, g, b] = c.map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const style = getComputedStyle(cell);
  const [a, b] = [lum(rgb(style.color)), lum(rgb(style.backgroundColor))];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def test_the_applied_kernels_numbers_are_readable_on_their_colours(page: Page) -> None:
    """Every weight in "What slides over the image" meets WCAG AA (4.5:1) against its own cell colour."""
    open_lab(page)
    change(page, lambda: page.select_option("#kernel-a-preset", "emboss"))
    cells = page.locator("#applied-a td")
    assert cells.count() == 9
    ratios = [cells.nth(i).evaluate(CONTRAST) for i in range(cells.count())]
    assert min(ratios) >= 4.5, ratios
