"""Requests that change the network for themselves (a conv1 override, the BatchNorm lab's train mode, the
explanations' gradients, channel mixing), interleaved in threads with plain /api/activations requests,
never change what the plain ones return: every plain answer is byte-for-byte its sequential baseline, and
the served model is unchanged afterwards."""

from __future__ import annotations

import itertools
import json
import random
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from fastapi.testclient import TestClient

from app.serving.inference import ServedModel
from tests.helpers import png_bytes, state_checksum, watch_queue

PLAIN_SAMPLES = [0, 1, 2, 3, 4, 5]
THREADS = 8
ROUNDS = 6


def uploaded_digit() -> bytes:
    """A dark-on-light 4 drawn as bars, through the full upload preprocessing."""
    img = np.full((90, 70), 240, np.uint8)
    img[10:55, 12:20] = 20
    img[48:56, 12:60] = 20
    img[10:82, 44:52] = 20
    return png_bytes(img)


PLAIN = [{"data": {"sample": str(i)}} for i in PLAIN_SAMPLES] + [
    {"files": {"file": ("four.png", uploaded_digit(), "image/png")}},
    {"json": {"pixels": np.eye(28, dtype=np.float32).clip(0, 1).tolist()}},
]


def plain(client: TestClient, index: int) -> bytes:
    response = client.post("/api/activations", **PLAIN[index])
    assert response.status_code == 200, response.text[:300]
    return response.content


def disturbers(client: TestClient) -> list:
    """Requests that run a changed copy of the network, or gradients, for themselves."""
    rng = random.Random(0)

    def override() -> int:
        kernel = [[rng.uniform(-3, 3) for _ in range(5)] for _ in range(5)]
        spec = {"channel": rng.randrange(20), "kernel": kernel, "bias": rng.uniform(-1, 1)}
        data = {"sample": str(rng.choice(PLAIN_SAMPLES)), "conv1_override": json.dumps(spec)}
        return client.post("/api/activations", data=data).status_code

    four = {"file": ("four.png", uploaded_digit(), "image/png")}
    matrix = json.dumps([[rng.uniform(-1, 1) for _ in range(20)] for _ in range(4)])
    return [
        override,
        lambda: client.post("/api/batchnorm", data={"samples": "32"}).status_code,
        lambda: client.post("/api/batchnorm", data={"samples": "1", "inspect": "0"}).status_code,
        lambda: client.post("/api/batchnorm", files=four, data={"samples": "8"}).status_code,
        *[
            lambda m=method: client.post(f"/api/explain?method={m}", data={"sample": "3"}).status_code
            for method in ("saliency", "gradcam", "occlusion")
        ],
        lambda: client.post("/api/mix", data={"sample": "2", "matrix": matrix}).status_code,
    ]


def test_plain_answers_are_bit_identical_under_interleaved_overrides(
    client: TestClient, served: ServedModel, monkeypatch
) -> None:
    before = state_checksum(served.model)
    baseline = [plain(client, i) for i in range(len(PLAIN))]
    others = disturbers(client)
    # the first plain batch is held until two more plain requests have queued behind it, so some plain
    # requests provably share a forward pass while the disturbing ones run
    queued, held = watch_queue(monkeypatch), threading.Event()
    run_batch = served.batch_thread._run

    def hold_the_first_batch(images):
        if not held.is_set():
            held.set()
            queued.wait_for(len(images) + 2)  # this batch's own requests and two behind them
        return run_batch(images)

    monkeypatch.setattr(served.batch_thread, "_run", hold_the_first_batch)

    # each thread alternates plain requests with disturbing ones, in a different order per thread
    jobs = []
    for t in range(THREADS):
        order = list(itertools.product(range(len(PLAIN)), range(ROUNDS)))
        random.Random(t).shuffle(order)
        jobs.append([(i, others[(t + k) % len(others)]) for k, (i, _) in enumerate(order[: 2 * len(PLAIN)])])

    def run(job: list) -> list[tuple[int, bytes, int]]:
        out = []
        for index, disturb in job:
            status = disturb()
            out.append((index, plain(client, index), status))
        return out

    batches, images = served.batch_thread.batches, served.batch_thread.images
    with ThreadPoolExecutor(THREADS) as pool:
        results = [r for rs in pool.map(run, jobs) for r in rs]
    assert held.is_set() and queued.count >= 3
    assert served.batch_thread.images - images > served.batch_thread.batches - batches  # some batch held several

    assert len(results) == THREADS * 2 * len(PLAIN)
    assert all(status == 200 for _, _, status in results), sorted({s for _, _, s in results})
    mismatched = [index for index, content, _ in results if content != baseline[index]]
    assert mismatched == [], f"{len(mismatched)} plain answers changed under concurrency: inputs {set(mismatched)}"
    assert [plain(client, i) for i in range(len(PLAIN))] == baseline
    assert state_checksum(served.model) == before
    assert all(p.grad is None for p in served.model.module.parameters())
