"""The app under a path prefix behind a real reverse proxy: `convlens serve` with CONVLENS_ROOT_PATH=/convlens/
and Debian's nginx (a process of this test, as the current user, its files in a temporary folder) passing
/convlens/... to it with the prefix stripped. Chromium opens every page through nginx: no request fails, each
page's data arrives (elements only an API answer builds), and every link keeps the prefix."""

from __future__ import annotations

import getpass
import shutil
import subprocess
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Response, expect

from harness.server import free_port, server
from tests.browser.conftest import BrowserErrors
from tests.helpers import patient

pytestmark = pytest.mark.browser

PREFIX = "/convlens"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
READY_MS = 120_000
# Per page: an element that only an API answer builds.
PAGES = {
    "/": "#layer-conv1",  # GET /api/model
    "/kernels": "#slot-a select option:nth-child(3)",  # GET /api/kernels/presets
    "/model": "#confusion th",  # GET /api/model/card
    "/batchnorm": "#curves .bn-series",  # GET /api/models
    "/training": "#maps canvas",  # GET /api/training and POST /api/activations
}

# `user`: the workers run as the current user (nginx started by root would otherwise switch them to nobody,
# who may not write the temporary folders; started by anyone else it runs them as that user anyway).
CONFIG = """
user {user};
worker_processes 1;
error_log stderr notice;  # the test reads it: "start worker process" once it listens
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    client_max_body_size 25m;
    server {{
        listen 127.0.0.1:{port};
        location = {prefix} {{ return 301 {prefix}/; }}
        location {prefix}/ {{
            proxy_pass http://127.0.0.1:{app}/;  # the trailing / replaces {prefix}/: the app sees /api/...
            proxy_set_header Host $http_host;
        }}
    }}
}}
"""


def started(proc: subprocess.Popen) -> tuple[list[str], threading.Thread]:
    """nginx's log up to "start worker process" (its sockets are open by then), or all of it if nginx exits
    first; and the thread that reads the rest, so the pipe never fills (it ends when nginx does)."""
    assert proc.stderr is not None
    log: list[str] = []
    for line in proc.stderr:
        log.append(line)
        if "start worker process" in line:
            break
    drain = threading.Thread(target=proc.stderr.read)
    drain.start()
    return log, drain


@pytest.fixture(scope="module")
def proxied(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base address through nginx: http://127.0.0.1:<port>/convlens."""
    tmp = tmp_path_factory.mktemp("nginx")
    with server(env={"CONVLENS_ROOT_PATH": PREFIX + "/"}) as (app_base, _):
        port = free_port()
        app_port = int(app_base.rsplit(":", 1)[1])
        (tmp / "nginx.conf").write_text(
            CONFIG.format(tmp=tmp, port=port, app=app_port, prefix=PREFIX, user=getpass.getuser())
        )
        command = [NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-e", "stderr"]
        proc = subprocess.Popen(
            [*command, "-g", f"daemon off; pid {tmp}/nginx.pid;"], stderr=subprocess.PIPE, text=True
        )
        log, drain = started(proc)
        try:
            assert any("start worker process" in line for line in log), "nginx did not start:\n" + "".join(log)
            yield f"http://127.0.0.1:{port}{PREFIX}"
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            drain.join()
            assert proc.stderr is not None
            proc.stderr.close()


@pytest.fixture
def proxied_page(browser: Browser, proxied: str, browser_errors: BrowserErrors) -> Iterator[Page]:
    """A page in a context of its own; the test fails if any of its requests fails or answers 4xx/5xx."""
    context = patient(browser.new_context())
    browser_errors.watch(context)
    page = context.new_page()
    failed: list[str] = []
    # a request the page itself abandoned (it navigated away, or a newer request replaced it) is not a failure
    page.on(
        "requestfailed",
        lambda r: None if "ERR_ABORTED" in (r.failure or "") else failed.append(f"{r.url} failed: {r.failure}"),
    )

    def check(response: Response) -> None:
        if response.status >= 400:
            failed.append(f"{response.url}: {response.status}")

    page.on("response", check)
    yield page
    page.wait_for_load_state("networkidle")
    context.close()
    assert failed == []


def own_links(page: Page) -> list[str]:
    return page.eval_on_selector_all("a[href]", "links => links.map((a) => a.getAttribute('href'))")


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_works_through_the_proxy(proxied_page: Page, proxied: str, path: str) -> None:
    page = proxied_page
    page.goto(proxied + path)
    page.wait_for_selector("main[data-state=ready]", timeout=READY_MS)
    expect(page.locator(PAGES[path]).first).to_be_attached()
    page.wait_for_load_state("networkidle")
    # "?lang=..." (the language switch) stays on the page it is on, so under the prefix too
    links = [a for a in own_links(page) if not a.startswith(("#", "?", "http://", "https://"))]
    assert links and all(a.startswith(PREFIX + "/") for a in links), links
    switch = page.eval_on_selector_all(".lang-switch a", "links => links.map((a) => a.href)")
    assert len(switch) == 2 and all(PREFIX + "/" in a and "lang=" in a for a in switch), switch
    nav = page.eval_on_selector_all(".site-nav a", "links => links.map((a) => a.href)")
    assert nav == [f"{proxied}{p}" if p != "/" else f"{proxied}/" for p in PAGES], nav


def test_following_the_nav_and_the_models_links_stays_under_the_prefix(proxied_page: Page, proxied: str) -> None:
    page = proxied_page
    page.goto(proxied + "/kernels")
    page.wait_for_selector("main[data-state=ready]")
    page.click(".site-nav a[href$='/model']")
    page.wait_for_selector("main[data-state=ready]")
    assert page.url == f"{proxied}/model"
    page.select_option("#model-select", "lenet")  # the switch opens the page again for that model
    page.wait_for_url(f"{proxied}/model?model=lenet")
    page.wait_for_selector("main[data-state=ready]")
    page.locator("#confusion td.off button").first.click()  # a cell of mistakes: its digits, linked to the explorer
    digit = page.locator("#cell-digits a.digit-link").first
    expect(digit).to_be_attached()
    assert (digit.get_attribute("href") or "").startswith(f"{PREFIX}/?sample=")
    expect(digit.locator("img")).to_have_js_property("complete", True)
    assert digit.locator("img").evaluate("img => img.naturalWidth") > 0  # GET /convlens/api/samples/<id>.png
    digit.click()
    page.wait_for_selector("main[data-state=ready]", timeout=READY_MS)
    assert page.url.startswith(f"{proxied}/?sample=")


def test_the_api_documentation_loads_through_the_proxy(proxied_page: Page, proxied: str) -> None:
    page = proxied_page
    page.goto(proxied + "/docs")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()  # built from /convlens/openapi.json
