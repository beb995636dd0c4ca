"""Admission control: what one request may cost, and what all of them together may.

A route declares its cost with ``@admitted(estimate)``, under its ``@router.post(...)``::

    @router.post("/api/thing", ...)
    @admitted(costs.thing)
    def thing(request: Request, body: UploadBody, served: Served, size: int = 3) -> Response:
        ...

The route stays a plain ``def`` with a ``request: Request`` parameter. ``estimate`` is called with the
route's own arguments, by name (it declares those it needs, ``**_`` for the rest), and returns a
``costs.Cost``: peak memory and CPU seconds, estimated from sizes alone, without decoding any image
(``app.serving.costs`` has the building blocks; ``app.routes.inputs.parse_form`` caches the parsed form
on the request, so the estimate and the route parse it once). It runs in a worker thread (in the event
loop itself when the request's body is at most ``INLINE_ESTIMATE_BYTES``: reading the sizes of a small body
takes microseconds, less than the hop to a thread) and may raise the route's usual 4xx errors. Then, in
the event loop (no thread is held while a request waits):

1. over the per-request budget: refused before any work, 413 for memory and 422 for CPU, the detail
   naming the limit, its setting and the estimate's largest parts;
2. light (under ``light_request_memory`` and ``light_request_cpu``): runs in the ordinary thread pool
   once its memory fits in the light budget; or, when the route has an ``Inline`` version that takes this
   request and the estimate is at most ``INLINE_CPU`` (a draw-pad update: about a millisecond of Python),
   that version runs as a coroutine in the event loop itself, its forward pass in the model's batch thread
   (``ServedModel.infer_row``). A hop to a worker thread costs such a request more than its own work:
   every thread that holds the GIL for a moment makes the others wait for it (docs/benchmarks.md,
   "Students served");
3. heavy: waits first come, first served for a heavy slot and for its memory in the heavy budget, in a
   queue of at most ``queue`` requests for at most ``queue_wait`` seconds (beyond either: 503 with
   ``Retry-After``, sent after a pause of ``BUSY_PAUSE``, so that clients which ignore Retry-After
   cannot keep the server busy refusing them). Admitted, it runs in the heavy pool's own threads
   (``heavy_slots`` of them, at CPU priority ``heavy_nice``), so expensive work never fills the thread
   pool the light requests use.

Long work calls ``checkpoint()`` between the items of a batch or the chunks of a loop: it raises
``Stopped`` (503) once the client has closed its connection, the request has run ``deadline`` seconds or
its thread has used twice the per-request CPU budget, and does nothing outside an admitted request. The
memory stays reserved until the answer has been sent.

Request bodies have their own budget (``body_memory``): ``reserve_body`` takes the declared length (or
the route's limit) before the body is read, and refuses with 503 at once when it is spent.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import inspect
import math
import os
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from app.config import Settings
from app.errors import StatusError
from app.serving.costs import FIXED, Cost, mib

R = TypeVar("R", bound=Callable[..., Any])
# light requests waiting for memory (slow readers of many answers, a classroom drawing at once: 200 students
# keep about 180 waiting, docs/benchmarks.md "Students served"); a waiter holds only its body, which the body
# budget bounds
LIGHT_QUEUE = 512
INLINE_ESTIMATE_BYTES = 64 * 1024  # a body this small is estimated in the event loop, without a thread hop
INLINE_CPU = 0.005  # seconds: at most this much estimated work may run in the event loop (an ``Inline`` route)
BUSY_PAUSE = 1.0  # seconds a request refused as busy waits before its 503 goes out (see ``_busy``)


class Refused(StatusError):
    """A request refused by the admission control; ``headers`` go out with the answer (Retry-After)."""

    def __init__(self, message: str, status: int, retry_after: int | None = None) -> None:
        super().__init__(message, status)
        self.headers = {"Retry-After": str(retry_after)} if retry_after else None


class Stopped(Refused):
    """Work stopped at a ``checkpoint()``: its deadline passed or its client left (503)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 503, retry_after=1)


@dataclass(frozen=True)
class Budgets:
    request_memory: int
    request_cpu: float
    heavy_memory: int
    light_memory: int
    body_memory: int
    light_request_memory: int
    light_request_cpu: float
    heavy_slots: int
    heavy_nice: int
    queue: int
    queue_wait: float
    deadline: float

    @classmethod
    def from_settings(cls, s: Settings) -> Budgets:
        return cls(**{name: getattr(s, name) for name in cls.__dataclass_fields__})


# --- the running request's deadline and connection ---------------------------------------------------


@dataclass
class Job:
    """An admitted heavy request, as its thread sees it: it stops once its client has gone, it has run
    ``seconds`` (wall clock) or its thread has used ``cpu`` seconds of CPU (twice the per-request budget:
    an estimate is an upper bound, so a request past that is not what it was admitted as)."""

    seconds: float
    cpu: float
    gone: threading.Event = field(default_factory=threading.Event)
    deadline: float = 0.0  # time.monotonic() when it stops
    cpu_start: float = 0.0  # time.thread_time() of its thread when it started

    def start(self) -> None:
        """Called in the heavy thread as the work begins."""
        self.deadline = time.monotonic() + self.seconds
        self.cpu_start = time.thread_time()

    def check(self) -> None:
        if self.gone.is_set():
            raise Stopped("Stopped because the client closed the connection")
        if time.monotonic() > self.deadline:
            raise Stopped(f"stopped after the deadline of {self.seconds:g} s (CONVLENS_DEADLINE_SECONDS)")
        used = time.thread_time() - self.cpu_start
        if used > self.cpu:
            raise Stopped(
                f"stopped after {used:.1f} s of CPU, twice the per-request budget (CONVLENS_REQUEST_CPU_SECONDS)"
            )


_JOB: contextvars.ContextVar[Job | None] = contextvars.ContextVar("convlens_job", default=None)


def checkpoint() -> None:
    """Stop (``Stopped``, 503) if the admitted request running here is past its deadline or its client
    has gone; nothing outside an admitted request. Call it between batch items and loop chunks."""
    job = _JOB.get()
    if job is not None:
        job.check()


# --- a budget of bytes (and slots), handed out first come, first served ----------------------------------


@dataclass(eq=False)
class _Waiter:
    memory: int
    slots: int
    granted: asyncio.Future[None]


class Gate:
    """``memory`` bytes and ``slots`` (None: unlimited) shared by the requests in flight; requests that do
    not fit wait in a FIFO of at most ``queue``. Used from the event loop only (no locks)."""

    def __init__(self, name: str, memory: int, slots: int | None = None, queue: int = 0) -> None:
        self.name = name
        self.memory, self.slots, self.queue = memory, slots, queue
        self.free_memory, self.free_slots = memory, slots
        self.waiters: deque[_Waiter] = deque()

    def _fits(self, memory: int, slots: int) -> bool:
        return memory <= self.free_memory and (self.free_slots is None or slots <= self.free_slots)

    def _take(self, memory: int, slots: int) -> None:
        self.free_memory -= memory
        if self.free_slots is not None:
            self.free_slots -= slots

    def leave(self, memory: int, slots: int = 0) -> None:
        self.free_memory += memory
        if self.free_slots is not None:
            self.free_slots += slots
        self._wake()

    def _wake(self) -> None:
        while self.waiters:
            head = self.waiters[0]
            if head.granted.done():  # gave up
                self.waiters.popleft()
                continue
            if not self._fits(head.memory, head.slots):
                return
            self.waiters.popleft()
            self._take(head.memory, head.slots)
            head.granted.set_result(None)

    async def enter(self, memory: int, slots: int, wait: float, gone: asyncio.Event | None, retry_after: int) -> None:
        """Take ``memory`` and ``slots``, waiting up to ``wait`` seconds in the queue; ``Refused`` (503)
        when the queue is full or the wait too long, ``Stopped`` when ``gone`` (if given) is set meanwhile."""
        if not self.waiters and self._fits(memory, slots):
            self._take(memory, slots)
            return
        if len(self.waiters) >= self.queue:
            raise Refused(
                f"The server is busy: {len(self.waiters)} {self.name} requests are already waiting (the queue holds"
                f" {self.queue}); try again in {retry_after} s",
                503,
                retry_after,
            )
        waiter = _Waiter(memory, slots, asyncio.get_running_loop().create_future())
        self.waiters.append(waiter)
        try:
            if gone is None:  # nothing to watch: no task to make (a light request waits here under load)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await asyncio.shield(waiter.granted)
            else:
                watch: asyncio.Future[Any] = asyncio.ensure_future(gone.wait())
                try:
                    await asyncio.wait([waiter.granted, watch], timeout=wait, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    watch.cancel()
        except BaseException:  # cancelled
            self._abandon(waiter)
            raise
        left = gone is not None and gone.is_set()
        if waiter.granted.done() and not left:
            return
        self._abandon(waiter)
        if left:
            raise Stopped("Stopped because the client closed the connection while waiting")
        raise Refused(
            f"The server is busy: waited {wait:g} s for the {self.name} budget (CONVLENS_QUEUE_WAIT_SECONDS); try"
            f" again in {retry_after} s",
            503,
            retry_after,
        )

    def _abandon(self, waiter: _Waiter) -> None:
        """A waiter that gave up: out of the queue, or, if it was let in meanwhile, its share back."""
        if waiter.granted.done() and not waiter.granted.cancelled():
            self.leave(waiter.memory, waiter.slots)
        else:
            waiter.granted.cancel()
            self._wake()  # the next in line may fit now


# --- the admission control ---------------------------------------------------------------------------------


def _lower_priority(nice: int) -> None:
    """Run the calling thread at ``nice`` (Linux: per thread); lowering a priority needs no privilege."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)


class Admission:
    """The budgets of one server process, their gates and the heavy pool's threads."""

    def __init__(self, budgets: Budgets) -> None:
        self.budgets = b = budgets
        self.heavy = Gate("heavy", b.heavy_memory, b.heavy_slots, b.queue)
        self.light = Gate("light", b.light_memory, None, LIGHT_QUEUE)
        self.bodies = Gate("request body", b.body_memory)
        self.pool = ThreadPoolExecutor(
            b.heavy_slots, "convlens-heavy", initializer=_lower_priority, initargs=(b.heavy_nice,)
        )
        self.seconds = 1.0  # running average of a heavy request's time, for Retry-After
        self.counts = {"light": 0, "inline": 0, "heavy": 0, "refused": 0, "busy": 0, "stopped": 0}
        self.last: Cost | None = None  # the latest estimate (the benchmarks and tests read it)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    def is_light(self, cost: Cost) -> bool:
        b = self.budgets
        return cost.memory <= min(b.light_request_memory, b.light_memory) and cost.cpu <= b.light_request_cpu

    def check(self, cost: Cost) -> None:
        """Refuse a request over the per-request budget: 413 (memory) or 422 (CPU)."""
        b = self.budgets
        if cost.memory > b.request_memory:
            self.counts["refused"] += 1
            raise Refused(
                f"too large: this request would need about {mib(cost.memory)} of memory; the limit per request is"
                f" {mib(b.request_memory)} (CONVLENS_REQUEST_MEMORY_MIB). Estimate: {cost.describe()}",
                413,
            )
        if cost.memory > b.heavy_memory and not self.is_light(cost):  # it could never be let in
            self.counts["refused"] += 1
            raise Refused(
                f"too large: this request would need about {mib(cost.memory)} of memory, more than all heavy requests"
                f" together may use ({mib(b.heavy_memory)}, CONVLENS_HEAVY_MEMORY_MIB). Estimate: {cost.describe()}",
                413,
            )
        if cost.cpu > b.request_cpu:
            self.counts["refused"] += 1
            raise Refused(
                f"too much work: this request would take about {cost.cpu:.1f} s of CPU; the limit per request is"
                f" {b.request_cpu:g} s (CONVLENS_REQUEST_CPU_SECONDS). Estimate: {cost.describe()}",
                422,
            )

    def retry_after(self) -> int:
        """Seconds until a queued request could expect a slot, at least 1."""
        ahead = len(self.heavy.waiters) + self.budgets.heavy_slots
        return max(1, min(60, math.ceil(self.seconds * ahead / self.budgets.heavy_slots)))

    async def run(
        self,
        cost: Cost,
        request: Request,
        work: Callable[[], Any],
        inline: Callable[[], Awaitable[Any]] | None = None,
    ) -> Any:
        """Check, admit and run ``work`` (the route, its arguments bound), or ``inline`` (the same answer
        as a coroutine) when the estimate is small enough for the event loop; the answer keeps the memory
        reserved until it has been sent."""
        self.last = cost
        self.check(cost)
        if self.is_light(cost):
            await self.light.enter(cost.memory, 0, self.budgets.queue_wait, None, 1)
            self.counts["light"] += 1
            if inline is not None and cost.cpu <= INLINE_CPU:
                self.counts["inline"] += 1
                return await self._held(self.light, cost.memory, inline())
            return await self._held(self.light, cost.memory, run_in_threadpool(work))
        gone = asyncio.Event()
        watcher = asyncio.ensure_future(_watch_disconnect(request, gone))
        try:
            try:
                await self.heavy.enter(cost.memory, 1, self.budgets.queue_wait, gone, self.retry_after())
            except Stopped:
                self.counts["stopped"] += 1
                raise
            except Refused:
                self.counts["busy"] += 1
                await _busy(gone)
                raise
            self.counts["heavy"] += 1
            return await self._held(self.heavy, cost.memory, self._heavy(work, gone), slot=True)
        finally:
            watcher.cancel()

    async def _heavy(self, work: Callable[[], Any], gone: asyncio.Event) -> Any:
        job = Job(self.budgets.deadline, 2 * self.budgets.request_cpu)
        relay = asyncio.ensure_future(_relay(gone, job.gone))
        context = contextvars.copy_context()
        context.run(_JOB.set, job)

        def started() -> Any:
            job.start()
            job.check()  # the client may have gone while it waited for a thread
            return work()

        start = time.monotonic()
        try:
            return await asyncio.get_running_loop().run_in_executor(self.pool, context.run, started)
        except Stopped:
            self.counts["stopped"] += 1
            raise
        finally:
            job.gone.set()  # if this coroutine was cancelled, the thread stops at its next checkpoint
            relay.cancel()
            self.seconds = 0.8 * self.seconds + 0.2 * (time.monotonic() - start)

    async def _held(self, gate: Gate, memory: int, work: Any, slot: bool = False) -> Any:
        """Await ``work``; give the slot back when it is done and the memory once its answer is sent."""
        try:
            result = await work
        except BaseException:
            gate.leave(memory, 1 if slot else 0)
            raise
        if slot:
            gate.leave(0, 1)
        if isinstance(result, Response):
            return HeldResponse(result, lambda: gate.leave(memory))
        gate.leave(memory)
        return result

    @contextlib.asynccontextmanager
    async def reserve_body(self, size: int) -> AsyncIterator[None]:
        """Hold ``size`` bytes of the body budget while a body is read and used; 503 at once when spent."""
        try:
            await self.bodies.enter(size, 0, 0.0, None, 1)
        except Refused as exc:
            self.counts["busy"] += 1
            await _busy(asyncio.Event())  # nothing ends the pause early
            raise Refused(
                f"The server is busy: it is already holding"
                f" {mib(self.budgets.body_memory - self.bodies.free_memory)} of request bodies"
                " (CONVLENS_BODY_MEMORY_MIB); try again in 1 s",
                503,
                1,
            ) from exc
        try:
            yield
        finally:
            self.bodies.leave(size)


async def _busy(gone: asyncio.Event) -> None:
    """Hold a busy refusal back for ``BUSY_PAUSE`` seconds (less if the client leaves): a client that
    ignores Retry-After and asks again at once then costs one refusal a second per connection, instead of
    keeping the server busy refusing it (measured in docs/benchmarks.md, "Isolation")."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(gone.wait(), BUSY_PAUSE)


async def _watch_disconnect(request: Request, gone: asyncio.Event) -> None:
    """Set ``gone`` when the client closes the connection (the body has been read by then)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return


async def _relay(source: asyncio.Event, target: threading.Event) -> None:
    await source.wait()
    target.set()


class HeldResponse(Response):
    """A route's answer that calls ``release`` once it has been sent (or the sending failed)."""

    def __init__(self, inner: Response, release: Callable[[], None]) -> None:
        self.inner, self.release = inner, release
        self.status_code = inner.status_code
        self.raw_headers = inner.raw_headers  # the same list: headers added later reach the answer
        self.background = inner.background

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.inner.status_code, self.inner.background = self.status_code, self.background
        try:
            await self.inner(scope, receive, send)
        finally:
            self.release()


@dataclass(frozen=True)
class Inline:
    """A route's answer as a coroutine, for the requests ``takes`` (called with the route's arguments):
    ``run`` (called with them too) must give exactly the answer and the errors the route gives."""

    takes: Callable[..., bool]
    run: Callable[..., Awaitable[Response]]


def admitted(estimate: Callable[..., Cost], inline: Inline | None = None) -> Callable[[R], R]:
    """Declare a route's cost, and optionally its ``Inline`` version (see the module docstring)."""
    wanted = inspect.signature(estimate).parameters
    takes_all = any(p.kind is p.VAR_KEYWORD for p in wanted.values())

    def wrap(route: R) -> R:
        if inspect.iscoroutinefunction(route) or "request" not in inspect.signature(route).parameters:
            raise TypeError(f"{route.__name__}: an admitted route is a plain def with a `request: Request` parameter")

        @functools.wraps(route)
        async def endpoint(**kwargs: Any) -> Any:
            request: Request = kwargs["request"]
            given = kwargs if takes_all else {k: v for k, v in kwargs.items() if k in wanted}
            body = kwargs.get("body")
            small = isinstance(body, bytes) and len(body) <= INLINE_ESTIMATE_BYTES
            if small:
                estimated = estimate(**given)
            else:
                estimated = await run_in_threadpool(functools.partial(estimate, **given))
            cost = Cost.of("request", FIXED, 0.0).then(estimated)
            admission: Admission = request.app.state.admission
            coroutine = functools.partial(inline.run, **kwargs) if small and inline and inline.takes(**kwargs) else None
            return await admission.run(cost, request, functools.partial(route, **kwargs), coroutine)

        endpoint.estimate = estimate  # type: ignore[attr-defined]
        return endpoint  # type: ignore[return-value]

    return wrap
