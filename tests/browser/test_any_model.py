"""Every page for any served model, in a real Chromium: the model switch on each page, fashion_vgg (layers
named features.N, ten clothing classes, resize preprocessing) drawn from the API's own layer table and class
names, and the reasons a page gives where a view does not apply: no BatchNorm, no timeline, no test set, a
map without a receptive-field box (``branchy``, a residual network served by tests/browser/residual_app.py).
Every expected name and number is read from the API, never from the weights of one training run."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from harness.server import server
from tests.browser.conftest import BrowserErrors

pytestmark = pytest.mark.browser

READY_MS = 120_000
FASHION = "fashion_vgg"


def api(page: Page, path: str, base: str = "") -> dict | list:
    response = page.request.get(base + path)
    assert response.ok, response.text()
    return response.json()


def ready(page: Page, url: str) -> Page:
    page.goto(url)
    page.wait_for_selector("main[data-state=ready]", timeout=READY_MS)
    return page


def names(page: Page, selector: str, attribute: str = "data-layer") -> list[str]:
    return page.locator(selector).evaluate_all(f"(nodes) => nodes.map((n) => n.getAttribute('{attribute}'))")


def texts(page: Page, selector: str) -> list[str]:
    return [t.strip() for t in page.locator(selector).all_text_contents()]


@pytest.fixture(scope="module")
def residual() -> Iterator[str]:
    """A server with two more models: ``branchy`` (residual, no timeline, no top-activating file) and
    ``branchy_bare`` (the same, served without a test set)."""
    with server(factory="tests.browser.residual_app:build") as (base, _):
        yield base


# ---- the model switch on every page --------------------------------------------------------------------

SWITCHES = {
    "/": "#layers section.layer",  # in place: the cards are rebuilt
    "/model": "#arch-table tbody tr",  # in place
    "/batchnorm": None,  # the page opens again for the model
    "/training": None,
}


@pytest.mark.parametrize("path", list(SWITCHES))
def test_the_model_switch_shows_the_chosen_model_and_puts_it_in_the_address(page: Page, path: str) -> None:
    ready(page, path)
    default = next(m["name"] for m in api(page, "/api/models") if m["default"])
    assert page.input_value("#model-select") == default
    words = page.locator("[data-word=item], [data-word=items]")
    expect(words.first).to_have_text(re.compile(r"^digits?$"))  # the lecture's network sees digits
    page.select_option("#model-select", FASHION)
    expect(page.locator("main")).to_have_attribute("data-model", FASHION)
    expect(page).to_have_url(re.compile(rf"{re.escape(path)}\?(.*&)?model={FASHION}(&|$)"))
    page.wait_for_selector("main[data-state=ready]", timeout=READY_MS)
    assert page.input_value("#model-select") == FASHION
    for word in words.all():  # the page's own text follows the model
        expect(word).to_have_text(re.compile(r"^images?$"))
    table = [layer["name"] for layer in api(page, f"/api/model?model={FASHION}")["layers"]]
    rows = SWITCHES[path]
    if rows:
        expect(page.locator(rows)).to_have_count(len(table))
        assert names(page, rows) == table
    # back to the default: the address forgets ?model=
    page.select_option("#model-select", default)
    expect(page.locator("main")).to_have_attribute("data-model", default)
    page.wait_for_selector("main[data-state=ready]", timeout=READY_MS)
    assert "model=" not in page.url


@pytest.mark.parametrize("path", ["/batchnorm", "/training"])
def test_the_switch_that_opens_the_page_again_works_by_keyboard(page: Page, path: str) -> None:
    ready(page, path)
    models = [m["name"] for m in api(page, "/api/models")]
    start = models.index(page.input_value("#model-select"))
    assert start + 1 < len(models)
    page.focus("#model-select")
    page.keyboard.press("ArrowDown")  # the next model: the page opens again for it...
    expect(page.locator("main")).to_have_attribute("data-model", models[start + 1])
    page.wait_for_selector("main[data-state=ready]", timeout=READY_MS)
    expect(page.locator("#model-select")).to_be_focused()  # ...with the switch focused, so the keys go on
    assert page.input_value("#model-select") == models[start + 1]


# ---- fashion_vgg on every page ------------------------------------------------------------------------


def test_the_explorer_shows_fashion_vgg_with_its_layers_and_clothing(page: Page) -> None:
    ready(page, f"/?model={FASHION}")
    model = api(page, f"/api/model?model={FASHION}")
    classes = model["classes"]
    assert model["input"]["preprocess"] == "resize"
    # every card is a layer of the table, named by its module path
    assert names(page, "#layers section.layer") == [layer["name"] for layer in model["layers"]]
    assert any(name.startswith("features.") for name in names(page, "#layers section.layer"))
    # the gallery: the model's own test images, named by their classes, from its own test set
    samples = api(page, f"/api/samples?model={FASHION}")
    buttons = page.locator("#gallery .sample")
    expect(buttons).to_have_count(len(samples))
    assert texts(page, "#gallery .sample .sample-label") == [classes[s["label"]] for s in samples]
    assert texts(page, "#gallery .sample .sample-label") == [s["label_name"] for s in samples]
    src = buttons.first.locator("img").get_attribute("src") or ""
    assert src.endswith(f"/api/samples/{samples[0]['id']}.png?model={FASHION}")
    # the verdict and the bars name the classes; the prediction is the API's
    expected = page.request.post(
        f"/api/activations?model={FASHION}&layers=probs", multipart={"sample": str(samples[0]["id"])}
    ).json()
    expect(page.locator("#predicted")).to_have_text(classes[expected["prediction"]["label"]])
    assert texts(page, "#probs .prob-digit") == classes
    expect(page.locator("#original-caption")).to_have_text(
        f"Test image #{samples[0]['id']}, {'an' if classes[samples[0]['label']][0] in 'AEIOU' else 'a'}"
        f" {classes[samples[0]['label']]}"
    )
    # the explanation's choices are the classes
    options = texts(page, "#explain .explain-target option")
    assert [o.rsplit(" (", 1)[0] for o in options[1:]] == classes
    # the input card says how uploads were made to look like the training images
    expect(page.locator("#layer-input .layer-explain")).to_contain_text("resized to 28 \u00d7 28")
    expect(page.locator("#layer-input .layer-explain")).not_to_contain_text("MNIST")
    # the output layers' bars are keyed by the class names
    expect(page.locator("#layer-probs .bar-key")).to_contain_text(" · ".join(f"{i} {c}" for i, c in enumerate(classes)))


def test_the_model_page_shows_fashion_vgg_from_its_table(page: Page) -> None:
    ready(page, f"/model?model={FASHION}")
    model = api(page, f"/api/model?model={FASHION}")
    classes = model["classes"]
    assert names(page, "#arch-table tbody tr") == [layer["name"] for layer in model["layers"]]
    assert page.locator("#arch-table .mismatch").count() == 0  # every count recomputed agrees with the server
    assert page.get_attribute("#arch-table tfoot td.params", "data-value") == str(model["params"])
    pool = next(layer for layer in model["layers"] if layer["kind"] == "avgpool")
    expect(page.locator(f"#arch-table tr[data-layer='{pool['name']}'] td.arith")).to_contain_text(
        "global average pooling"
    )
    # a filter view for every conv layer of the table, by its name
    convs = [layer["name"] for layer in model["layers"] if layer["kind"] == "conv"]
    expect(page.locator("#filter-layers .filter-layer")).to_have_count(len(convs))
    assert names(page, "#filter-layers .filter-layer") == convs
    first = model["layers"][1]["output_shape"][0]
    expect(page.locator(f"#filter-layers div[data-layer='{convs[0]}'] canvas")).to_have_count(first)
    # the card's classes: per-class bars and the confusion matrix
    card = api(page, f"/api/model/card?model={FASHION}")
    expect(page.locator("#per-class .class-label")).to_have_count(len(classes))
    assert texts(page, "#per-class .class-label") == classes
    assert texts(page, "#confusion thead th")[1:] == classes
    assert texts(page, "#confusion tbody th") == classes
    # a cell off the diagonal lists its images from fashion_vgg's test set
    matrix = card["confusion_matrix"]
    label, predicted = max(
        ((i, j) for i in range(len(matrix)) for j in range(len(matrix)) if i != j), key=lambda c: matrix[c[0]][c[1]]
    )
    page.click(f"#confusion td[data-label='{label}'][data-predicted='{predicted}'] button")
    panel = page.locator("#cell-digits")
    expect(panel.locator(".cell-title")).to_contain_text(f"{classes[label]} read as {classes[predicted]}")
    first_image = panel.locator("a.digit-link").first
    sample = first_image.get_attribute("data-sample")
    expect(first_image).to_have_attribute("href", f"/?sample={sample}&model={FASHION}")
    assert (first_image.locator("img").get_attribute("src") or "").endswith(f"?model={FASHION}")


def test_the_batchnorm_page_shows_fashion_vgg_and_compares_only_lenet_bn_and_lenet(page: Page) -> None:
    ready(page, f"/batchnorm?model={FASHION}")
    model = api(page, f"/api/model?model={FASHION}")
    classes = model["classes"]
    bns = [layer["name"] for layer in model["layers"] if layer["kind"] == "batchnorm"]
    # its BatchNorm layers, by name (a list: their names do not fit a phone's row of buttons)
    assert texts(page, "#params .bn-layer-pick option") == bns
    expect(page.locator("#params")).to_have_attribute("data-layer", bns[0])
    page.select_option("#params .bn-layer-pick select", bns[-1])
    expect(page.locator("#params")).to_have_attribute("data-layer", bns[-1])
    # the lab answers in the model's classes
    lab = page.locator("#lab")
    expect(lab).to_have_attribute("data-state", "ready")
    label = int(lab.get_attribute("data-eval-label") or -1)
    expect(page.locator("#eval-digit")).to_have_text(classes[label])
    assert texts(page, "#eval-probs .prob-digit") == classes
    # the fold pairs are the API's
    expect(page.locator("#fold")).to_have_attribute("data-state", "ready")
    pairs = api(page, f"/api/batchnorm/fold?model={FASHION}&weights=false")["pairs"]
    assert texts(page, "#fold-pair option") == [f"{p['layer']} + {p['batchnorm']}" for p in pairs]
    # the comparison: the same network with and without BatchNorm, whatever the page's model
    training = page.locator("#training")
    expect(training).to_have_attribute("data-curves", "2")
    assert names(page, "#curves-table tbody tr", "data-model") == ["lenet_bn", "lenet"]
    expect(page.locator("#curves-legend")).not_to_contain_text(FASHION)
    expect(page.locator("#curves-legend")).not_to_contain_text("lenet_bn_norelu")


def test_the_training_page_follows_fashion_vggs_timeline_or_says_there_is_none(page: Page) -> None:
    ready(page, f"/training?model={FASHION}")
    summary = next(m for m in api(page, "/api/models") if m["name"] == FASHION)
    convs = [layer["name"] for layer in api(page, f"/api/model?model={FASHION}")["layers"] if layer["kind"] == "conv"]
    if summary["timeline"]:
        expect(page.locator("#first-conv-title")).to_contain_text(convs[0])
        expect(page.locator("#second-conv-title")).to_contain_text(convs[1])
        expect(page.locator("#first-conv-filters")).to_have_attribute("data-layer", convs[0])
    else:
        missing = page.locator("#timeline-missing")
        expect(missing).to_be_visible()
        expect(missing).to_contain_text(f"{FASHION} was trained without recording checkpoints")
        expect(page.locator("#filters")).to_be_hidden()
    # the two comparisons are about the lecture's networks, whichever model the page shows
    expect(page.locator("#drift")).to_have_attribute("data-state", "ready")
    assert names(page, "#drift-charts figure", "data-model") == ["lenet_bn", "lenet"]
    expect(page.locator("#norelu")).to_have_attribute("data-state", "ready")


def test_every_page_of_fashion_vgg_fits_a_phone(browser: Browser, browser_errors: BrowserErrors, base_url: str):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, base_url=base_url, has_touch=True, is_mobile=True
    )
    browser_errors.watch(context)
    try:
        page = context.new_page()
        for path in ("/", "/model", "/batchnorm", "/training"):
            ready(page, f"{path}?model={FASHION}")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        # a tap on a test image shows it, named by its class
        ready(page, f"/?model={FASHION}")
        sample = page.locator("#gallery .sample").nth(3)
        sample.scroll_into_view_if_needed()
        sample.tap()
        expect(sample).to_have_attribute("aria-pressed", "true")
        expect(page.locator("#original-caption")).to_contain_text(f"#{sample.get_attribute('data-sample')}")
    finally:
        context.close()


# ---- where a view does not apply ------------------------------------------------------------------------


def test_a_network_without_a_timeline_says_why_on_the_training_page(page: Page, residual: str) -> None:
    ready(page, f"{residual}/training?model=branchy")
    missing = page.locator("#timeline-missing")
    expect(missing).to_be_visible()
    expect(missing).to_contain_text("branchy was trained without recording checkpoints")
    with_timeline = [m["name"] for m in api(page, "/api/models", residual) if m["timeline"]]
    expect(missing).to_contain_text(f"Models with a timeline: {', '.join(with_timeline)}")
    for hidden in ("#scrubber", "#filters", "#digit"):
        expect(page.locator(hidden)).to_be_hidden()
    assert page.input_value("#model-select") == "branchy"


def test_a_branchy_networks_add_and_a_map_without_a_receptive_field(
    page: Page, residual: str, browser_errors: BrowserErrors
) -> None:
    browser_errors.allow(r"status of 404")  # no top-activating images were recorded for branchy
    model = api(page, "/api/model?model=branchy", residual)
    add = next(layer for layer in model["layers"] if layer["kind"] == "add")
    boxless = next(
        layer for layer in model["layers"] if len(layer["output_shape"]) == 3 and layer["receptive_field"] is None
    )
    note = boxless["receptive_field_note"]
    assert note
    # the model page: the add takes two layers and the union of their fields, the other has none and says why
    ready(page, f"{residual}/model?model=branchy")
    row = page.locator(f"#arch-table tr[data-layer='{add['name']}']")
    expect(row.locator("td.arith")).to_contain_text(" + ".join(add["inputs"]))
    expect(row.locator("td.rf")).to_contain_text(f"the union of the fields of {' and '.join(add['inputs'])}")
    expect(page.locator(f"#arch-table tr[data-layer='{boxless['name']}'] td.rf")).to_contain_text(f"n/a: {note}")
    # the explorer: the add's card names its inputs; the map without a box says why when enlarged
    ready(page, f"{residual}/?model=branchy")
    card = page.locator(f"[id='layer-{add['name']}']")
    expect(card.locator(".layer-explain")).to_contain_text(" + ".join(add["inputs"]))
    page.locator(f"[id='layer-{boxless['name']}'] .map-tile").first.click()
    panel = page.locator("#inspector .rf-panel")
    expect(panel).to_have_attribute("data-state", "missing")
    expect(panel).to_contain_text(f"No receptive-field box for {boxless['name']}: {note}")
    page.keyboard.press("Escape")
    # a unit of the add has its box, as the API says
    card.locator(".map-tile").first.click()
    panel = page.locator("#inspector .rf-panel")
    expect(panel).to_have_attribute("data-state", "ready")
    expect(panel).to_have_attribute("data-size", str(add["receptive_field"]["size"]))


def test_a_model_served_without_its_test_set_says_so_on_every_page(page: Page, residual: str) -> None:
    ready(page, f"{residual}/?model=branchy_bare")
    gallery = page.locator("#gallery-missing")
    expect(gallery).to_be_visible()
    expect(gallery).to_contain_text("branchy_bare is served without its test set")
    expect(page.locator("#gallery .sample")).to_have_count(0)
    ready(page, f"{residual}/model?model=branchy_bare")
    for view in ("#mix-missing", "#shift-missing"):
        expect(page.locator(view)).to_be_visible()
        expect(page.locator(view)).to_contain_text("branchy_bare is served without its test set")
    expect(page.locator("#mix-body")).to_be_hidden()
    expect(page.locator("#mix-bottleneck table")).to_have_count(1)  # the lecture's example stays
    ready(page, f"{residual}/batchnorm?model=branchy_bare")
    expect(page.locator("#lab-missing")).to_be_visible()
    expect(page.locator("#lab-samples")).to_be_disabled()
    expect(page.locator("#fold")).to_have_attribute("data-state", "missing")
    expect(page.locator("#fold-result")).to_contain_text("branchy_bare is served without its test set")
