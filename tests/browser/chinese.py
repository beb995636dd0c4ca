"""Reading a page in Chinese: the English words a reader would still meet, and the characters the browser
has no glyph for. Used by every page's zh-CN test (tests/browser/test_chinese_*.py).

``english_words(page)``: every run of two or more Latin letters in the page's visible text and in the
attributes a reader meets (aria-label, title, placeholder, alt), minus what stays as it is in any
language (docs/glossary.md, "Left as they are"): layer names, model names, units, formula symbols, names
of datasets, methods and formats.

``missing_glyphs(page)``: every distinct non-ASCII character of the visible text drawn on a canvas in the
page's own font, compared with a character no font has (a private-use code point): identical pixels mean
the browser drew the "missing glyph" box (tofu).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.conftest import BrowserErrors
from tests.helpers import patient

# The two widths every page is read at in Chinese: a desktop and a phone (touch, a mobile viewport).
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True},
}


@contextlib.contextmanager
def watched_context(browser: Browser, errors: BrowserErrors, base_url: str, width: str) -> Iterator[BrowserContext]:
    """A browser context at ``VIEWPORTS[width]`` that waits patiently and whose page errors ``errors``
    reports; closed afterwards."""
    context = patient(browser.new_context(base_url=base_url, **VIEWPORTS[width]))
    errors.watch(context)
    try:
        yield context
    finally:
        context.close()


# Words that stay as they are in the Chinese interface (docs/glossary.md lists them).
_ALLOWED_WORDS = """
    ConvLens English MNIST Fashion Fashion-MNIST LeNet VGG BatchNorm BN ReLU Softmax softmax logit logits
    Sobel Prewitt Laplacian
    Gaussian Grad CAM Grad-CAM HiResCAM SGD API REST JSON PNG JPEG JPG GIF WebP BMP TIFF SVG ONNX PyTorch torch
    export pt pt2 onnx docs RGB max min avg argmax Hz ms px KB MB GB KiB MiB GiB dB ReLUs
    Ctrl Home End Esc Enter Scharr CC0 Nesterov
    float16 float32 lr same valid zeros reflect replicate circular floor ceil
"""
ALLOWED = frozenset(_ALLOWED_WORDS.split())
# Identifiers: layer names (conv1, bn2, fc1, relu1, pool2, flatten ...), model names (lenet_bn, fashion_vgg),
# query parameters (?model=, ?sample=, ?lang=, ?step=) and language codes.
IDENTIFIER = re.compile(r"^(?:[a-z]+\d+[a-z\d]*|[a-z]+(?:_[a-z\d]+)+|[a-z_]+(?:\.[a-z\d_]+)+|zh|en|CN)$")

VISIBLE_TEXT = """(selector) => {
  const root = document.querySelector(selector);
  const texts = [root.innerText, selector === "body" ? document.title : ""];
  for (const el of root.querySelectorAll("[aria-label], [title], [placeholder], img[alt]")) {
    const style = getComputedStyle(el);
    if (el.closest("[hidden]") || style.display === "none" || style.visibility === "hidden") continue;
    for (const name of ["aria-label", "title", "placeholder", "alt"]) {
      const value = el.getAttribute(name);
      if (value) texts.push(value);
    }
  }
  return texts.join("\\n");
}"""

TOFU = """() => {
  const text = document.body.innerText;
  const chars = [...new Set([...text].filter((c) => c.codePointAt(0) > 0x7f && c.trim()))];
  const font = getComputedStyle(document.body).fontFamily;
  const canvas = document.createElement("canvas");
  canvas.width = 40;
  canvas.height = 40;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const draw = (c) => {
    ctx.clearRect(0, 0, 40, 40);
    ctx.font = `28px ${font}`;
    ctx.fillText(c, 4, 30);
    return ctx.getImageData(0, 0, 40, 40).data.join(",");
  };
  const missing = draw(String.fromCodePoint(0x10fffd));
  return chars.filter((c) => draw(c) === missing);
}"""


def visible_text(page: Page, selector: str = "body") -> str:
    return page.evaluate(VISIBLE_TEXT, selector)


def english_words(page: Page, allowed: set[str] | frozenset[str] = frozenset(), selector: str = "body") -> list[str]:
    """The English words a reader of the page (or of the element ``selector``) meets, sorted (empty: none)."""
    text = visible_text(page, selector)
    words = set(re.findall(r"[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)*(?:[-'][A-Za-z]+)*", text))
    keep = ALLOWED | allowed
    return sorted(
        w for w in words if len(re.sub(r"[^A-Za-z]", "", w)) >= 2 and w not in keep and not IDENTIFIER.match(w)
    )


def missing_glyphs(page: Page) -> list[str]:
    """The characters of the page's visible text that the browser draws as a missing-glyph box."""
    return page.evaluate(TOFU)


def layer_names(page: Page, model: str | None = None) -> set[str]:
    """The served model's layer names (GET /api/model): they stay as they are."""
    query = f"?model={model}" if model else ""
    body = page.request.get(f"/api/model{query}").json()
    return {layer["name"] for layer in body["layers"]}
