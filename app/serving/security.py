"""Security headers (and the replica's name) on every response, and CORS when configured.

``SecurityHeaders`` is plain ASGI (no ``BaseHTTPMiddleware``: it does not buffer or re-stream bodies).
Every response gets ``X-Content-Type-Options: nosniff`` and a ``Referrer-Policy``; HTML responses get a
strict Content-Security-Policy: scripts, styles and everything else only from this origin, no inline
scripts or ``style="..."`` attributes (pages style elements through classes, or from JavaScript through
``element.style``, which CSP allows), images also from ``blob:``/``data:`` URLs (canvases and uploads).

The API documentation (/docs and its OAuth2 redirect page) is the one exception: Swagger UI is served by
the app itself (the fastapi-offline package's copy: no CDN, it works offline), but the page starts it
with an inline script and it styles elements inline, so these pages get a policy that allows the exact
inline scripts they send (by their SHA-256 hash, computed from the page itself) and inline styles, and
still nothing from any other origin.

Every response also names the replica that answered (``X-ConvLens-Replica``: the host name, or
``$CONVLENS_REPLICA``), so that behind a load balancer one can see which one did.

``install`` puts the middleware outside Starlette's ``ServerErrorMiddleware`` so that even a 500 carries
the headers.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.config import Settings
from app.serving.root_path import route_path

PAGE_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' blob: data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}
DOCS_POLICY = {
    **PAGE_POLICY,
    "script-src": "'self'",  # plus the hashes of the page's own inline scripts
    "style-src": "'self' 'unsafe-inline'",
}
COMMON_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def policy_text(policy: dict[str, str]) -> str:
    return "; ".join(f"{name} {value}" for name, value in policy.items())


def script_hashes(html: bytes) -> list[str]:
    """CSP source expressions (``'sha256-...'``) for every inline ``<script>`` of a page."""
    return [
        f"'sha256-{base64.b64encode(hashlib.sha256(body).digest()).decode()}'" for body in INLINE_SCRIPT.findall(html)
    ]


def docs_policy(html: bytes) -> str:
    policy = dict(DOCS_POLICY)
    policy["script-src"] = " ".join([policy["script-src"], *script_hashes(html)])
    return policy_text(policy)


def _is_html(headers: MutableHeaders) -> bool:
    return headers.get("content-type", "").lower().startswith("text/html")


class SecurityHeaders:
    """Pure ASGI middleware adding the headers above (and ``replica``'s name when given); ``docs_paths``
    get the documentation policy."""

    def __init__(self, app: ASGIApp, docs_paths: frozenset[str] = frozenset(), replica: str = "") -> None:
        self.app = app
        self.docs_paths = docs_paths
        self.page_policy = policy_text(PAGE_POLICY)
        self.common = {**COMMON_HEADERS, **({"x-convlens-replica": replica} if replica else {})}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if route_path(scope) in self.docs_paths:
            await self._docs(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.common.items():
                    headers.setdefault(name, value)
                if _is_html(headers):
                    headers.setdefault("content-security-policy", self.page_policy)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The documentation pages are small: hold the body to hash its inline scripts."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def hold(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            headers = MutableHeaders(scope=start)
            for name, value in self.common.items():
                headers.setdefault(name, value)
            if _is_html(headers):
                headers.setdefault("content-security-policy", docs_policy(body))
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, hold)


def install(app: FastAPI, settings: Settings, docs_paths: Iterable[str] = ()) -> None:
    """CORS (only when ``settings.cors_origins`` is set) and the headers, outermost; ``docs_paths`` are
    the API documentation pages."""
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type"],
            allow_credentials=False,
            max_age=600,
        )
    docs = frozenset(docs_paths)
    build = app.build_middleware_stack

    def build_with_headers() -> ASGIApp:
        # Outside ServerErrorMiddleware (the outermost layer Starlette builds), so 500s carry them too.
        return SecurityHeaders(build(), docs, settings.replica)

    app.build_middleware_stack = build_with_headers  # type: ignore[method-assign]
