"""Micro-batching: concurrent requests share one forward pass, in a thread of the model's own.

``BatchThread`` takes everything submitted while its previous batch ran as one batch. Coroutines in the event
loop (the draw pad's requests) await ``submit``; worker threads (uploads, test digits) block in
``submit_blocking``. Either way each image gets what it would get alone: ``run`` must give every image the
same result whatever else is in its batch (see ``Network.intermediates``' ``per_image_linear``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(eq=False)
class _Waiting:
    x: torch.Tensor  # (1, ...)
    future: asyncio.Future | concurrent.futures.Future
    finish: Callable[[Any], Any] | None = None


class BatchThread:
    """Micro-batching: ``await submit(x, finish)`` (a coroutine) or ``submit_blocking(x, finish)`` (a thread)
    returns ``finish(run(batch)[i])`` for ``x`` (``run(batch)[i]`` without ``finish``), where ``run`` maps a
    batch of N images to a list of N per-image results.

    One thread of its own takes everything submitted so far (at most ``max_batch``) as one batch, runs it,
    finishes each image's result and hands them back: to an event loop with one call per batch, to a waiting
    thread directly. The loop never blocks on a forward pass, and the pass itself (torch releases the GIL
    inside its operators) runs on another core while the loop reads, prepares and answers other requests.
    ``finish`` is the rest of a request's work on its result (encoding its answer): done here, it keeps the
    large buffers it makes off the loop's core, whose caches then stay warm for the loop's own work. The
    thread starts with the first submission and ends with ``close()``; ``run`` is given ``join`` of the
    images (``torch.cat``: one (N, ...) batch; ``list`` leaves the joining to ``run``, which spares the thread
    a call that releases the GIL, see app.serving.table_pass)."""

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
        future = asyncio.get_running_loop().create_future()
        self._enqueue(_Waiting(x, future, finish))
        return await future

    def submit_blocking(self, x: torch.Tensor, finish: Callable[[Any], Any] | None = None) -> Any:
        """``submit`` for a thread outside the event loop (a route's worker thread): waits for the batch."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._enqueue(_Waiting(x, future, finish))
        return future.result()

    def _enqueue(self, item: _Waiting) -> None:
        self._started()
        self._queue.put(item)

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
            future = entry[0].future
            if isinstance(future, asyncio.Future):
                by_loop.setdefault(future.get_loop(), []).append(entry)
            else:  # a thread waits on it: answered from here
                _settle([entry])
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
    """Give each waiter its result (or its failure), unless it stopped waiting: in the loop for a coroutine's
    future, in the batch thread for a thread's."""
    for item, result, error in entries:
        if item.future.done():
            continue
        if error is not None:
            item.future.set_exception(error)
        else:
            item.future.set_result(result)
