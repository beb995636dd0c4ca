"""The HTTP server's limits (app/serving/protocol.py) against a real uvicorn on a socket: header size and
count, the header timeout, the connection cap and answers nobody reads, each just under and just over;
and the app's body timeout. A tiny ASGI app stands in for ConvLens: the limits are the protocol's."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace

import pytest
import uvicorn
from fastapi import HTTPException
from starlette.requests import Request

from app import cli
from app.config import Settings
from app.routes.deps import _read_limited
from app.serving.protocol import GuardedHttpTools, connection_cap
from tests.helpers import HANG_GUARD_SECONDS, in_own_loop, wait

BIG_ANSWER = 48 * 1024 * 1024


async def tiny_app(scope: dict, receive, send) -> None:  # type: ignore[no-untyped-def]
    if scope["type"] != "http":
        return
    body = b"x" * BIG_ANSWER if scope["path"] == "/big" else b"ok"
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]}
    )
    await send({"type": "http.response.body", "body": body})


class LiveServer(uvicorn.Server):
    """uvicorn that says when it listens, and when a connection has closed (``closed`` is notified), so
    tests wait for those events instead of polling."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = threading.Event()
        self.closed = threading.Condition()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.listening.set()

    def open_connections(self) -> int:
        return len(self.server_state.connections)

    def wait_for_connections(self, at_most: int, what: str) -> None:
        """Block until at most ``at_most`` connections are open (each close notifies ``closed``)."""
        with self.closed:
            assert self.closed.wait_for(lambda: self.open_connections() <= at_most, HANG_GUARD_SECONDS), what


@contextlib.contextmanager
def live(evict_after: float = 1e9, **limits: object) -> Iterator[tuple[int, LiveServer]]:
    """uvicorn with ``GuardedHttpTools`` and ``limits`` on a free port, in a thread; connections waiting
    on their clients may be closed for room after ``evict_after`` seconds (by default: never)."""
    settings = replace(Settings(), **limits)
    holder: list[LiveServer] = []

    def connection_lost(self: GuardedHttpTools, exc: Exception | None) -> None:
        GuardedHttpTools.connection_lost(self, exc)
        with holder[0].closed:
            holder[0].closed.notify_all()

    attributes = {"configured": settings, "evict_after": evict_after, "connection_lost": connection_lost}
    protocol = type("Limited", (GuardedHttpTools,), attributes)
    config = uvicorn.Config(tiny_app, host="127.0.0.1", port=0, http=protocol, lifespan="off", log_level="critical")
    server = LiveServer(config)
    holder.append(server)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait(server.listening, "the server listening")
    try:
        yield server.servers[0].sockets[0].getsockname()[1], server
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=20)


def answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = bytearray()
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(1 << 20):
            data += chunk
    return bytes(data)


def status(data: bytes) -> int:
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0


def request(path: str = "/", headers: dict[str, str] | None = None, close: bool = True) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: t"] + [f"{k}: {v}" for k, v in (headers or {}).items()]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def head_size(path: str, headers: dict[str, str]) -> int:
    """What the limit counts: the URL, and each header's name and value plus 4 bytes."""
    every = {"Host": "t", **headers, "Connection": "close"}
    return len(path) + sum(len(k) + len(v) + 4 for k, v in every.items())


def test_header_bytes_just_under_and_just_over() -> None:
    limit = 4096
    with live(max_header_bytes=limit) as (port, _):
        filler = {"X-Fill": ""}
        filler["X-Fill"] = "a" * (limit - head_size("/", filler))
        assert head_size("/", filler) == limit
        with connect(port) as s:
            s.sendall(request("/", filler))
            assert status(answer(s)) == 200
        filler["X-Fill"] += "a"
        with connect(port) as s:
            s.sendall(request("/", filler))
            data = answer(s)
            assert status(data) == 431 and b"CONVLENS_MAX_HEADER_BYTES" in data


def test_a_large_body_in_one_read_is_not_taken_for_headers() -> None:
    with live(max_header_bytes=1024) as (port, _), connect(port) as s:
        body = b"x" * 100_000
        s.sendall(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n" + body)
        assert status(answer(s)) == 200


def test_header_count_just_under_and_just_over() -> None:
    with live(max_headers=10) as (port, _):
        eight = {f"X-{i}": "1" for i in range(8)}  # with Host and Connection: 10
        with connect(port) as s:
            s.sendall(request("/", eight))
            assert status(answer(s)) == 200
        with connect(port) as s:
            s.sendall(request("/", {**eight, "X-9": "1"}))
            data = answer(s)
            assert status(data) == 431 and b"more than 10 header lines" in data


def test_an_endless_header_is_cut_off_early() -> None:
    """A header that never ends (the 64 MiB probe) is refused after at most one read past the limit."""
    with live(max_header_bytes=4096) as (port, _), connect(port) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nX-Endless: ")
        sent = 0
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            while sent < 64 * 1024 * 1024:
                s.sendall(b"a" * 65536)
                sent += 65536
        data = answer(s)
        assert status(data) == 431, data[:200]
        assert sent < 16 * 1024 * 1024  # the server closed long before the 64 MiB


def test_the_headers_must_arrive_within_the_header_timeout() -> None:
    with live(header_timeout=5.0) as (port, _), connect(port) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n")
        s.sendall(b"Connection: close\r\n\r\n")  # the rest, well within 5 s
        assert status(answer(s)) == 200
    with live(header_timeout=0.2) as (port, _), connect(port) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n")  # and nothing more
        data = answer(s)  # the server closes the connection after 0.2 s
        assert status(data) == 408 and b"CONVLENS_HEADER_TIMEOUT_SECONDS" in data


def test_a_silent_connection_and_a_slow_next_request_are_closed() -> None:
    with live(header_timeout=0.2) as (port, _):
        with connect(port) as s:
            assert status(answer(s)) == 408  # connected, sent nothing
        with connect(port) as s:
            s.sendall(request("/", close=False))
            first = s.recv(65536)
            assert status(first) == 200
            s.sendall(b"GET / HTTP/1.1\r\n")  # the next request never finishes its head
            assert b"408 Request Timeout" in answer(s)


def test_the_connection_cap_just_under_and_just_over() -> None:
    with live(max_connections=3) as (port, server):
        held = [connect(port) for _ in range(2)]
        for s in held:  # served: the server has accepted them and keeps them open
            s.sendall(request("/", close=False))
            assert status(s.recv(65536)) == 200
        with connect(port) as third:  # the third is still within the cap
            third.sendall(request("/"))
            assert status(answer(third)) == 200
        server.wait_for_connections(2, "the third's close never reached the server")
        held.append(connect(port))
        held[-1].sendall(request("/", close=False))
        assert status(held[-1].recv(65536)) == 200
        with connect(port) as fourth:
            data = answer(fourth)  # turned away at once, before it sends anything
            assert status(data) == 503 and b"CONVLENS_MAX_CONNECTIONS" in data
        for s in held:
            s.close()


def test_at_the_cap_a_connection_that_sends_nothing_makes_room() -> None:
    with live(max_connections=3, evict_after=0.0) as (port, _):
        slow = [connect(port) for _ in range(3)]
        for s in slow:
            s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n")  # and nothing more
        with connect(port) as newcomer:
            newcomer.sendall(request("/"))
            assert status(answer(newcomer)) == 200
        evicted = [s for s in slow if b"408" in answer_now(s)]
        assert len(evicted) >= 1
        for s in slow:
            s.close()


def answer_now(sock: socket.socket) -> bytes:
    sock.settimeout(0.5)
    with contextlib.suppress(TimeoutError, ConnectionResetError):
        return sock.recv(65536)
    return b""


def test_an_unread_answer_is_aborted_after_the_send_timeout() -> None:
    with live(send_timeout=5.0) as (port, _), connect(port) as reader:
        reader.sendall(request("/big"))
        assert len(answer(reader)) > BIG_ANSWER  # a client that reads gets all of it
    with live(send_timeout=0.2) as (port, server):
        idle = connect(port)
        idle.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        idle.sendall(request("/big"))  # and never reads
        server.wait_for_connections(0, "the unread answer was never aborted")  # the server gives up and closes
        idle.close()


def test_the_connection_cap_stays_below_the_open_file_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import resource

    monkeypatch.setattr(resource, "getrlimit", lambda _: (1024, 4096))
    assert connection_cap(512) == 512
    assert connection_cap(5000) == 1024 - 64


def test_convlens_serve_runs_the_guarded_protocol(monkeypatch: pytest.MonkeyPatch) -> None:
    args = cli.build_parser().parse_args(["serve", "--max-headers", "7", "--header-timeout", "2.5"])
    for _, _, variable, _ in cli.SERVER_LIMITS:
        monkeypatch.delenv(variable, raising=False)
    options = cli.server_options(args)
    assert options == {"http": "app.serving.protocol:GuardedHttpTools"}
    limits = Settings.from_env()  # what the protocol and the app read in every worker
    assert (limits.max_headers, limits.header_timeout) == (7, 2.5)
    bad = cli.build_parser()
    with pytest.raises(SystemExit):
        bad.parse_args(["serve", "--header-timeout", "0"])


def test_a_body_that_does_not_arrive_in_time_is_a_408() -> None:
    async def scenario() -> None:
        async def stalled() -> dict:
            await asyncio.Event().wait()
            return {}

        async def prompt() -> dict:
            return {"type": "http.request", "body": b"abc", "more_body": False}

        scope = {"type": "http", "method": "POST", "headers": [], "path": "/"}
        assert await _read_limited(Request(scope, prompt), 100, timeout=5.0) == b"abc"
        with pytest.raises(HTTPException) as info:
            await _read_limited(Request(scope, stalled), 100, timeout=0.05)
        assert info.value.status_code == 408 and "CONVLENS_BODY_TIMEOUT_SECONDS" in str(info.value.detail)

    in_own_loop(scenario)
