"""The HTTP server's own limits: what uvicorn leaves open to slow or oversized clients, closed in a
subclass of its httptools protocol that ``convlens serve`` runs.

What uvicorn 0.54 offers by itself: ``limit_concurrency`` answers 503 once that many connections or tasks
are open, but only counts a connection when its request's headers are complete, so clients that never
finish their headers still hold their sockets; ``timeout_keep_alive`` closes connections that are idle
*between* requests, nothing bounds how long a request's line and headers may take, and nothing notices a
client that never reads its answer; its h11 implementation caps the head at
``h11_max_incomplete_event_size`` (16 KiB by default), its httptools implementation (the default with
``uvicorn[standard]``) has no limit on header size or count at all.

``GuardedHttpTools`` adds, per connection (the limits come from the ``CONVLENS_*`` settings):

- ``max_connections`` per worker (capped below the open-file limit). A new connection beyond it first
  makes room by closing the connection that has waited longest (more than ``EVICT_AFTER`` seconds) for
  its client's next byte in the middle of a request (its head or its body) or between two requests;
  only when every connection is busy being served is the newcomer answered 503 and closed. Slow clients
  can neither exhaust the file descriptors nor lock /healthz out;
- ``header_timeout``: the request line and headers must arrive within it, counted from the connection's
  first byte (or the first byte of the next request on a kept-alive connection); else 408 and close;
- ``max_header_bytes`` (the URL plus every header's name and value, 4 bytes each for ": " and the line end)
  and ``max_headers``: a head over either is answered 431 and the connection closed, at most one read
  (64 KiB) after the limit was passed, so a 64 MiB header is never taken in;
- ``send_timeout``: an answer that makes no progress for twice that long (its client reads nothing)
  aborts the connection, and the request's reserved memory is released.

The request body's own timeout is the app's (``app.routes.deps``: 408). The same limits, and the ones a
single process cannot enforce (per-client connection and request rates), belong in the load balancer in
front: deploy/nginx/convlens.conf.
"""

from __future__ import annotations

import asyncio
import functools
import json
import resource
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.config import Settings

FD_RESERVE = 64  # file descriptors kept free for the app itself (models, static files, logs)
EVICT_AFTER = 1.0  # seconds without a byte from its client after which a connection may be closed for room
LINE_SLACK = 1024  # bytes of request line and line ends allowed on top of max_header_bytes in raw reads


@functools.cache
def settings() -> Settings:
    return Settings.from_env()


def connection_cap(wanted: int) -> int:
    """``wanted``, lowered to stay ``FD_RESERVE`` below the soft limit of open files."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - FD_RESERVE))


def plain_response(status: int, reason: str, detail: str, retry_after: int | None = None) -> bytes:
    """A complete HTTP/1.1 answer with a JSON ``detail`` that closes the connection."""
    body = json.dumps({"detail": detail}).encode()
    head = [
        f"HTTP/1.1 {status} {reason}",
        "content-type: application/json",
        f"content-length: {len(body)}",
        "connection: close",
        *([f"retry-after: {retry_after}"] if retry_after else []),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class GuardedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits of the module docstring, read from the environment
    (``configured``, when a subclass sets it, instead)."""

    configured: Settings | None = None
    evict_after = EVICT_AFTER

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = self.configured or settings()
        self.max_connections = connection_cap(self.limits.max_connections)
        self.turned_away = False
        self.reading_head = True
        self.reading_body = False
        self.heads = 0  # request heads completed on this connection
        self.last_read = self.loop.time()
        self.head_raw = 0  # bytes of reads that ended with the head still incomplete
        self.head_exact = 0  # URL and complete headers
        self.header_count = 0
        self.refusal: bytes | None = None
        self.head_timer: asyncio.TimerHandle | None = None
        self.send_timer: asyncio.TimerHandle | None = None
        self.unsent, self.stalled = 0, False

    # --- connections ---------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if len(self.connections) >= self.max_connections and not self._evict_one():
            self.transport, self.turned_away = transport, True
            detail = f"too many open connections (CONVLENS_MAX_CONNECTIONS: {self.max_connections}); try again"
            transport.write(plain_response(503, "Service Unavailable", detail, retry_after=1))
            transport.close()
            return
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self.head_timer, self.send_timer):
            if timer is not None:
                timer.cancel()
        if not self.turned_away:
            super().connection_lost(exc)

    def answering(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def waiting_for_client(self) -> bool:
        """In a request's head or body, or idle between requests: its client owes the next byte."""
        return self.reading_body or (self.reading_head and not self.answering())

    def _evict_one(self) -> bool:
        """Close the connection that has waited longest, over ``evict_after`` seconds, for its client;
        False when there is none."""
        now = self.loop.time()
        idle = [
            c
            for c in self.connections
            if isinstance(c, GuardedHttpTools) and c.waiting_for_client() and now - c.last_read >= c.evict_after
        ]
        if not idle:
            return False
        oldest = min(idle, key=lambda c: c.last_read)
        oldest._refuse(408, "Request Timeout", "closed to make room for another connection: this one sent nothing")
        self.connections.discard(oldest)
        return True

    def _refuse(self, status: int, reason: str, detail: str) -> None:
        if not self.transport.is_closing():
            self.transport.write(plain_response(status, reason, detail))
            self.transport.close()

    # --- the request line and headers ----------------------------------------------------------------

    def _arm_head_timer(self) -> None:
        self.head_timer = self.loop.call_later(self.limits.header_timeout, self._head_too_slow)

    def _head_too_slow(self) -> None:
        self.head_timer = None
        if self.reading_head and self.answering():  # a pipelined head while an answer is going out
            self._arm_head_timer()
            return
        if self.reading_head:
            timeout = self.limits.header_timeout
            detail = (
                f"the request line and headers did not arrive within {timeout:g} s (CONVLENS_HEADER_TIMEOUT_SECONDS)"
            )
            self._refuse(408, "Request Timeout", detail)

    def _too_large(self, what: str) -> None:
        self.refusal = plain_response(431, "Request Header Fields Too Large", what)
        raise ValueError(what)  # stops httptools; uvicorn then calls send_400_response

    def data_received(self, data: bytes) -> None:
        self.last_read = self.loop.time()
        counting, heads = self.reading_head, self.heads
        if counting and self.head_timer is None:
            self._arm_head_timer()
        super().data_received(data)
        # a read that ended with the same head still incomplete held only head bytes
        if counting and self.reading_head and self.heads == heads and not self.transport.is_closing():
            self.head_raw += len(data)
            if self.head_raw > self.limits.max_header_bytes + LINE_SLACK:
                limit = self.limits.max_header_bytes
                self._refuse(
                    431,
                    "Request Header Fields Too Large",
                    f"the request headers are over {limit} bytes (CONVLENS_MAX_HEADER_BYTES)",
                )

    def send_400_response(self, msg: str) -> None:
        if self.refusal is None:
            super().send_400_response(msg)
            return
        self.transport.write(self.refusal)
        self.transport.close()

    def on_url(self, url: bytes) -> None:
        self.head_exact += len(url)
        if self.head_exact > self.limits.max_header_bytes:
            self._too_large(
                f"the URL and headers are over {self.limits.max_header_bytes} bytes (CONVLENS_MAX_HEADER_BYTES)"
            )
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_count += 1
        self.head_exact += len(name) + len(value) + 4
        if self.header_count > self.limits.max_headers:
            self._too_large(f"more than {self.limits.max_headers} header lines (CONVLENS_MAX_HEADERS)")
        if self.head_exact > self.limits.max_header_bytes:
            self._too_large(
                f"the URL and headers are over {self.limits.max_header_bytes} bytes (CONVLENS_MAX_HEADER_BYTES)"
            )
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self.reading_head, self.reading_body = False, True
        self.heads += 1
        self.head_raw = self.head_exact = self.header_count = 0
        if self.head_timer is not None:
            self.head_timer.cancel()
            self.head_timer = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.reading_head, self.reading_body = (
            True,
            False,
        )  # the next request's head may begin; its timer starts with its first byte

    # --- answers the client does not read ------------------------------------------------------------

    def pause_writing(self) -> None:
        super().pause_writing()
        self.unsent, self.stalled = self.transport.get_write_buffer_size(), False
        self.send_timer = self.loop.call_later(self.limits.send_timeout, self._check_progress)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self.send_timer is not None:
            self.send_timer.cancel()
            self.send_timer = None

    def _check_progress(self) -> None:
        """Abort when two checks in a row (``send_timeout`` apart) saw no byte leave the buffer; one is not
        enough, because a stalled event loop cannot have sent anything either."""
        unsent = self.transport.get_write_buffer_size()
        if unsent >= self.unsent and self.stalled:
            self.send_timer = None
            self.transport.abort()
            return
        self.stalled = unsent >= self.unsent
        self.unsent = unsent
        self.send_timer = self.loop.call_later(self.limits.send_timeout, self._check_progress)
