"""Micro-batching: concurrent requests share a forward pass, and every image still gets bit-for-bit the
result it gets alone. Which requests share a batch is arranged with events (a batch held open until the
others have provably queued behind it), never by sleeping."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from app.serving.batching import MicroBatcher
from tests.helpers import png_bytes, wait, watch_queue


def test_an_image_gets_the_same_bits_alone_and_anywhere_in_any_batch(served, test_set) -> None:
    x = torch.from_numpy(test_set.images[:16].astype(np.float32) / 255).unsqueeze(1)  # (16, 1, 28, 28)
    alone = [served.forward(x[i : i + 1]) for i in range(16)]
    rng = np.random.default_rng(0)
    for size in (2, 3, 5, 8, 16):
        order = rng.permutation(16)[:size]
        batch = served.forward(x[order])
        for pos, i in enumerate(order):
            for name, t in batch.items():
                assert torch.equal(t[pos], alone[i][name][0]), (size, pos, name)


def test_infer_equals_forward(served, test_set) -> None:
    x = torch.from_numpy(test_set.images[5:6].astype(np.float32) / 255).unsqueeze(1)
    got, want = served.infer(x), served.forward(x)
    assert list(got) == list(want) and all(torch.equal(got[k], want[k]) for k in want)


def square(batch: torch.Tensor) -> list[float]:
    return [float(v) ** 2 for v in batch.flatten()]


def test_requests_arriving_during_a_batch_share_the_next_ones(monkeypatch) -> None:
    """The first request runs alone and is held inside its batch until 23 more have queued behind it;
    they then run in full batches of 8, each answered with its own result."""
    queued = watch_queue(monkeypatch)
    running, release = threading.Event(), threading.Event()
    sizes = []

    def run(batch: torch.Tensor) -> list[float]:
        sizes.append(len(batch))
        if len(sizes) == 1:
            running.set()
            wait(release, "the release of the first batch")
        return square(batch)

    batcher = MicroBatcher(run, max_batch=8)
    with ThreadPoolExecutor(24) as pool:
        futures = [pool.submit(batcher.submit, torch.tensor([0.0]))]
        wait(running, "the first batch")
        futures += [pool.submit(batcher.submit, torch.tensor([float(i)])) for i in range(1, 24)]
        queued.wait_for(23)
        release.set()
        results = [f.result() for f in futures]
    assert results == [float(i) ** 2 for i in range(24)]
    assert sizes == [1, 8, 8, 7]
    assert (batcher.batches, batcher.images) == (4, 24)


def test_concurrent_submissions_are_answered_correctly() -> None:
    """Free-running threads, however they happen to interleave: every caller gets its own answer."""
    batcher = MicroBatcher(square, max_batch=8)
    with ThreadPoolExecutor(24) as pool:
        results = list(pool.map(lambda i: batcher.submit(torch.tensor([float(i)])), range(48)))
    assert results == [float(i) ** 2 for i in range(48)]
    assert batcher.images == 48
    assert 48 / 8 <= batcher.batches <= 48


def test_a_lone_request_runs_at_once_in_a_batch_of_one() -> None:
    sizes = []
    batcher = MicroBatcher(lambda b: sizes.append(len(b)) or [0] * len(b))
    for _ in range(3):
        batcher.submit(torch.zeros(1))
    assert sizes == [1, 1, 1]


def test_a_failing_batch_fails_every_request_in_it_and_the_batcher_recovers(monkeypatch) -> None:
    """A held first batch, then six requests queued in a known order (batches of 3): the batch holding
    the -1 fails for each of its three callers, and the batches before and after it succeed."""
    queued = watch_queue(monkeypatch)
    running, release = threading.Event(), threading.Event()
    batches = []

    def run(batch: torch.Tensor) -> list[int]:
        batches.append(batch.flatten().tolist())
        if len(batches) == 1:
            running.set()
            wait(release, "the release of the first batch")
        if float(batch.min()) < 0:
            raise ValueError("bad batch")
        return [1] * len(batch)

    batcher = MicroBatcher(run, max_batch=3)

    def go(v: float):
        try:
            return batcher.submit(torch.tensor([v]))
        except ValueError as exc:
            return str(exc)

    with ThreadPoolExecutor(7) as pool:
        futures = [pool.submit(go, 1.0)]
        wait(running, "the first batch")
        for n, v in enumerate([1.0, -1.0, 1.0, 1.0, 1.0, 1.0], start=1):
            futures.append(pool.submit(go, v))
            queued.wait_for(n)  # one at a time, so the queue's order is known
        release.set()
        results = [f.result() for f in futures]
    assert batches == [[1.0], [1.0, -1.0, 1.0], [1.0, 1.0, 1.0]]
    assert results == [1, "bad batch", "bad batch", "bad batch", 1, 1, 1]
    assert batcher.submit(torch.tensor([2.0])) == 1 and batcher.batches == 4


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        MicroBatcher(square, max_batch=0)


def test_concurrent_api_requests_are_bit_identical_to_sequential_ones(client, test_set) -> None:
    files = [png_bytes(test_set.images[i]) for i in range(12)]
    sequential = [client.post("/api/activations", files={"file": ("d.png", f)}).content for f in files]
    with ThreadPoolExecutor(12) as pool:
        concurrent = list(
            pool.map(lambda f: client.post("/api/activations", files={"file": ("d.png", f)}).content, files * 3)
        )
    assert concurrent == sequential * 3
