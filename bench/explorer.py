"""The explorer page's speed in headless Chromium, measured by the page's own performance marks.

    .venv/bin/python -m bench.explorer [--drops 60] [--strokes 30]

- file drop -> all maps painted: a 28x28 MNIST test digit PNG dropped on the page (a synthetic drop
  event carrying a File); the page's "explorer:file" measure runs from the drop handler to the frame
  after every layer's canvases were painted. Measured with the page scrolled to the top (pad and
  prediction in view) and scrolled to conv1 (feature maps in view).
- pad stroke -> updated maps: strokes drawn with the mouse at about 60 pointer events a second; each
  "explorer:stroke" measure runs from the first pointer event not yet shown to the frame after the
  maps showing it were painted (the page sends at most one drawing at a time, so it includes waiting
  for the request before).

Prints a Markdown table (median, p90, min, max) and where the time goes (request, JS render, frame).
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import statistics
import subprocess
import sys

import numpy as np
from PIL import Image
from playwright.sync_api import Page, sync_playwright

from app.datasets import mnist
from harness.chromium import CHROMIUM, CHROMIUM_ARGS
from harness.server import server

DROP = """(b64) => {
    const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], "digit.png", { type: "image/png" }));
    const target = document.elementFromPoint(innerWidth / 2, innerHeight / 2) || document.body;
    target.dispatchEvent(new DragEvent("dragenter", { dataTransfer: transfer, bubbles: true, cancelable: true }));
    target.dispatchEvent(new DragEvent("drop", { dataTransfer: transfer, bubbles: true, cancelable: true }));
}"""

DURATIONS = "(name) => performance.getEntriesByName(name).map((e) => e.duration)"

# Resource Timing of the activations requests: [time to the first response byte, whole response], ms.
FETCHES = """() => performance.getEntriesByType("resource")
    .filter((e) => e.name.includes("/api/activations"))
    .map((e) => [e.responseStart - e.startTime, e.responseEnd - e.startTime])"""

CLEAR = "performance.clearMeasures(); performance.clearMarks(); performance.clearResourceTimings()"


def durations(page: Page, name: str) -> list[float]:
    return page.evaluate(DURATIONS, name)


def digit_png(image: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def quiet(page: Page) -> None:
    """Wait until every request the page sent has been shown (and its frame measured)."""
    page.wait_for_function(
        "!document.querySelector('main').dataset.busy && performance.getEntriesByName('explorer:stroke').length"
        " === performance.getEntriesByName('explorer:stroke:start').length"
    )


def drops(page: Page, pngs: list[str]) -> None:
    for b64 in pngs:
        before = len(durations(page, "explorer:file"))
        page.evaluate(DROP, b64)
        page.wait_for_function(f"performance.getEntriesByName('explorer:file').length > {before}")


def strokes(page: Page, count: int) -> None:
    box = page.locator("#pad").bounding_box()
    assert box is not None
    shapes = [
        [(0.5, 0.15 + 0.06 * i) for i in range(13)],  # a 1
        [(0.3 + 0.035 * i, 0.2 + 0.05 * i) for i in range(13)],  # a slanted bar
        [(0.5 + 0.3 * np.cos(t), 0.5 + 0.33 * np.sin(t)) for t in np.linspace(0, 2 * np.pi, 16)],  # a 0
    ]
    for k in range(count):
        page.click("#clear")
        points = shapes[k % len(shapes)]
        page.mouse.move(box["x"] + points[0][0] * box["width"], box["y"] + points[0][1] * box["height"])
        page.mouse.down()
        for x, y in points[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
            page.wait_for_timeout(16)
        page.mouse.up()
        page.wait_for_timeout(80)
        quiet(page)


def breakdown(page: Page, kind: str) -> dict[str, float]:
    """Medians of the parts of one kind of measure, in ms."""
    fetches = page.evaluate(FETCHES)
    return {
        "request": statistics.median(durations(page, f"explorer:{kind}:request")),
        "ttfb": statistics.median(f[0] for f in fetches),
        "fetch": statistics.median(f[1] for f in fetches),
        "render": statistics.median(durations(page, f"explorer:{kind}:render")),
    }


def summary(values: list[float]) -> dict[str, float]:
    a = np.asarray(values)
    return {
        "n": len(a),
        "median": float(np.median(a)),
        "p90": float(np.percentile(a, 90)),
        "min": float(a.min()),
        "max": float(a.max()),
    }


def chromium_version() -> str:
    try:
        out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=30).stdout
    except OSError:
        return "unknown"
    return out.strip().split(" built")[0]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.explorer", description=__doc__.splitlines()[0])
    p.add_argument("--drops", type=int, default=60, help="file drops per scroll position")
    p.add_argument("--strokes", type=int, default=30, help="pad strokes")
    args = p.parse_args(argv)

    load = os.getloadavg()[0]
    test = mnist.load("test")
    pngs = [digit_png(test.images[i]) for i in range(args.drops)]
    rows: dict[str, dict[str, float]] = {}
    parts: dict[str, dict[str, float]] = {}
    with server() as (base, _proc), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # bypass_csp: Playwright compiles wait_for_function's string predicates with eval, which the page's
        # Content-Security-Policy (no 'unsafe-eval') forbids; the page's own code is unaffected.
        page = browser.new_page(viewport={"width": 1280, "height": 800}, bypass_csp=True)
        page.goto(base + "/")
        page.wait_for_selector("main[data-state=ready]")
        page.evaluate("performance.setResourceTimingBufferSize(100000)")
        drops(page, pngs[:5])  # warm-up: JIT, caches, first layout
        strokes(page, 3)
        page.evaluate(CLEAR)

        page.evaluate("window.scrollTo(0, 0)")
        drops(page, pngs)
        rows["file drop -> all maps painted (page at the top)"] = summary(durations(page, "explorer:file"))
        parts["drop (top)"] = breakdown(page, "file")
        page.evaluate(CLEAR)

        page.evaluate("document.getElementById('layer-conv1').scrollIntoView({ block: 'start' })")
        drops(page, pngs)
        rows["file drop -> all maps painted (conv1 maps in view)"] = summary(durations(page, "explorer:file"))
        parts["drop (maps in view)"] = breakdown(page, "file")
        page.evaluate(CLEAR)

        page.evaluate("window.scrollTo(0, 0)")
        strokes(page, args.strokes)
        rows["pad stroke -> updated maps"] = summary(durations(page, "explorer:stroke"))
        parts["stroke"] = breakdown(page, "stroke")
        browser.close()

    print(f"Chromium: {chromium_version()}, headless, 1280x800; load average before the run: {load:.2f}")
    print()
    print("| measure | n | median ms | p90 ms | min ms | max ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, s in rows.items():
        print(f"| {name} | {s['n']} | {s['median']:.1f} | {s['p90']:.1f} | {s['min']:.1f} | {s['max']:.1f} |")
    print()
    print("Medians of the parts (ms): request = from the start to the decoded response (of which fetch = the")
    print("HTTP exchange, ttfb = until its first byte), render = painting every map in JavaScript; the rest of")
    print("each total is waiting for the next frame to be presented.")
    print()
    print("| input | request | fetch | ttfb | render |")
    print("|---|---:|---:|---:|---:|")
    for name, s in parts.items():
        print(f"| {name} | {s['request']:.1f} | {s['fetch']:.1f} | {s['ttfb']:.1f} | {s['render']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
