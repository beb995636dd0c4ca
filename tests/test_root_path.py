"""Serving under a path prefix behind a reverse proxy that strips it (CONVLENS_ROOT_PATH, `convlens serve
--root-path`; app/serving/root_path.py), without a proxy: the addresses the app writes. The same through a real
nginx, in Chromium: tests/browser/test_root_path.py."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from app.config import Settings, root_path
from app.main import create_app

PREFIX = "/convlens"
PAGES = ["/", "/kernels", "/model", "/batchnorm", "/training", "/model?model=lenet"]


class Addresses(HTMLParser):
    """Every href and src of a page, and <html data-root>."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.root: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.root = values.get("data-root")
        self.found += [v for k, v in attrs if k in ("href", "src") and v is not None]


def addresses(html: str) -> Addresses:
    parser = Addresses()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def prefixed(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(replace(settings, root_path=PREFIX)), raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize(
    ("given", "prefix"),
    [("", ""), ("/", ""), ("/convlens", "/convlens"), ("/convlens/", "/convlens"), ("convlens", "/convlens"),
     ("/a/b-c_d.e~", "/a/b-c_d.e~")],
)  # fmt: skip
def test_the_setting_is_a_path_prefix(given: str, prefix: str) -> None:
    assert root_path(given) == prefix


@pytest.mark.parametrize("given", ["/a b", "/a?b", "/a#b", '/a"b', "/a<b", "/a//b", "http://x/a"])
def test_anything_else_is_refused(given: str) -> None:
    with pytest.raises(ValueError, match="CONVLENS_ROOT_PATH"):
        root_path(given)


def test_the_environment_sets_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVLENS_ROOT_PATH", "/convlens/")
    assert Settings.from_env().root_path == "/convlens"
    monkeypatch.setenv("CONVLENS_ROOT_PATH", "/bad path")
    with pytest.raises(ValueError, match="CONVLENS_ROOT_PATH"):
        Settings.from_env()


def test_serve_refuses_a_bad_root_path() -> None:
    r = subprocess.run([sys.executable, "-m", "app", "serve", "--root-path", "/a b"], capture_output=True, text=True)
    assert r.returncode == 2 and "--root-path" in r.stderr


@pytest.mark.parametrize("page", PAGES)
def test_every_address_a_page_writes_starts_with_the_prefix(prefixed: TestClient, page: str) -> None:
    response = prefixed.get(page)  # the proxy stripped the prefix
    assert response.status_code == 200
    found = addresses(response.text)
    assert found.root == PREFIX
    own = [a for a in found.found if not a.startswith(("#", "?"))]  # "?lang=...": the same page, so under the prefix
    assert own and all(a.startswith(PREFIX + "/") for a in own), own
    for address in own:
        if "/static/" in address:  # and they are there, once the proxy strips the prefix again
            assert prefixed.get(address.removeprefix(PREFIX)).status_code == 200, address
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_without_a_prefix_the_addresses_are_the_sites_own(client: TestClient) -> None:
    found = addresses(client.get("/model").text)
    assert found.root == "" and "/static/css/app.css" in found.found and "/docs" in found.found


def test_the_api_documentation_under_the_prefix(prefixed: TestClient) -> None:
    docs = prefixed.get("/docs")
    assert docs.status_code == 200
    assert f"{PREFIX}/openapi.json" in docs.text and f"{PREFIX}/static-docs/swagger-ui-bundle.js" in docs.text
    # still the documentation's own policy (its inline script allowed by hash), found under the prefix
    assert re.search(r"script-src 'self' 'sha256-", docs.headers["content-security-policy"])
    schema = prefixed.get("/openapi.json").json()
    assert schema["servers"][0]["url"] == PREFIX  # "Try it out" calls the API under the prefix
    assert prefixed.get("/static-docs/swagger-ui-bundle.js").status_code == 200


def test_the_photos_addresses_in_the_api_carry_the_prefix(prefixed: TestClient, client: TestClient) -> None:
    photos = prefixed.get("/api/conv-layer/options").json()["photos"]
    assert photos and all(p["url"].startswith(f"{PREFIX}/static/img/") for p in photos)
    assert all(prefixed.get(p["url"].removeprefix(PREFIX)).status_code == 200 for p in photos)
    plain = client.get("/api/conv-layer/options").json()["photos"]
    assert [p["url"] for p in plain] == [p["url"].removeprefix(PREFIX) for p in photos]


def test_a_servers_own_root_path_is_kept(settings: Settings) -> None:
    """uvicorn --root-path (the scope already has one): the app's setting does not add another."""
    app = create_app(replace(settings, root_path=PREFIX))
    with TestClient(app, root_path="/elsewhere") as other:
        found = addresses(other.get("/kernels").text)
    assert found.root == "/elsewhere" and "/elsewhere/static/css/app.css" in found.found
