"""Every page works under its Content-Security-Policy: Chromium reports no violation while it loads and
renders (the pages are read from the app's route table, so new pages are covered)."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from playwright.sync_api import Page, Route, expect

from app.main import DOCS_URL, create_app
from app.serving.metrics import METRICS_URL
from tests.helpers import LiveServer

INIT = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${where})`);
});
"""


def page_paths() -> list[str]:
    app = create_app()
    docs = {DOCS_URL, app.swagger_ui_oauth2_redirect_url, app.openapi_url, METRICS_URL}
    return sorted(
        r.path
        for r in iter_route_contexts(app.routes)
        if isinstance(r.original_route, APIRoute)
        and "GET" in r.methods
        and not r.include_in_schema
        and r.path not in docs
        and "{" not in r.path
    )


@pytest.mark.browser
@pytest.mark.parametrize("path", page_paths())
def test_page_has_no_csp_violations(page: Page, path: str) -> None:
    page.add_init_script(INIT)
    response = page.goto(path, wait_until="networkidle")
    assert response is not None and response.status == 200
    policy = response.headers.get("content-security-policy", "")
    assert re.search(r"script-src 'self'(;|$)", policy) and re.search(r"style-src 'self'(;|$)", policy)
    # every page marks <main> ready once it has loaded and drawn; then two frames for anything scheduled
    expect(page.locator("main")).to_have_attribute("data-state", "ready")
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    assert page.evaluate("window.__cspViolations") == []


@pytest.mark.browser
def test_the_api_docs_render_with_no_other_origin(page: Page, live_server: LiveServer) -> None:
    """Swagger UI renders the API from the app's own copy: no request leaves the app's origin (any that
    tries is refused and recorded) and the policy blocks nothing it does."""
    elsewhere: list[str] = []

    def only_here(route: Route) -> None:
        if route.request.url.startswith(live_server.base):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_here)
    page.add_init_script(INIT)
    response = page.goto(DOCS_URL, wait_until="networkidle")
    assert response is not None and response.status == 200
    operations = page.locator(".opblock-summary")
    operations.first.wait_for(state="visible")
    assert operations.count() >= 10  # one per API route
    operations.filter(has_text="/api/activations").first.click()  # open one: its form renders too
    page.locator(".opblock-body").first.wait_for(state="visible")
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
    assert elsewhere == []
    assert page.evaluate("window.__cspViolations") == []
