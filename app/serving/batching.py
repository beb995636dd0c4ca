"""Micro-batching: concurrent requests share one forward pass.

Leader/follower, with no thread of its own: a request that finds nobody running becomes the leader and
runs every pending image (its own included) as one batch; requests arriving meanwhile wait, and when the
leader finishes it hands the lead to one of them. A lone request therefore runs at once, with no
hand-off, and under load each batch holds whatever arrived during the previous one.

``BatchThread`` does the same for coroutines in the event loop, with a thread of its own (see there).
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass(eq=False)
class _Item:
    x: torch.Tensor  # (1, ...)
    done: threading.Event = field(default_factory=threading.Event)
    lead: bool = False
    result: Any = None
    error: BaseException | None = None


class MicroBatcher:
    """``submit(x)`` returns ``run(batch)[i]`` for ``x``, where ``run`` maps an (N, ...) batch to a list
    of N per-image results. ``run`` must give every image the same result whatever else is in its
    batch (see ``LeNet.steps``' ``per_image_linear``)."""

    def __init__(self, run: Callable[[torch.Tensor], list[Any]], max_batch: int = 32) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._run = run
        self._max = max_batch
        self._lock = threading.Lock()
        self._pending: list[_Item] = []
        self._busy = False
        self.batches = 0  # statistics, for the benchmark write-up
        self.images = 0

    def submit(self, x: torch.Tensor) -> Any:
        item = _Item(x)
        with self._lock:
            self._pending.append(item)
            lead = not self._busy
            self._busy = True
        if not lead:
            item.done.wait()
            if not item.lead:
                return self._unwrap(item)
        self._lead_once()
        return self._unwrap(item)

    @staticmethod
    def _unwrap(item: _Item) -> Any:
        if item.error is not None:
            raise item.error
        return item.result

    def _lead_once(self) -> None:
        """Run one batch (it holds the leader's own item, which was pending), then pass the lead on."""
        with self._lock:
            batch, self._pending = self._pending[: self._max], self._pending[self._max :]
        try:
            results = self._run(torch.cat([item.x for item in batch]))
            for item, result in zip(batch, results, strict=True):
                item.result = result
        except BaseException as exc:  # every waiter gets the failure, nobody hangs
            for item in batch:
                item.error = exc
        with self._lock:
            self.batches += 1
            self.images += len(batch)
            successor = self._pending[0] if self._pending else None
            if successor is None:
                self._busy = False
            else:
                successor.lead = True
        for item in batch:
            item.done.set()
        if successor is not None:
            successor.done.set()


@dataclass(eq=False)
class _Waiting:
    x: torch.Tensor  # (1, ...)
    future: asyncio.Future
    finish: Callable[[Any], Any] | None = None


class BatchThread:
    """Micro-batching for the event loop: ``await submit(x, finish)`` returns ``finish(run(batch)[i])`` for
    ``x`` (``run(batch)[i]`` without ``finish``).

    One thread of its own takes everything submitted so far (at most ``max_batch``) as one batch, runs it,
    finishes each image's result and hands them back to the loop with one call per batch. The loop never
    blocks on a forward pass, and the pass itself (torch releases the GIL inside its operators) runs on
    another core while the loop reads, prepares and answers other requests. ``finish`` is the rest of a
    request's work on its result (encoding its answer): done here, it keeps the large buffers it makes off
    the loop's core, whose caches then stay warm for the loop's own work. The thread starts with the first
    ``submit`` and ends with ``close()``; ``run`` has the same contract as ``MicroBatcher``'s, and is given
    ``join`` of the images (``torch.cat``: one (N, ...) batch; ``list`` leaves the joining to ``run``, which
    spares the thread a call that releases the GIL, see app.serving.table_pass)."""

    def __init__(
        self,
        run: Callable[[Any], list[Any]],
        max_batch: int = 32,
        name: str = "batch",
        join: Callable[[list[torch.Tensor]], Any] = torch.cat,
    ) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._run = run
        self._join = join
        self._max = max_batch
        self._name = name
        self._queue: queue.SimpleQueue[_Waiting | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        self._closed = False
        self.batches = 0  # statistics, for the benchmark write-up
        self.images = 0

    async def submit(self, x: torch.Tensor, finish: Callable[[Any], Any] | None = None) -> Any:
        item = _Waiting(x, asyncio.get_running_loop().create_future(), finish)
        self._started()
        self._queue.put(item)
        return await item.future

    def close(self) -> None:
        """Stop the thread once it has answered what was submitted before; later submissions fail."""
        with self._start:
            self._closed = True
            if self._thread is not None:
                self._queue.put(None)
                self._thread.join()
                self._thread = None

    def _started(self) -> None:
        if self._thread is None:
            with self._start:
                if self._closed:
                    raise RuntimeError(f"{self._name}: the batch thread has been closed")
                if self._thread is None:
                    self._thread = threading.Thread(target=self._serve, name=f"convlens-{self._name}", daemon=True)
                    self._thread.start()

    def _serve(self) -> None:
        while (first := self._queue.get()) is not None:
            batch, stop = [first], False
            while len(batch) < self._max:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._answer(batch)
            if stop:
                return

    def _answer(self, batch: list[_Waiting]) -> None:
        try:
            results = self._run(self._join([item.x for item in batch]))
            answered = [_finished(item, result) for item, result in zip(batch, results, strict=True)]
        except BaseException as exc:  # every waiter gets the failure, nobody hangs
            answered = [(item, None, exc) for item in batch]
        self.batches += 1
        self.images += len(batch)
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Waiting, Any, BaseException | None]]] = {}
        for entry in answered:
            by_loop.setdefault(entry[0].future.get_loop(), []).append(entry)
        for loop, entries in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a loop closed meanwhile has nobody left to answer
                loop.call_soon_threadsafe(_settle, entries)


def _finished(item: _Waiting, result: Any) -> tuple[_Waiting, Any, BaseException | None]:
    """The item's result finished, or the failure of its ``finish`` (its own: the others' stand)."""
    if item.finish is None:
        return item, result, None
    try:
        return item, item.finish(result), None
    except Exception as exc:
        return item, None, exc


def _settle(entries: list[tuple[_Waiting, Any, BaseException | None]]) -> None:
    """In the loop: give each waiter its result (or its failure), unless it stopped waiting."""
    for item, result, error in entries:
        if item.future.done():
            continue
        if error is not None:
            item.future.set_exception(error)
        else:
            item.future.set_result(result)
