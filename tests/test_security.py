"""Security: headers on every response, CORS off unless configured, static files that cannot escape their
folder, request bodies refused while they stream in, uploads that never touch the disk, and error bodies
without stack traces.

Every list of routes here is read from the running app (its route table and OpenAPI schema), so routes
added later are covered without editing this file.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import sys
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import ClassVar

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import Mount

from app.config import PROJECT_ROOT, Settings
from app.main import DOCS_URL, create_app
from app.serving import security
from harness.multipart import multipart
from harness.server import rss_kib
from tests.helpers import HANG_GUARD_SECONDS, LiveServer, png_bytes

STATIC = PROJECT_ROOT / "static"
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self';"
    " object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# values for path parameters, by name; anything else gets "0"
PATH_VALUES = {"name": "conv1", "layer": "conv1", "id": "0", "c": "0", "channel": "0", "model": "lenet_bn"}
MB = 1024 * 1024


# ---------------------------------------------------------------------------------------------------------
# The app's routes


def fill(path: str) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: PATH_VALUES.get(m.group(1), "0"), path)


def api_routes(app: FastAPI) -> list[RouteContext]:
    """Every API route, included routers flattened (FastAPI keeps them nested in ``app.routes``)."""
    return [r for r in iter_route_contexts(app.routes) if isinstance(r.original_route, APIRoute)]


def get_paths(app: FastAPI) -> list[str]:
    """Every GET route of the app (API, pages, /docs, /openapi.json), path parameters filled in."""
    paths = [fill(r.path) for r in api_routes(app) if "GET" in r.methods]
    paths += [r.path for r in iter_route_contexts(app.routes) if r.path in (app.openapi_url, DOCS_URL)]
    return sorted(set(paths))


def post_paths(app: FastAPI) -> list[str]:
    return sorted({fill(r.path) for r in api_routes(app) if "POST" in r.methods})


def page_paths(client: TestClient) -> list[str]:
    """GET routes that answer HTML (the pages and the API documentation)."""
    pages = []
    for path in get_paths(client.app):
        response = client.get(path)
        if response.headers.get("content-type", "").startswith("text/html"):
            pages.append(path)
    return pages


def static_files() -> list[str]:
    return sorted(p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*") if p.is_file())


def test_the_route_table_is_seen(client: TestClient) -> None:
    """The lists these tests iterate over are not empty, and every API route is in the OpenAPI schema
    (so the schema fuzzing covers it)."""
    app = client.app
    assert "/api/activations" in post_paths(app) and "/api/convolve" in post_paths(app)
    assert "/" in page_paths(client)
    assert any(isinstance(r, Mount) and r.path == "/static" for r in app.routes)
    schema_paths = set(app.openapi()["paths"])
    hidden = [r.path for r in api_routes(app) if r.path.startswith("/api/") and r.path not in schema_paths]
    assert hidden == [], f"API routes missing from the OpenAPI schema: {hidden}"


# ---------------------------------------------------------------------------------------------------------
# Headers


def assert_common_headers(response, what: str) -> None:
    assert response.headers.get("x-content-type-options") == "nosniff", what
    assert response.headers.get("referrer-policy") == "no-referrer", what
    assert response.headers.get("x-convlens-replica") == socket.gethostname(), what  # Settings() names it so


def test_every_get_route_sends_the_common_headers(client: TestClient) -> None:
    paths = get_paths(client.app)
    for path in paths:
        response = client.get(path)
        assert response.status_code < 500, (path, response.text[:300])
        assert_common_headers(response, path)
        if not response.headers.get("content-type", "").startswith("text/html"):
            assert "content-security-policy" not in response.headers, path


def test_pages_send_the_strict_content_security_policy(client: TestClient) -> None:
    docs = {DOCS_URL, client.app.swagger_ui_oauth2_redirect_url}
    pages = [p for p in page_paths(client) if p not in docs]
    assert "/" in pages
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-security-policy"] == PAGE_CSP, path
        assert_common_headers(response, path)


def test_the_api_docs_allow_exactly_their_own_inline_scripts(client: TestClient) -> None:
    """/docs starts Swagger UI with an inline script: its hash, and only it, is allowed."""
    response = client.get(DOCS_URL)
    policy = response.headers["content-security-policy"]
    inline = re.findall(rb"<script>(.*?)</script>", response.content, re.DOTALL)
    assert inline, "the docs page has no inline script any more: drop the hashes"
    hashes = re.findall(r"'sha256-[A-Za-z0-9+/=]+'", policy)
    assert hashes == security.script_hashes(response.content) and len(hashes) == len(inline)
    script_src = next(d for d in policy.split("; ") if d.startswith("script-src "))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    # a changed inline script would not match
    assert security.script_hashes(b"<script>alert(1)</script>")[0] not in policy


def test_the_api_docs_need_no_other_origin(client: TestClient) -> None:
    """Swagger UI is served by the app: every script, stylesheet and icon /docs names is a local path that
    answers, and its policy allows no other origin. (ReDoc is off: its page loads a logo from elsewhere.)"""
    assert client.get("/redoc").status_code == 404
    response = client.get(DOCS_URL)
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "http" not in policy and "//" not in policy and "*" not in policy, policy
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", response.text)
    assert len(urls) >= 2, urls
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        answer = client.get(url)
        assert answer.status_code == 200 and answer.content, url
    assert "validatorUrl" not in response.text or '"validatorUrl": null' in response.text


def test_static_files_send_the_headers_and_script_mime_types(client: TestClient) -> None:
    """With nosniff a browser refuses a module or stylesheet whose Content-Type is wrong."""
    files = static_files()
    assert any(f.endswith(".js") for f in files) and any(f.endswith(".css") for f in files)
    for rel in files:
        response = client.get(f"/static/{rel}")
        assert response.status_code == 200, rel
        assert_common_headers(response, rel)
        ctype = response.headers["content-type"]
        if rel.endswith(".js"):
            assert ctype.startswith(("text/javascript", "application/javascript")), (rel, ctype)
        if rel.endswith(".css"):
            assert ctype.startswith("text/css"), (rel, ctype)


def error_responses_of(client: TestClient) -> list[tuple[str, object]]:
    """One of each error the app gives, from every route that takes a body or a path parameter."""
    out = [
        ("unknown path", client.get("/no/such/page")),
        ("unknown static file", client.get("/static/no-such-file.js")),
        ("wrong method", client.delete("/api/activations")),
        ("unknown layer", client.get("/api/layers/nope/weights")),
        ("bad query", client.get("/api/layers/conv1/weights?dtype=float64")),
        ("unknown model", client.get("/api/model?model=../../etc/passwd")),
        ("bad sample id", client.get("/api/samples/-5.png")),
    ]
    for path in post_paths(client.app):
        out += [
            (f"{path} no body", client.post(path)),
            (f"{path} text body", client.post(path, content=b"x" * 100, headers={"content-type": "text/plain"})),
            (f"{path} broken multipart", client.post(path, content=b"--b\r\nxx", headers={"content-type": CT_B})),
            (
                f"{path} broken json",
                client.post(path, content=b'{"a": [1,', headers={"content-type": "application/json"}),
            ),
            (f"{path} too large", client.post(path, content=b"", headers={"content-length": str(200 * MB)})),
            (f"{path} bad content-length", client.post(path, content=b"", headers={"content-length": "12a"})),
        ]
    return out


CT_B = "multipart/form-data; boundary=b"
TRACE_MARKERS = ("Traceback", 'File "', '.py", line', "site-packages", "/work/", "Error(")


def test_errors_are_json_without_stack_traces_and_carry_the_headers(client: TestClient) -> None:
    responses = error_responses_of(client)
    assert len(responses) > 10
    for what, response in responses:
        if what.endswith("no body") and response.status_code < 300:
            continue  # a POST route that needs no body
        assert 400 <= response.status_code < 500, (what, response.status_code, response.text[:300])
        assert response.headers["content-type"].startswith("application/json"), what
        body = response.json()
        assert isinstance(body.get("detail"), str) and body["detail"], (what, body)
        assert not any(m in response.text for m in TRACE_MARKERS), (what, response.text[:500])
        assert_common_headers(response, what)


def test_a_crash_is_a_bare_500_with_the_headers(settings: Settings) -> None:
    app = create_app(settings)

    def boom() -> None:
        raise RuntimeError(f"secret detail from {__file__}")

    app.add_api_route("/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        response = c.get("/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal server error"}
    assert "secret" not in response.text and "Traceback" not in response.text
    assert_common_headers(response, "500")


# ---------------------------------------------------------------------------------------------------------
# Pages: nothing the Content-Security-Policy would block


class PageScan(HTMLParser):
    """Collects what a strict CSP blocks: inline scripts, inline styles, event handler attributes,
    javascript: URLs and resources from other origins."""

    RESOURCE_ATTRS: ClassVar[dict[str, str]] = {
        "script": "src",
        "link": "href",
        "img": "src",
        "iframe": "src",
        "source": "src",
    }

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.scripts: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...> (inline event handler)")
            if name == "style":
                self.problems.append(f'<{tag} style="{value}"> (inline style attribute)')
            if value and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}={value!r}> (javascript: URL)")
        if tag == "style":
            self.problems.append("<style> element (inline stylesheet)")
        if tag == "script":
            if values.get("src"):
                self.scripts.append(values["src"])
            elif values.get("type") not in ("application/json", "application/ld+json"):
                self._in_inline_script = True
        url = values.get(self.RESOURCE_ATTRS.get(tag, ""))
        if url and re.match(r"^(https?:)?//", url):
            self.problems.append(f"<{tag}> loads {url} from another origin")

    def handle_data(self, data: str) -> None:
        if self._in_inline_script and data.strip():
            self.problems.append(f"inline <script>: {data.strip()[:60]!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_inline_script = False


def test_pages_hold_nothing_the_policy_blocks(client: TestClient) -> None:
    docs = {DOCS_URL, client.app.swagger_ui_oauth2_redirect_url}
    for path in [p for p in page_paths(client) if p not in docs]:
        scan = PageScan()
        scan.feed(client.get(path).text)
        assert scan.problems == [], f"{path}: {scan.problems}"
        assert scan.scripts, f"{path} loads no script"
        for src in scan.scripts:  # every module it loads is served
            assert client.get(src).status_code == 200, (path, src)


JS_BLOCKED = {
    "eval": re.compile(r"\beval\s*\(|\bnew\s+Function\s*\("),
    "style attribute": re.compile(r"""setAttribute\(\s*["']style["']|\bstyle=["'`$\\]"""),
    "inline handler in markup": re.compile(r"""<[a-z][^>]*\son[a-z]+\s*=""", re.IGNORECASE),
    "inline script in markup": re.compile(r"<script", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
    "other origin": re.compile(r"""(?:import|from|fetch\(|import\()\s*["'`](?:https?:)?//"""),
}
CSS_BLOCKED = re.compile(r"""(?:url\(\s*["']?|@import\s+["']?)(?:https?:)?//""", re.IGNORECASE)


def test_scripts_and_stylesheets_need_nothing_the_policy_blocks() -> None:
    """`element.style.x = ...` (CSSOM) is allowed; a style attribute written as markup or through
    setAttribute is not, nor eval, inline handlers, or code, styles and fonts from other origins."""
    problems = []
    for path in sorted(STATIC.rglob("*.js")):
        text = path.read_text()
        problems += [f"{path.relative_to(STATIC)}: {name}" for name, rx in JS_BLOCKED.items() if rx.search(text)]
    for path in sorted(STATIC.rglob("*.css")):
        if CSS_BLOCKED.search(path.read_text()):
            problems.append(f"{path.relative_to(STATIC)}: a url() from another origin")
    assert problems == []


def test_templates_have_no_inline_styles_or_scripts() -> None:
    for path in sorted((PROJECT_ROOT / "templates").rglob("*.html")):
        scan = PageScan()
        scan.feed(re.sub(r"\{[{%#].*?[}%#]\}", "", path.read_text(), flags=re.DOTALL))
        assert scan.problems == [], f"{path.name}: {scan.problems}"


# ---------------------------------------------------------------------------------------------------------
# CORS


def test_cors_is_off_by_default(client: TestClient) -> None:
    assert client.app.state.convlens.settings.cors_origins == ()
    origin = {"origin": "https://elsewhere.example"}
    assert "access-control-allow-origin" not in client.get("/healthz", headers=origin).headers
    preflight = client.options(
        "/api/activations", headers={**origin, "access-control-request-method": "POST"}
    )  # no CORS middleware: nothing answers OPTIONS
    assert preflight.status_code == 405
    assert "access-control-allow-origin" not in preflight.headers


def test_cors_origins_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONVLENS_CORS_ORIGINS", " https://a.example, https://b.example ,")
    assert Settings.from_env().cors_origins == ("https://a.example", "https://b.example")
    monkeypatch.setenv("CONVLENS_CORS_ORIGINS", "")
    assert Settings.from_env().cors_origins == ()


def test_cors_when_configured(settings: Settings) -> None:
    from dataclasses import replace

    app = create_app(replace(settings, cors_origins=("https://a.example",)))
    with TestClient(app, raise_server_exceptions=False) as c:
        allowed, other = {"origin": "https://a.example"}, {"origin": "https://evil.example"}
        response = c.get("/healthz", headers=allowed)
        assert response.headers["access-control-allow-origin"] == "https://a.example"
        assert_common_headers(response, "cors get")
        assert "access-control-allow-origin" not in c.get("/healthz", headers=other).headers
        preflight = c.options(
            "/api/activations",
            headers={
                **allowed,
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://a.example"
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert "access-control-allow-credentials" not in preflight.headers
        refused = c.options("/api/activations", headers={**other, "access-control-request-method": "POST"})
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
        # a real cross-origin upload gets the header too
        body = c.post("/api/activations?layers=probs", data={"sample": "0"}, headers=allowed)
        assert body.status_code == 200 and body.headers["access-control-allow-origin"] == "https://a.example"


# ---------------------------------------------------------------------------------------------------------
# Static files cannot escape their folder

SECRET = (PROJECT_ROOT / "app" / "main.py").read_bytes()
TRAVERSALS = [
    "/static/../app/main.py",
    "/static/../../../../../../etc/passwd",
    "/static/js/../../app/main.py",
    "/static/%2e%2e/app/main.py",
    "/static/%2E%2E/app/main.py",
    "/static/..%2fapp%2fmain.py",
    "/static/%2e%2e%2fapp%2fmain.py",
    "/static/%252e%252e/app/main.py",
    "/static/..%5capp%5cmain.py",
    "/static/..\\app\\main.py",
    "/static/%c0%ae%c0%ae/app/main.py",
    "/static//work/main/app/main.py",
    "/static/%2fetc%2fpasswd",
    "/static/.%2e/app/main.py",
    "/static/js/%2e%2e/%2e%2e/app/main.py",
    "/static/..;/app/main.py",
    "/static/%00../app/main.py",
]


async def _asgi_get(app: FastAPI, raw: str) -> tuple[int, bytes]:
    """Send ``raw`` to the app exactly as a server would (percent-decoded ``path``, untouched ``raw_path``),
    bypassing the HTTP client's own normalisation of dot segments."""
    from urllib.parse import unquote

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": unquote(raw),
        "raw_path": raw.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }
    status, body = 0, b""

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        nonlocal status, body
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body += message.get("body", b"")

    await app(scope, receive, send)
    return status, body


@pytest.mark.parametrize("path", TRAVERSALS)
def test_static_traversal_is_a_404(client: TestClient, path: str) -> None:
    status, body = client.portal.call(_asgi_get, client.app, path)  # the app's own event loop
    assert status == 404, (path, status)
    assert SECRET not in body and b"root:" not in body
    response = client.get(path)  # and through the HTTP client (which normalises some of them itself)
    assert response.status_code == 404, path
    assert SECRET not in response.content and b"root:" not in response.content


def test_sample_and_model_names_never_become_paths(client: TestClient) -> None:
    with recording_file_access() as seen:
        for response in (
            client.get("/api/model?model=../../app/main"),
            client.get("/api/model?model=%2Fetc%2Fpasswd"),
            client.get("/api/layers/..%2F..%2Fapp/weights"),
            client.get("/api/samples/..%2F1.png"),
            client.post("/api/activations?model=../models/lenet_bn", data={"sample": "0"}),
        ):
            assert response.status_code in (404, 422), response.text
    assert [a for a in seen if "passwd" in str(a) or "app/main" in str(a) or ".." in str(a)] == []


# ---------------------------------------------------------------------------------------------------------
# Uploads never touch the disk

_recording: list[tuple] | None = None
_hook_installed = False
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _audit(event: str, args: tuple) -> None:
    if _recording is None:
        return
    if event == "open":
        path, mode, flags = (*args, None, None)[:3]
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & WRITE_FLAGS
        )
        if writes and not str(path).endswith((".pyc", ".pyc.tmp")) and "__pycache__" not in str(path):
            _recording.append(("write", path))
        else:
            _recording.append(("read", path))
    elif event.startswith(("tempfile.", "os.mkdir", "os.rename", "os.remove", "shutil.")):
        _recording.append((event, args[0] if args else None))


@contextlib.contextmanager
def recording_file_access() -> Iterator[list[tuple]]:
    """Every file opened (and temp file or directory made) while the block runs, in any thread."""
    global _recording, _hook_installed
    if not _hook_installed:  # audit hooks cannot be removed: one, idle unless recording
        sys.addaudithook(_audit)
        _hook_installed = True
    _recording = []
    try:
        yield _recording
    finally:
        _recording = None


def test_the_recorder_sees_a_temporary_file() -> None:
    """The check below could not fail if the recorder missed how Starlette spools uploads to disk."""
    import tempfile

    with recording_file_access() as seen, tempfile.SpooledTemporaryFile(max_size=1024) as spool:
        spool.write(b"x" * 4096)  # rolls over to a real file
    assert any(kind in ("write", "tempfile.mkstemp") for kind, _ in seen), seen


def test_large_uploads_to_every_route_stay_in_memory(client: TestClient) -> None:
    """A 4 MB PNG (Starlette's parser would spool anything over 1 MB to a temporary file) posted to every
    POST route: whatever each answers, nothing is written to disk."""
    noise = np.random.default_rng(1).integers(0, 256, (1200, 1200, 3), dtype=np.uint8)
    big = png_bytes(noise, compress_level=0)
    assert 3 * MB < len(big) < 5 * MB
    paths = post_paths(client.app)
    with recording_file_access() as seen:
        for path in paths:
            for field in ("file", "files"):
                body, ctype = multipart({field: ("noise.png", big, "image/png")})
                response = client.post(path, content=body, headers={"content-type": ctype})
                assert response.status_code < 500, (path, response.text[:300])
    writes = [entry for entry in seen if entry[0] != "read"]
    assert writes == [], writes


# ---------------------------------------------------------------------------------------------------------
# Bodies over the limit are refused while they stream in


def _chunks(total: int, size: int) -> Iterator[bytes]:
    block = b"\x00" * size
    for _ in range(total // size):
        yield block


async def _asgi_post(app: FastAPI, path: str, headers: list[tuple[bytes, bytes]], total: int, chunk: int) -> dict:
    """POST ``total`` bytes in ``chunk``-byte messages; how many the app pulled, and its answer. Once the
    answer is complete, ``receive`` reports the client gone (as a server does), so nothing can hang."""
    source = _chunks(total, chunk)
    pulled, status, body = 0, 0, b""
    done = False

    async def receive() -> dict:
        nonlocal pulled
        if done:
            return {"type": "http.disconnect"}
        piece = next(source, None)
        if piece is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled += len(piece)
        return {"type": "http.request", "body": piece, "more_body": True}

    async def send(message: dict) -> None:
        nonlocal status, body, done
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body += message.get("body", b"")
            done = not message.get("more_body", False)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), *headers],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
        "state": {},
    }
    await app(scope, receive, send)
    return {"pulled": pulled, "status": status, "body": body}


BIG = 50 * MB
CHUNK = 256 * 1024
MULTIPART = (b"content-type", b"multipart/form-data; boundary=convlens")


@pytest.mark.parametrize(
    "declared",
    [None, "1000", str(BIG)],
    ids=["no-content-length", "false-small-content-length", "true-content-length"],
)
def test_50_mb_bodies_are_refused_while_streaming(client: TestClient, declared: str | None) -> None:
    """In process, where nothing but the app enforces a Content-Length: every POST route answers 413 and
    pulls at most its limit (plus one chunk) of the 50 MB, and none of it with a true Content-Length."""
    settings = client.app.state.convlens.settings
    headers = [MULTIPART] + ([(b"content-length", declared.encode())] if declared else [])
    for path in post_paths(client.app):
        result = client.portal.call(_asgi_post, client.app, path, headers, BIG, CHUNK)
        assert result["status"] == 413, (path, result["status"], result["body"][:200])
        assert b"over the limit" in result["body"], (path, result["body"][:200])
        assert result["pulled"] <= max(settings.max_body_bytes, settings.max_upload_bytes + 64 * 1024) + CHUNK
        if declared == str(BIG):
            assert result["pulled"] == 0, path


# ---------------------------------------------------------------------------------------------------------
# Against a real server (uvicorn): raw paths and streamed bodies over a socket


@pytest.fixture(scope="module")
def live(live_server: LiveServer) -> tuple[str, int, int]:
    """The session's live server (tests/conftest.py): host, port and pid."""
    return "127.0.0.1", live_server.port, live_server.process.pid


def _raw_request(host: str, port: int, head: bytes) -> bytes:
    """Send ``head`` (with ``Connection: close``) and read until the server closes the connection."""
    with socket.create_connection((host, port), timeout=HANG_GUARD_SECONDS) as s:
        s.sendall(head)
        data = b""
        with contextlib.suppress(ConnectionError):
            while chunk := s.recv(65536):
                data += chunk
        return data


def test_live_static_traversal(live: tuple[str, int, int]) -> None:
    host, port, _ = live
    for path in TRAVERSALS:
        if any(ord(c) < 33 for c in path) or "\\" in path:
            continue  # not a valid request target on the wire
        answer = _raw_request(host, port, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        status = answer.split(b" ", 2)[1] if answer else b""
        assert status in (b"404", b"400"), (path, answer[:200])
        assert SECRET not in answer and b"root:" not in answer, path


def _stream(host: str, port: int, head: bytes, total: int, chunked: bool) -> dict:
    """Send ``head`` then ``total`` bytes from a thread while reading the answer: how much had been sent
    when the answer's head arrived, and in all, and whether the server cut the upload short. The socket
    timeout only guards against a server that never answers."""
    sock = socket.create_connection((host, port), timeout=HANG_GUARD_SECONDS)
    sent = 0
    stop = threading.Event()
    outcome: dict = {"cut": False}

    def sender() -> None:
        nonlocal sent
        piece = b"\x00" * CHUNK
        framed = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
        try:
            sock.sendall(head)
            while sent < total and not stop.is_set():
                sock.sendall(framed)
                sent += len(piece)
            if chunked and not stop.is_set():
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            outcome["cut"] = True

    thread = threading.Thread(target=sender, daemon=True)
    thread.start()
    answer = b""
    try:
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        outcome["sent_at_answer"] = sent
        head, _, body = answer.partition(b"\r\n\r\n")
        length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        with contextlib.suppress(OSError):  # the server may close (or reset) once the answer is out
            while length and len(body) < int(length.group(1)) and (chunk := sock.recv(65536)):
                body += chunk
        answer = head + b"\r\n\r\n" + body
    finally:
        stop.set()
        sock.close()
        thread.join()
    outcome["answer"] = answer
    outcome["status"] = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    outcome["total_sent"] = sent
    return outcome


def _head(path: str, port: int, extra: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: multipart/form-data; boundary=convlens\r\n{extra}\r\n"
    ).encode()


def test_live_50_mb_bodies_are_refused_early(live: tuple[str, int, int]) -> None:
    """Through uvicorn: a chunked 50 MB upload (no Content-Length) and one declaring 50 MB get a 413
    long before the upload could finish (under half of it sent when the answer arrives), and the server's
    memory does not take the body in."""
    host, port, pid = live
    _raw_request(host, port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    rss_before = rss_kib(pid)
    for path in ("/api/activations", "/api/convolve"):
        chunked = _stream(host, port, _head(path, port, "Transfer-Encoding: chunked\r\n"), BIG, chunked=True)
        assert chunked["status"] == 413, (path, chunked["answer"][:300])
        assert chunked["sent_at_answer"] < 25 * MB, chunked
        assert chunked["total_sent"] < BIG, "the server let the whole 50 MB in"
        declared = _stream(host, port, _head(path, port, f"Content-Length: {BIG}\r\n"), BIG, chunked=False)
        assert declared["status"] == 413, (path, declared["answer"][:300])
        assert declared["sent_at_answer"] < 25 * MB, declared
        assert b"over the limit" in declared["answer"]
    growth_mib = (rss_kib(pid) - rss_before) / 1024
    assert growth_mib < 30, f"the server grew by {growth_mib:.0f} MiB while refusing 50 MB bodies"
    assert b"200 OK" in _raw_request(host, port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")


def test_live_false_small_content_length(live: tuple[str, int, int]) -> None:
    """A body declared as 1000 bytes followed by 50 MB: the app sees only the 1000 bytes (a malformed
    form), and uvicorn parses the rest as a next request, answers 400 "Invalid HTTP request received"
    (usually before the app's own 400 could be sent) and closes the connection, so the 50 MB are never
    taken in."""
    host, port, pid = live
    rss_before = rss_kib(pid)
    outcome = _stream(host, port, _head("/api/activations", port, "Content-Length: 1000\r\n"), BIG, chunked=False)
    assert outcome["status"] == 400, outcome["answer"][:300]
    assert b'"detail"' in outcome["answer"] or b"Invalid HTTP request" in outcome["answer"]
    # Whether the client's socket is cut before all 50 MB leave it depends on how fast uvicorn reads the
    # garbage "next request" before closing (a race on a busy machine); what matters is that the server
    # answered at once and took none of it in.
    assert (rss_kib(pid) - rss_before) / 1024 < 30
