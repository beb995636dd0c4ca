"""The explorer page (GET /) in a real Chromium: inputs, painted maps, readouts, colour scales,
errors, weights, narrow screens and the keyboard. Values are compared with the API's."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, Request, expect

from app.datasets import mnist
from tests.helpers import patient

pytestmark = pytest.mark.browser

MINUS = "\u2212"


@pytest.fixture(scope="module")
def digits() -> mnist.Split:
    return mnist.load("test")


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def full_page_screenshot(page: Page, target: Path) -> None:
    """Every layer rendered (off-screen ones are normally skipped), then the whole page."""
    page.evaluate("document.documentElement.classList.add('render-all')")
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)
    page.evaluate("document.documentElement.classList.remove('render-all')")


# Drop or paste a PNG (base64) on the layer list, as the browser would for a real drag or Ctrl+V.
DISPATCH_FILE = """([kind, b64]) => {
    const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], `from-${kind}.png`, { type: "image/png" }));
    const target = document.querySelector("#layers");
    const init = { dataTransfer: transfer, clipboardData: transfer, bubbles: true, cancelable: true };
    if (kind === "drop") {
        target.dispatchEvent(new DragEvent("dragenter", init));
        target.dispatchEvent(new DragEvent("drop", init));
    } else {
        target.dispatchEvent(new ClipboardEvent("paste", init));
    }
}"""

PAD_HAS_INK = """() => {
    const pad = document.getElementById("pad");
    const rgba = pad.getContext("2d").getImageData(0, 0, pad.width, pad.height).data;
    return rgba.some((v, i) => i % 4 < 3 && v > 0);
}"""

FOCUSED = "() => { const e = document.activeElement; return e.id || e.dataset.sample || e.textContent.trim(); }"


def open_explorer(page: Page, path: str = "/") -> Page:
    page.goto(path)
    page.wait_for_selector("main[data-state=ready]")
    return page


def renders(page: Page) -> int:
    return int(page.get_attribute("main", "data-renders") or 0)


def wait_for_render(page: Page, after: int, source: str | None = None) -> None:
    """Wait until a result newer than render number ``after`` is on screen (and no request is pending)."""
    condition = f"Number(document.querySelector('main').dataset.renders || 0) > {after}"
    condition += " && !document.querySelector('main').dataset.busy"
    if source:
        condition += f" && document.querySelector('main').dataset.source === '{source}'"
    page.wait_for_function(f"() => {condition}")  # a function, not an expression: no eval under a CSP


def decode(layer: dict) -> np.ndarray:
    dtype = {"float32": "<f4", "float16": "<f2"}[layer["dtype"]]
    return np.frombuffer(base64.b64decode(layer["data"]), dtype).reshape(layer["shape"])


def api_activations(page: Page, **multipart: object) -> dict:
    response = page.request.post("/api/activations", multipart=multipart)
    assert response.ok, response.text()
    return response.json()


def api_layer(result: dict, name: str) -> np.ndarray:
    return decode(next(layer for layer in result["layers"] if layer["name"] == name))


def pixels(canvas: Locator) -> list[int]:
    """The canvas's RGBA bytes."""
    return canvas.evaluate("c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)")


def distinct_colours(canvas: Locator) -> int:
    rgba = np.asarray(pixels(canvas), dtype=np.uint8).reshape(-1, 4)
    return len(np.unique(rgba, axis=0))


def number(text: str) -> float:
    return float(text.strip().replace(MINUS, "-"))


def settled_box(page: Page, element: Locator) -> dict:
    """The element's box once it is in view and stopped moving (layers further down are laid out
    only when they come near the viewport, which can shift the page for a frame or two)."""
    element.scroll_into_view_if_needed()
    box = element.bounding_box()
    for _ in range(20):
        page.evaluate("new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
        element.scroll_into_view_if_needed()  # the cards laid out on the way may have pushed it out of view
        again = element.bounding_box()
        if again == box:
            break
        box = again
    assert box is not None
    return box


def hover_cell(page: Page, canvas: Locator, y: int, x: int, h: int, w: int) -> None:
    box = settled_box(page, canvas)
    page.mouse.move(box["x"] + (x + 0.5) * box["width"] / w, box["y"] + (y + 0.5) * box["height"] / h)


def draw(page: Page, points: list[tuple[float, float]]) -> None:
    """One stroke through points given as fractions of the pad."""
    box = settled_box(page, page.locator("#pad"))

    def at(p: tuple[float, float]) -> tuple[float, float]:
        return box["x"] + p[0] * box["width"], box["y"] + p[1] * box["height"]

    page.mouse.move(*at(points[0]))
    page.mouse.down()
    for p in points[1:]:
        page.mouse.move(*at(p), steps=4)
    page.mouse.up()


# ------------------------------------------------------------------------------------------------


def test_upload_shows_the_apis_prediction(page: Page, digits: mnist.Split, tmp_path: Path) -> None:
    open_explorer(page)
    first = page.text_content("#predicted")
    # Digits whose class differs from the sample shown at start, one of them dark on light and enlarged.
    picks = [i for i in range(50) if str(int(digits.labels[i])) != first][:2]
    files = [
        ("digit-a.png", png(digits.images[picks[0]])),
        ("digit-b.png", png(np.asarray(Image.fromarray(255 - digits.images[picks[1]]).resize((112, 112))))),
    ]
    for name, data in files:
        path = tmp_path / name
        path.write_bytes(data)
        before = renders(page)
        page.set_input_files("#file", str(path))
        wait_for_render(page, before, "file")
        api = api_activations(page, file={"name": name, "mimeType": "image/png", "buffer": data})
        shown = page.text_content("#predicted")
        assert shown == str(api["prediction"]["label"])
        best = api["prediction"]["probabilities"][api["prediction"]["label"]]
        top = page.locator(".prob-row.top")
        assert top.get_attribute("data-digit") == shown
        expect(top.locator(".prob-value")).to_have_text(f"{best * 100:.1f}%" if best < 0.9995 else ">99.9%")
        # The 28x28 canvas shows the API's input layer: its brightest and darkest pixels agree.
        seen = np.asarray(pixels(page.locator("#seen")), dtype=np.uint8).reshape(28, 28, 4)[..., :3].sum(-1)
        api_input = api_layer(api, "input")[0]
        assert np.unravel_index(seen.argmax(), seen.shape) in {
            tuple(i) for i in np.argwhere(api_input == api_input.max())
        }
        assert (seen[api_input == 0] == seen.min()).all()
    assert page.get_attribute("#original-img", "src").startswith("blob:")
    expect(page.locator("#original-caption")).to_contain_text("digit-b.png")


def test_drop_and_paste_load_an_image(page: Page, digits: mnist.Split) -> None:
    open_explorer(page)
    data = base64.b64encode(png(digits.images[1])).decode()  # a 2
    api = api_activations(page, sample="1")
    for event in ("drop", "paste"):
        before = renders(page)
        page.evaluate(DISPATCH_FILE, [event, data])
        wait_for_render(page, before, "file")
        assert page.text_content("#predicted") == str(api["prediction"]["label"])
        expect(page.locator("#original-caption")).to_contain_text(f"from-{event}.png")
        expect(page.locator("#drop-overlay")).to_be_hidden()
    assert len(page.evaluate("performance.getEntriesByName('explorer:file').map(e => e.duration)")) >= 2


def test_pad_stroke_predicts_and_paints_conv1(page: Page) -> None:
    open_explorer(page)
    conv1 = page.locator("#layer-conv1 canvas.map")
    expect(conv1).to_have_count(20)
    before_pixels = [pixels(conv1.nth(c)) for c in (0, 7)]
    before = renders(page)
    # A vertical bar: a "1".
    draw(page, [(0.5, 0.15 + 0.07 * i) for i in range(11)])
    # The pad sends at once on pointer-down and again with the latest drawing when that answer is in,
    # so one stroke always gives at least two results: wait for the second (the first may leave the
    # page idle for a moment before the next send).
    wait_for_render(page, before + 1, "stroke")
    page.wait_for_function("() => performance.getEntriesByName('explorer:stroke').length > 0")
    assert page.text_content("#predicted") == "1"
    assert page.get_attribute("#original-pad", "hidden") is None
    for c in range(20):
        assert distinct_colours(conv1.nth(c)) > 1, f"conv1 channel {c} is blank"
    assert [pixels(conv1.nth(c)) for c in (0, 7)] != before_pixels
    assert renders(page) - before >= 2  # the pad sent while drawing
    # Undo removes the stroke; a new one (a horizontal bar) is sent again.
    page.click("#undo")
    before = renders(page)
    draw(page, [(0.1 + 0.08 * i, 0.5) for i in range(11)])
    wait_for_render(page, before, "stroke")
    page.click("#clear")
    assert page.evaluate(PAD_HAS_INK) is False


def test_hover_readout_equals_the_api(page: Page) -> None:
    open_explorer(page, "/?sample=3")
    expect(page.locator("main")).to_have_attribute("data-source", "sample")
    api = api_activations(page, sample="3")
    conv1 = api_layer(api, "conv1")  # (20, 28, 28)
    readout = page.locator("#readout")
    for channel, y, x in [(0, 14, 14), (5, 3, 22), (19, 27, 0), (11, 10, 9)]:
        hover_cell(page, page.locator("#layer-conv1 canvas.map").nth(channel), y, x, 28, 28)
        expect(readout).to_have_attribute("data-channel", str(channel))
        assert readout.get_attribute("data-layer") == "conv1"
        assert (int(readout.get_attribute("data-y")), int(readout.get_attribute("data-x"))) == (y, x)
        text = readout.inner_text()
        assert f"channel {channel}" in text and f"(y {y}, x {x})" in text
        shown = number(readout.locator(".readout-value").inner_text())
        assert round(shown, 4) == round(float(conv1[channel, y, x]), 4)
    # A vector layer too: fc1 unit 123 sits at row 2, column 23 of its 50-wide strip.
    fc1 = api_layer(api, "fc1")
    hover_cell(page, page.locator("#layer-fc1 canvas.strip"), 2, 23, 10, 50)
    expect(readout).to_have_attribute("data-unit", "123")
    assert round(number(readout.locator(".readout-value").inner_text()), 4) == round(float(fc1[123]), 4)


def test_a_stroke_in_progress_gets_float16_maps_and_its_end_exact_ones(page: Page) -> None:
    """While the pointer is down the pad asks for float16 maps (half the bytes); the update sent once the
    stroke ends asks for float32, and the readout then holds the API's float32 values for that drawing."""
    open_explorer(page)
    sent: list[tuple[str, str | None]] = []  # (dtype, JSON body) of each request the page made

    def record(request: Request) -> None:
        url = urlparse(request.url)
        if url.path == "/api/activations":
            sent.append((parse_qs(url.query)["dtype"][0], request.post_data))

    page.on("request", record)
    main = page.locator("main")
    box = settled_box(page, page.locator("#pad"))
    page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + 0.15 * box["height"])
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(box["x"] + 0.5 * box["width"], box["y"] + (0.15 + 0.07 * i) * box["height"], steps=4)
    expect(main).to_have_attribute("data-dtype", "float16")  # the pointer is still down
    expect(main).not_to_have_attribute("data-busy", "true")
    during = len(sent)
    assert during >= 1 and {dtype for dtype, _ in sent} == {"float16"}
    page.mouse.up()
    expect(main).to_have_attribute("data-dtype", "float32")
    expect(main).not_to_have_attribute("data-busy", "true")
    # every update sent while the pointer was down asked for float16 (one may still have been waiting for
    # the pad's interval when it was lifted), and exactly one more, the stroke's end, for float32
    dtypes = [dtype for dtype, _ in sent]
    assert len(dtypes) > during and dtypes == ["float16"] * (len(dtypes) - 1) + ["float32"]
    assert page.text_content("#predicted") == "1"

    reply = page.request.post(
        "/api/activations?dtype=float32", data=sent[-1][1], headers={"Content-Type": "application/json"}
    )
    conv1 = api_layer(reply.json(), "conv1")  # (20, 28, 28) float32
    readout = page.locator("#readout")
    cells = [(0, 14, 14), (3, 10, 13), (11, 20, 15), (17, 8, 14)]
    assert any(float(conv1[c]) != float(conv1[c].astype(np.float16)) for c in cells)  # float16 would show
    for channel, y, x in cells:
        hover_cell(page, page.locator("#layer-conv1 canvas.map").nth(channel), y, x, 28, 28)
        expect(readout).to_have_attribute("data-channel", str(channel))
        assert (int(readout.get_attribute("data-y")), int(readout.get_attribute("data-x"))) == (y, x)
        assert float(readout.get_attribute("data-value") or "nan") == float(conv1[channel, y, x])


def test_colour_scale_switch_repaints(page: Page) -> None:
    open_explorer(page, "/?sample=3")
    canvas = page.locator("#layer-conv1 canvas.map").nth(4)
    bar = page.locator("#layer-conv1 .colorbar").first
    per_layer = pixels(canvas)
    layer_high = float(bar.get_attribute("data-high"))
    page.click("#scale-mode label:has-text('per map')")
    expect(page.locator("main")).to_have_attribute("data-scale-mode", "channel")
    per_map = pixels(canvas)
    assert per_map != per_layer
    expect(page.locator("#layer-conv1 .map-range").nth(4)).not_to_be_empty()
    page.click("#scale-mode label:has-text('whole network')")
    expect(page.locator("main")).to_have_attribute("data-scale-mode", "network")
    network = pixels(canvas)
    assert network not in (per_map, per_layer)
    assert float(bar.get_attribute("data-high")) > layer_high  # fc2's logits are larger than conv1's values
    page.click("#scale-mode label:has-text('per layer')")
    assert pixels(canvas) == per_layer


def test_bad_files_show_an_error_and_keep_the_result(page: Page, browser_errors, digits: mnist.Split) -> None:
    open_explorer(page, "/?sample=3")
    predicted = page.text_content("#predicted")
    shown = renders(page)
    conv1 = page.locator("#layer-conv1 canvas.map").first
    conv1_before = pixels(conv1)
    error = page.locator("#error")

    page.set_input_files("#file", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a digit"}])
    expect(error).to_be_visible()
    expect(error).to_contain_text("not an image")
    expect(error).to_contain_text("notes.txt")

    page.set_input_files(
        "#file", files=[{"name": "huge.png", "mimeType": "image/png", "buffer": b"\x89PNG" + bytes(6 << 20)}]
    )
    expect(error).to_contain_text("too large")

    # A PNG signature with a corrupt body passes the page's checks: the server's detail is shown.
    # (Chromium logs every 4xx response as a console error; this one is provoked on purpose.)
    whole = png(np.asarray(Image.fromarray(255 - digits.images[0]).resize((112, 112))))
    data = whole[: len(whole) // 2]
    reply = page.request.post(
        "/api/activations", multipart={"file": {"name": "broken.png", "mimeType": "image/png", "buffer": data}}
    )
    assert 400 <= reply.status < 500
    browser_errors.allow(rf"status of {reply.status}")
    page.set_input_files("#file", files=[{"name": "broken.png", "mimeType": "image/png", "buffer": data}])
    expect(error).to_contain_text(reply.json()["detail"])

    assert page.text_content("#predicted") == predicted
    assert renders(page) == shown
    assert pixels(conv1) == conv1_before
    page.click("#error-close")
    expect(error).to_be_hidden()


def test_deep_link_and_gallery(page: Page) -> None:
    open_explorer(page, "/?sample=9")
    samples = page.request.get("/api/samples").json()
    api = api_activations(page, sample="9")
    assert page.text_content("#predicted") == str(api["prediction"]["label"])
    expect(page.locator("#original-caption")).to_contain_text("#9")
    items = page.locator("#gallery .sample")
    expect(items).to_have_count(len(samples))
    for sample, item in zip(samples, items.all(), strict=True):
        assert item.get_attribute("data-sample") == str(sample["id"])
        wrong = sample["label"] != sample["predicted"]
        assert ("wrong" in item.get_attribute("class").split()) == wrong
        assert item.locator(".sample-label").inner_text() == (
            f"{sample['label']}→{sample['predicted']}" if wrong else str(sample["label"])
        )
    before = renders(page)
    items.nth(4).click()
    wait_for_render(page, before, "sample")
    assert page.url.endswith(f"?sample={samples[4]['id']}")
    assert items.nth(4).get_attribute("aria-pressed") == "true"
    api = api_activations(page, sample=str(samples[4]["id"]))
    assert page.text_content("#predicted") == str(api["prediction"]["label"])


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/?sample=abc", "?sample=abc is not a test image id"),
        ("/?model=nope", "?model=nope is not a served model"),
        ("/?conv1_override=nope", "?conv1_override= is not valid JSON"),
    ],
)
def test_a_bad_address_is_explained_after_the_first_digit(page: Page, path: str, words: str) -> None:
    """The problem with the address stays on screen once the first digit is shown (and after later ones)."""
    open_explorer(page, path)
    assert renders(page) == 1
    error = page.locator("#error")
    expect(error).to_be_visible()
    expect(error).to_contain_text(words)
    before = renders(page)
    page.locator("#gallery .sample").nth(2).click()
    wait_for_render(page, before, "sample")
    expect(error).to_contain_text(words)
    page.click("#error-close")
    expect(error).to_be_hidden()
    assert page.get_attribute("main", "data-error") is None


def test_filters_and_batchnorm_parameters_come_from_the_weights_api(page: Page) -> None:
    open_explorer(page, "/?sample=3")
    weights = page.request.get("/api/layers/conv1/weights").json()
    w = decode(weights["tensors"][0])  # (20, 1, 5, 5)
    page.check("#layer-conv1 [data-toggle=filters]")
    filters = page.locator("#layer-conv1 canvas.filter")
    expect(filters).to_have_count(20)
    assert distinct_colours(filters.nth(2)) > 1
    hover_cell(page, filters.nth(2), 1, 3, 5, 5)
    readout = page.locator("#readout")
    expect(readout).to_have_attribute("data-tensor", "weight")
    assert round(number(readout.locator(".readout-value").inner_text()), 4) == round(float(w[2, 0, 1, 3]), 4)

    bn = {t["name"]: decode(t) for t in page.request.get("/api/layers/bn2/weights").json()["tensors"]}
    page.check("#layer-bn2 [data-toggle=bn-params]")
    params = page.locator("#layer-bn2 .map-tile").nth(6).locator(".bn-number")
    expect(params).to_have_count(4)
    for i, name in enumerate(["weight", "bias", "running_mean", "running_var"]):
        assert number(params.nth(i).inner_text()) == pytest.approx(float(bn[name][6]), rel=5e-3, abs=5e-4)


def test_enlarged_small_map_shows_its_numbers(page: Page) -> None:
    open_explorer(page, "/?sample=3")
    pool2 = api_layer(api_activations(page, sample="3"), "pool2")  # (50, 7, 7): at most 100 numbers are shown
    page.locator("#layer-pool2 .map-tile").nth(7).click()
    dialog = page.locator("#inspector")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#inspector-title")).to_have_text("pool2 · channel 7")
    cells = dialog.locator("table.numbers td")
    expect(cells).to_have_count(pool2[7].size)
    shown = np.array([number(t) for t in cells.all_inner_texts()]).reshape(pool2[7].shape)
    assert np.allclose(shown, pool2[7], atol=0.0051)
    stats = dialog.locator(".inspector-stat dd")
    assert number(stats.nth(0).inner_text().split(" at ")[0]) == pytest.approx(float(pool2[7].min()), abs=1e-5)
    assert number(stats.nth(1).inner_text().split(" at ")[0]) == pytest.approx(float(pool2[7].max()), abs=1e-5)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()


def test_keyboard_reaches_everything(page: Page) -> None:
    open_explorer(page)
    # Tabbing from the top reaches the navigation (pages and languages), the pad and its tools, the file picker
    # and the gallery.
    seen = []
    for _ in range(16):
        page.keyboard.press("Tab")
        seen.append(page.evaluate(FOCUSED))
    for wanted in ("Explorer", "简体中文", "pad", "brush", "undo", "clear", "file"):
        assert wanted in seen, seen
    assert any(s.isdigit() for s in seen), seen
    # Enter on a gallery digit loads it.
    item = page.locator("#gallery .sample").nth(5)
    item.focus()
    before = renders(page)
    page.keyboard.press("Enter")
    wait_for_render(page, before, "sample")
    assert item.get_attribute("aria-pressed") == "true"
    # Space on a map opens the enlarged view; arrow keys move the readout over its pixels.
    tile = page.locator("#layer-conv2 .map-tile").nth(3)
    tile.focus()
    page.keyboard.press("Space")
    dialog = page.locator("#inspector")
    expect(dialog).to_be_visible()
    expect(page.locator(".zoom-canvas")).to_be_focused()
    readout = page.locator("#readout")
    expect(readout).to_have_attribute("data-layer", "conv2")
    start = (int(readout.get_attribute("data-y")), int(readout.get_attribute("data-x")))
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    expect(readout).to_have_attribute("data-x", str(start[1] + 1))
    expect(readout).to_have_attribute("data-y", str(start[0] + 1))
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(tile).to_be_focused()
    # The colour-scale switch is a radio group: arrow keys change it.
    page.locator("#scale-mode input[value=layer]").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("main")).to_have_attribute("data-scale-mode", "network")


STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self';"
    " object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)


def test_works_under_a_strict_content_security_policy(page: Page, tmp_path: Path, digits: mnist.Split) -> None:
    """No inline scripts, handlers or style attributes: the page runs with script-src 'self' and
    style-src 'self' (a violation is a console error, which fails the test)."""

    def with_csp(route) -> None:
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": STRICT_CSP})

    page.route(lambda url: url.split("?")[0].rstrip("/").count("/") == 2, with_csp)  # the page itself
    open_explorer(page, "/?sample=2")
    assert page.evaluate("document.querySelectorAll('script:not([src])').length") == 0
    handlers = (
        "[...document.querySelectorAll('*')].flatMap(e => [...e.attributes].filter(a => a.name.startsWith('on')))"
    )
    assert page.evaluate(f"{handlers}.length") == 0
    path = tmp_path / "digit.png"
    path.write_bytes(png(digits.images[4]))
    before = renders(page)
    page.set_input_files("#file", str(path))
    wait_for_render(page, before, "file")
    before = renders(page)
    draw(page, [(0.5, 0.15 + 0.07 * i) for i in range(11)])
    # The pad sends at once on pointer-down and again with the latest drawing when that answer is in,
    # so one stroke always gives at least two results: wait for the second (the first may leave the
    # page idle for a moment before the next send).
    wait_for_render(page, before + 1, "stroke")
    page.check("#layer-conv2 [data-toggle=filters]")
    page.locator("#layer-pool2 .map-tile").nth(1).click()
    expect(page.locator("#inspector")).to_be_visible()


DECODE = """async ([data, dtype, builtinBase64]) => {
    const { decodeArray } = await import("/static/js/api.js");
    const saved = Uint8Array.fromBase64;
    if (!builtinBase64) delete Uint8Array.fromBase64;  // the atob fallback
    try {
        return Array.from(decodeArray(data, dtype));
    } finally {
        if (saved) Uint8Array.fromBase64 = saved;
    }
}"""


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_api_module_decodes_arrays_like_numpy(page: Page, dtype: str) -> None:
    open_explorer(page)
    reply = page.request.post(f"/api/activations?layers=conv1,fc2&dtype={dtype}", multipart={"sample": "5"})
    assert reply.ok
    for layer in reply.json()["layers"]:
        expected = decode(layer).astype(np.float32).ravel()
        for builtin in (True, False):
            got = np.asarray(page.evaluate(DECODE, [layer["data"], dtype, builtin]), dtype=np.float32)
            np.testing.assert_array_equal(got, expected)


def test_full_page_screenshot(page: Page, output_path: str) -> None:
    page.set_viewport_size({"width": 1280, "height": 800})
    open_explorer(page, "/?sample=3")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    target = Path(output_path) / "explorer-1280.png"
    full_page_screenshot(page, target)
    assert target.stat().st_size > 50_000


def test_phone_width(browser, browser_errors, base_url: str, output_path: str) -> None:
    context = patient(
        browser.new_context(viewport={"width": 390, "height": 844}, base_url=base_url, has_touch=True, is_mobile=True)
    )
    browser_errors.watch(context)
    try:
        page = open_explorer(context.new_page())
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        pad = page.locator("#pad").bounding_box()
        assert pad is not None and pad["x"] >= 0 and pad["x"] + pad["width"] <= 390
        before = renders(page)
        draw(page, [(0.5, 0.15 + 0.07 * i) for i in range(11)])
        wait_for_render(page, before + 1, "stroke")  # the second result: see test_pad_stroke_...
        assert page.text_content("#predicted") == "1"
        page.locator("#layer-pool2 .map-tile").first.click()
        dialog = page.locator("#inspector")
        expect(dialog).to_be_visible()
        box = dialog.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
        page.keyboard.press("Escape")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        full_page_screenshot(page, Path(output_path) / "explorer-390.png")
    finally:
        context.close()


def test_the_relu_cards_give_the_measured_claim(page: Page) -> None:
    """The lecture: max pooling is already non-linear, so a ReLU before it is not strictly necessary. The
    cards of the ReLUs before a max pool give the two networks' test accuracies, from GET /api/models."""
    open_explorer(page)
    models = {m["name"]: m for m in page.request.get("/api/models").json()}
    pct = lambda a: f"{a * 100:.2f}%"  # noqa: E731
    words = f"reaches {pct(models['lenet_bn_norelu']['test_accuracy'])} on the test digits against "
    words += f"{pct(models['lenet_bn']['test_accuracy'])} for lenet_bn"
    for relu in ("relu1", "relu2"):
        expect(page.locator(f"#layer-{relu} .layer-explain")).to_contain_text(words)
    expect(page.locator("#layer-relu3 .layer-explain")).not_to_contain_text("Measured here")  # before fc2
