"""Micro-batching: concurrent requests share one forward pass.

Leader/follower, with no thread of its own: a request that finds nobody running becomes the leader and
runs every pending image (its own included) as one batch; requests arriving meanwhile wait, and when the
leader finishes it hands the lead to one of them. A lone request therefore runs at once, with no
hand-off, and under load each batch holds whatever arrived during the previous one.
"""

from __future__ import annotations

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
