"""Micro-batching: concurrent requests share a forward pass, and every image still gets bit-for-bit the
result it gets alone."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from app.batching import MicroBatcher
from tests.helpers import png_bytes


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


def slow_square(batch: torch.Tensor) -> list[float]:
    time.sleep(0.02)
    return [float(v) ** 2 for v in batch.flatten()]


def test_concurrent_submissions_are_batched_and_answered_correctly() -> None:
    batcher = MicroBatcher(slow_square, max_batch=8)
    with ThreadPoolExecutor(24) as pool:
        results = list(pool.map(lambda i: batcher.submit(torch.tensor([float(i)])), range(48)))
    assert results == [float(i) ** 2 for i in range(48)]
    assert batcher.images == 48
    assert batcher.batches < 48  # some requests shared a pass
    assert batcher.batches >= 48 / 8


def test_a_lone_request_runs_at_once_in_a_batch_of_one() -> None:
    sizes = []
    batcher = MicroBatcher(lambda b: sizes.append(len(b)) or [0] * len(b))
    for _ in range(3):
        batcher.submit(torch.zeros(1))
    assert sizes == [1, 1, 1]


def test_a_failing_batch_fails_every_request_in_it_and_the_batcher_recovers() -> None:
    calls = []

    def run(batch: torch.Tensor) -> list[int]:
        calls.append(len(batch))
        if float(batch.min()) < 0:
            time.sleep(0.02)
            raise ValueError("bad batch")
        return [1] * len(batch)

    batcher = MicroBatcher(run)
    gate = threading.Barrier(6)

    def go(v: float):
        gate.wait()
        try:
            return batcher.submit(torch.tensor([v]))
        except ValueError as exc:
            return str(exc)

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(go, [-1.0, 1.0, 1.0, 1.0, 1.0, 1.0]))
    assert "bad batch" in results  # the failure reached its own caller...
    assert all(r in (1, "bad batch") for r in results)  # ...nobody hung or got another's answer
    assert batcher.submit(torch.tensor([2.0])) == 1


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        MicroBatcher(slow_square, max_batch=0)


def test_concurrent_api_requests_are_bit_identical_to_sequential_ones(client, test_set) -> None:
    files = [png_bytes(test_set.images[i]) for i in range(12)]
    sequential = [client.post("/api/activations", files={"file": ("d.png", f)}).content for f in files]
    with ThreadPoolExecutor(12) as pool:
        concurrent = list(
            pool.map(lambda f: client.post("/api/activations", files={"file": ("d.png", f)}).content, files * 3)
        )
    assert concurrent == sequential * 3
