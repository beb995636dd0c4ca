"""Every page works under its Content-Security-Policy: Chromium reports no violation while it loads and
renders (the pages are read from the app's route table, so new pages are covered)."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from playwright.sync_api import Page, expect

from app.main import create_app

INIT = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__cspViolations.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${where})`);
});
"""


def page_paths() -> list[str]:
    app = create_app()
    docs = {app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url, app.openapi_url}
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
