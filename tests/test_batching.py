"""Micro-batching: concurrent requests share a forward pass, and every image still gets bit-for-bit the
result it gets alone. Which requests share a batch is arranged with events (a batch held open until the
others have provably queued behind it), never by sleeping."""

from __future__ import annotations

import asyncio
import copy
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
import torch

from app.serving import table_pass
from app.serving.batching import BatchThread
from app.serving.layers import Row, tabulate
from tests.helpers import in_own_loop, png_bytes, wait, watch_queue


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


def test_a_worker_threads_row_equals_forward(served, test_set) -> None:
    x = torch.from_numpy(test_set.images[5:6].astype(np.float32) / 255).unsqueeze(1)
    row, want = served.infer_row_blocking(x), served.forward(x)
    for name in served.layer_names:
        np.testing.assert_array_equal(row.values(name), want[name][0].reshape(-1).numpy(), err_msg=name)


def square(batch: torch.Tensor) -> list[float]:
    return [float(v) ** 2 for v in batch.flatten()]


def ones_unless_negative(batch: torch.Tensor) -> list[int]:
    if float(batch.min()) < 0:
        raise ValueError("bad batch")
    return [1] * len(batch)


class HeldFirst:
    """A batch ``run`` that records each batch's values and holds the first batch until ``release`` is set
    (``running`` says it is held), then answers every batch with ``answer``."""

    def __init__(self, answer: Callable[[torch.Tensor], list[Any]] = square) -> None:
        self.answer = answer
        self.batches: list[list[float]] = []
        self.running, self.release = threading.Event(), threading.Event()

    def __call__(self, batch: torch.Tensor) -> list[Any]:
        self.batches.append(batch.flatten().tolist())
        if len(self.batches) == 1:
            self.running.set()
            wait(self.release, "the release of the first batch")
        return self.answer(batch)

    @property
    def sizes(self) -> list[int]:
        return [len(b) for b in self.batches]


def test_threads_arriving_during_a_batch_share_the_next_ones(monkeypatch) -> None:
    """The first thread's request runs alone and is held inside its batch until 23 more have queued behind
    it; they then run in full batches of 8, each thread answered with its own result."""
    queued = watch_queue(monkeypatch)
    run = HeldFirst()
    batcher = BatchThread(run, max_batch=8)
    try:
        with ThreadPoolExecutor(24) as pool:
            futures = [pool.submit(batcher.submit_blocking, torch.tensor([0.0]))]
            wait(run.running, "the first batch")
            futures += [pool.submit(batcher.submit_blocking, torch.tensor([float(i)])) for i in range(1, 24)]
            queued.wait_for(24)  # the first one and the 23 behind it
            run.release.set()
            results = [f.result() for f in futures]
    finally:
        batcher.close()
    assert results == [float(i) ** 2 for i in range(24)]
    assert run.sizes == [1, 8, 8, 7]
    assert (batcher.batches, batcher.images) == (4, 24)


def test_concurrent_submissions_are_answered_correctly() -> None:
    """Free-running threads and coroutines, however they happen to interleave: every caller gets its own answer."""
    batcher = BatchThread(square, max_batch=8)

    async def coroutines() -> list[float]:
        return await asyncio.gather(*(batcher.submit(torch.tensor([float(i)])) for i in range(48, 96)))

    try:
        with ThreadPoolExecutor(25) as pool:
            from_loop = pool.submit(in_own_loop, coroutines)
            results = list(pool.map(lambda i: batcher.submit_blocking(torch.tensor([float(i)])), range(48)))
            results += from_loop.result()
    finally:
        batcher.close()
    assert results == [float(i) ** 2 for i in range(96)]
    assert batcher.images == 96
    assert 96 / 8 <= batcher.batches <= 96


def test_a_lone_request_runs_at_once_in_a_batch_of_one() -> None:
    sizes = []
    batcher = BatchThread(lambda b: sizes.append(len(b)) or [0] * len(b))
    try:
        for _ in range(3):
            batcher.submit_blocking(torch.zeros(1))
    finally:
        batcher.close()
    assert sizes == [1, 1, 1]


def test_a_failing_batch_fails_every_request_in_it_and_the_batcher_recovers(monkeypatch) -> None:
    """A held first batch, then six requests queued in a known order (batches of 3): the batch holding
    the -1 fails for each of its three callers, and the batches before and after it succeed."""
    queued = watch_queue(monkeypatch)
    run = HeldFirst(ones_unless_negative)
    batcher = BatchThread(run, max_batch=3)

    def go(v: float):
        try:
            return batcher.submit_blocking(torch.tensor([v]))
        except ValueError as exc:
            return str(exc)

    try:
        with ThreadPoolExecutor(7) as pool:
            futures = [pool.submit(go, 1.0)]
            wait(run.running, "the first batch")
            for n, v in enumerate([1.0, -1.0, 1.0, 1.0, 1.0, 1.0], start=2):
                futures.append(pool.submit(go, v))
                queued.wait_for(n)  # one at a time, so the queue's order is known
            run.release.set()
            results = [f.result() for f in futures]
        assert run.batches == [[1.0], [1.0, -1.0, 1.0], [1.0, 1.0, 1.0]]
        assert results == [1, "bad batch", "bad batch", "bad batch", 1, 1, 1]
        assert batcher.submit_blocking(torch.tensor([2.0])) == 1 and batcher.batches == 4
    finally:
        batcher.close()


def test_max_batch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_batch"):
        BatchThread(square, max_batch=0)


def test_concurrent_api_requests_are_bit_identical_to_sequential_ones(client, test_set) -> None:
    files = [png_bytes(test_set.images[i]) for i in range(12)]
    sequential = [client.post("/api/activations", files={"file": ("d.png", f)}).content for f in files]
    with ThreadPoolExecutor(12) as pool:
        concurrent = list(
            pool.map(lambda f: client.post("/api/activations", files={"file": ("d.png", f)}).content, files * 3)
        )
    assert concurrent == sequential * 3


# --- coroutines: the event loop's requests -------------------------------------------------------------------


async def held_first_batch(batcher: BatchThread, running: threading.Event, values: list[float]) -> list[Any]:
    """Submit ``values[0]`` and, once its batch is running (and held), the rest: all of them queue behind it
    before the loop goes on, since ``submit`` queues before it first waits."""
    first = asyncio.ensure_future(batcher.submit(torch.tensor([values[0]])))
    await asyncio.to_thread(wait, running, "the first batch")
    rest = [asyncio.ensure_future(batcher.submit(torch.tensor([v]))) for v in values[1:]]
    await asyncio.sleep(0)  # every new task runs to its first wait: all are queued now
    return [first, *rest]


def test_a_batch_thread_batches_what_queued_while_a_batch_ran() -> None:
    run = HeldFirst()

    async def scenario() -> tuple[list[float], bool]:
        batcher = BatchThread(run, max_batch=8)
        try:
            tasks = await held_first_batch(batcher, run.running, [float(i) for i in range(24)])
            other = asyncio.ensure_future(asyncio.sleep(0, result="the loop went on"))
            went_on = await other == "the loop went on" and run.sizes == [1]  # while the first batch was held
            run.release.set()
            return await asyncio.gather(*tasks), went_on
        finally:
            batcher.close()

    results, went_on = in_own_loop(scenario)
    assert results == [float(i) ** 2 for i in range(24)]
    assert run.sizes == [1, 8, 8, 7]
    assert went_on


def test_a_failing_batch_fails_its_waiters_and_the_batch_thread_goes_on() -> None:
    run = HeldFirst(ones_unless_negative)

    async def scenario() -> list[Any]:
        batcher = BatchThread(run, max_batch=3)
        try:
            tasks = await held_first_batch(batcher, run.running, [1.0, 1.0, -1.0, 1.0, 1.0, 1.0, 1.0])
            run.release.set()
            done = await asyncio.gather(*tasks, return_exceptions=True)
            return [*done, await batcher.submit(torch.tensor([2.0]))]
        finally:
            batcher.close()

    results = in_own_loop(scenario)
    assert [str(r) if isinstance(r, Exception) else r for r in results] == [1, *["bad batch"] * 3, 1, 1, 1, 1]


def test_a_waiter_that_stops_waiting_leaves_the_others_their_answers() -> None:
    run = HeldFirst()

    async def scenario() -> list[Any]:
        batcher = BatchThread(run)
        try:
            tasks = await held_first_batch(batcher, run.running, [1.0, 2.0, 3.0])
            tasks[1].cancel()  # a client that went away
            run.release.set()
            return await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            batcher.close()

    first, cancelled, third = in_own_loop(scenario)
    assert (first, third) == (1.0, 9.0) and isinstance(cancelled, asyncio.CancelledError)


def test_a_closed_batch_thread_ends_and_refuses_more() -> None:
    async def scenario() -> tuple[float, bool]:
        batcher = BatchThread(square, name="t")
        answer = await batcher.submit(torch.tensor([3.0]))
        thread = batcher._thread
        batcher.close()
        assert thread is not None and not thread.is_alive()
        with pytest.raises(RuntimeError, match="closed"):
            await batcher.submit(torch.tensor([1.0]))
        return answer, batcher.images == 1

    assert in_own_loop(scenario) == (9.0, True)


def test_a_batch_thread_with_join_list_hands_run_the_images_themselves() -> None:
    given = []

    def run(images: list[torch.Tensor]) -> list[float]:
        given.append(images)
        return [float(x.sum()) for x in images]

    async def scenario() -> list[float]:
        batcher = BatchThread(run, name="t", join=list)
        try:
            return await asyncio.gather(batcher.submit(torch.tensor([2.0])), batcher.submit(torch.tensor([5.0])))
        finally:
            batcher.close()

    assert in_own_loop(scenario) == [2.0, 5.0]
    assert all(isinstance(images, list) for images in given) and sum(len(images) for images in given) == 2


def test_infer_row_is_forward_bit_for_bit(served, test_set) -> None:
    """Images answered together by the batch thread get each what ``forward`` gives it alone."""
    x = torch.from_numpy(test_set.images[:12].astype(np.float32) / 255).unsqueeze(1)  # (12, 1, 28, 28)

    async def scenario() -> list[Row]:
        return await asyncio.gather(*(served.infer_row(x[i : i + 1]) for i in range(12)))

    rows = in_own_loop(scenario)
    for i, row in enumerate(rows):
        alone = served.forward(x[i : i + 1])
        for name in served.layer_names:
            np.testing.assert_array_equal(row.values(name), alone[name][0].reshape(-1).numpy(), err_msg=name)


# --- the served network's compiled pass ---------------------------------------------------------------------


def test_every_bundled_model_serves_a_compiled_pass_bit_for_bit(client) -> None:
    gen = torch.Generator().manual_seed(5)
    for served in client.app.state.convlens.registry.models.values():
        assert served.rows is not None, served.name
        x = torch.rand(6, *served.input_shape, generator=gen)
        with torch.inference_mode():
            python = served.model.intermediates(x, per_image_linear=True)
        compiled = served.forward(x)
        assert list(compiled) == list(python)
        assert all(torch.equal(compiled[k], python[k]) for k in python), served.name


def test_a_network_torchscript_cannot_compile_is_served_by_python(served, monkeypatch) -> None:
    def refuse(module: Any) -> Any:
        raise RuntimeError("Python builtin <built-in function id> is currently not supported in Torchscript")

    monkeypatch.setattr(torch.jit, "script", refuse)
    assert served.model.scripted_rows() is None


def test_a_compiled_pass_that_rounds_differently_is_not_used(served, monkeypatch) -> None:
    def nearly(module: Any) -> Any:
        return lambda x: {name: t * (1 + 1e-7) for name, t in module(x).items()}

    monkeypatch.setattr(torch.jit, "script", nearly)
    assert served.model.scripted_rows() is None


def test_an_override_runs_the_python_pass(served, monkeypatch) -> None:
    def compiled(x: torch.Tensor) -> Any:
        raise AssertionError("the compiled pass ran")

    monkeypatch.setattr(served, "rows", compiled)
    x = torch.zeros(1, *served.input_shape)
    conv1 = served.model.submodule("conv1")
    served.forward(x, {"conv1": conv1})  # an override: the Python pass, with the module swapped
    with pytest.raises(AssertionError, match="compiled pass ran"):
        served.forward(x)


def test_every_bundled_model_makes_its_batch_table_in_one_compiled_call_bit_for_bit(client) -> None:
    """The table pass (forward, softmax, statistics, float16 copy) against the Python path's table."""
    gen = torch.Generator().manual_seed(6)
    for served in client.app.state.convlens.registry.models.values():
        assert served.table_pass is not None, served.name
        x = torch.rand(7, *served.input_shape, generator=gen)
        got, want = served.table_pass(list(x.split(1))), tabulate(served.forward(x), served.layer_names)
        assert table_pass.same(got, want), served.name
        np.testing.assert_array_equal(got.half.view("<u2"), want.flat.astype("<f2").view("<u2"))
        np.testing.assert_array_equal(got.means, want.means)


def test_a_table_that_differs_in_one_bit_is_not_the_same(served) -> None:
    x = torch.rand(3, *served.input_shape, generator=torch.Generator().manual_seed(8))
    assert served.table_pass is not None
    good = served.table_pass(list(x.split(1)))
    for field in ("flat", "half", "mins", "means"):
        changed = getattr(good, field).copy()
        changed.reshape(-1).view(np.uint8)[5] ^= 1  # one bit of one value
        assert not table_pass.same(
            type(good)(**{**vars(good), field: changed}), tabulate(served.forward(x), served.layer_names)
        )
    assert table_pass.same(good, tabulate(served.forward(x), served.layer_names))


def test_a_table_pass_that_computes_something_else_is_not_used(served) -> None:
    """Another network's compiled rows (conv1 nudged) give other values: no table pass; nor without rows."""
    other = copy.deepcopy(served.model)
    with torch.no_grad():
        other.submodule("conv1").weight.mul_(1 + 1e-6)
    assert table_pass.compiled(served.model, other.scripted_rows()) is None
    assert table_pass.compiled(served.model, None) is None
    assert table_pass.compiled(served.model, served.rows) is not None


def test_the_batch_thread_makes_its_tables_with_the_table_pass(served, monkeypatch) -> None:
    calls = []
    compiled = served.table_pass

    def counted(x: torch.Tensor) -> Any:
        calls.append(len(x))
        return compiled(x)

    monkeypatch.setattr(served, "table_pass", counted)
    x = torch.rand(1, *served.input_shape, generator=torch.Generator().manual_seed(9))

    async def scenario() -> Row:
        return await served.infer_row(x)

    row = in_own_loop(scenario)
    assert calls == [1]
    np.testing.assert_array_equal(row.values("conv1"), served.forward(x)["conv1"][0].reshape(-1).numpy())
    monkeypatch.setattr(served, "table_pass", None)  # the Python path, as for a network TorchScript cannot read
    row = in_own_loop(scenario)
    assert calls == [1]
    np.testing.assert_array_equal(row.table.half, row.table.flat.astype("<f2"))  # its own float16 row too
    np.testing.assert_array_equal(row.values("conv1"), served.forward(x)["conv1"][0].reshape(-1).numpy())


def test_each_waiters_finish_runs_in_the_batch_thread_and_fails_alone() -> None:
    run = HeldFirst()
    finished_in = []

    def finish(result: float) -> str:
        finished_in.append(threading.current_thread().name)
        if result == 4.0:
            raise ValueError("no 4s")
        return f"{result:g}"

    async def scenario() -> list[Any]:
        batcher = BatchThread(run, name="finishing")
        try:
            first = asyncio.ensure_future(batcher.submit(torch.tensor([1.0]), finish))
            await asyncio.to_thread(wait, run.running, "the first batch")
            rest = [asyncio.ensure_future(batcher.submit(torch.tensor([v]), finish)) for v in (2.0, 3.0)]
            await asyncio.sleep(0)
            run.release.set()
            return await asyncio.gather(first, *rest, return_exceptions=True)
        finally:
            batcher.close()

    one, two, three = in_own_loop(scenario)
    assert (one, three) == ("1", "9") and isinstance(two, ValueError)
    assert finished_in == ["convlens-finishing"] * 3
