"""Admission control: every budget checked just under (admitted) and just over (refused, naming it), with
small budgets set through Settings; the gates' queueing order; and the refusals before any decoding that
the default budgets give the expensive requests of docs/benchmarks.md's attack table."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
from collections.abc import Iterator
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient
from PIL import Image

from app.config import MIB, Settings
from app.routes.deps import UploadBody
from app.serving.admission import INLINE_ESTIMATE_BYTES, Admission, Budgets, Gate, Job, Refused, Stopped, admitted
from app.serving.costs import Cost
from tests.helpers import encode, in_own_loop, png_bytes

DIGIT = np.full((1024, 1024), 230, np.uint8)
DIGIT[200:800, 480:560] = 20
BIG_UPLOAD = png_bytes(DIGIT)  # 1024x1024: several MiB to decode
OCCLUSION = {"params": {"method": "occlusion", "patch": 28, "stride": 1}, "data": {"sample": "0"}}


@contextlib.contextmanager
def budgets(client: TestClient, **changes: object) -> Iterator[Admission]:
    """The running app with an admission control built from ``changes`` to the default settings."""
    app = client.app
    before = app.state.admission
    app.state.admission = Admission(Budgets.from_settings(replace(Settings(), **changes)))
    try:
        yield app.state.admission
    finally:
        app.state.admission.close()
        app.state.admission = before


def estimate(client: TestClient, path: str, **request: object) -> Cost:
    """The estimate the admission control makes for a request (with budgets nothing reaches)."""
    with budgets(client, request_memory=1 << 40, request_cpu=1e9) as admission:
        r = client.post(path, **request)
        assert r.status_code == 200, r.text[:300]
        assert admission.last is not None
        return admission.last


def test_per_request_memory_budget(client: TestClient) -> None:
    files = {"file": ("digit.png", BIG_UPLOAD, "image/png")}
    cost = estimate(client, "/api/activations", files=files)
    assert cost.memory > 4 * MIB  # decoding 1024x1024 is counted
    with budgets(client, request_memory=cost.memory):
        assert client.post("/api/activations", files=files).status_code == 200
    with budgets(client, request_memory=cost.memory - 1) as admission:
        r = client.post("/api/activations", files=files)
        assert r.status_code == 413
        detail = r.json()["detail"]
        assert "limit per request" in detail and "CONVLENS_REQUEST_MEMORY_MIB" in detail and "decode" in detail
        assert admission.counts["refused"] == 1 and admission.counts["heavy"] == 0


def test_per_request_cpu_budget(client: TestClient) -> None:
    cost = estimate(client, "/api/explain", **OCCLUSION)
    assert cost.cpu > 0.1  # 3025 forward passes
    with budgets(client, request_cpu=cost.cpu):
        assert client.post("/api/explain", **OCCLUSION).status_code == 200
    with budgets(client, request_cpu=cost.cpu * 0.999):
        r = client.post("/api/explain", **OCCLUSION)
        assert r.status_code == 422
        assert "CONVLENS_REQUEST_CPU_SECONDS" in r.json()["detail"] and "network" in r.json()["detail"]


def test_light_requests_skip_the_heavy_lane(client: TestClient) -> None:
    cost = estimate(client, "/api/activations", data={"sample": "0"})
    with budgets(client, light_request_memory=cost.memory, light_request_cpu=cost.cpu) as admission:
        assert client.post("/api/activations", data={"sample": "0"}).status_code == 200
        assert (admission.counts["light"], admission.counts["heavy"]) == (1, 0)
    with budgets(client, light_request_memory=cost.memory - 1) as admission:
        assert client.post("/api/activations", data={"sample": "0"}).status_code == 200
        assert (admission.counts["light"], admission.counts["heavy"]) == (0, 1)


def test_the_heavy_memory_budget(client: TestClient) -> None:
    files = {"file": ("digit.png", BIG_UPLOAD, "image/png")}
    cost = estimate(client, "/api/activations", files=files)
    heavy = {"light_request_memory": 0}  # this upload is light by default: make it take the heavy lane
    with budgets(client, heavy_memory=cost.memory, **heavy) as admission:
        assert client.post("/api/activations", files=files).status_code == 200
        assert admission.counts["heavy"] == 1
    with budgets(client, heavy_memory=cost.memory - 1, **heavy) as admission:  # it would never fit: refused at once
        r = client.post("/api/activations", files=files)
        assert r.status_code == 413 and "CONVLENS_HEAVY_MEMORY_MIB" in r.json()["detail"]
    with budgets(client, heavy_memory=2 * cost.memory, queue_wait=0.05, **heavy) as admission:
        admission.heavy.free_memory = cost.memory - 1  # another heavy request holds the rest
        r = client.post("/api/activations", files=files)
        assert r.status_code == 503 and "waited 0.05 s for the heavy budget" in r.json()["detail"]
        admission.heavy.free_memory = cost.memory
        assert client.post("/api/activations", files=files).status_code == 200


def test_the_light_memory_budget(client: TestClient) -> None:
    cost = estimate(client, "/api/activations", data={"sample": "0"})
    with budgets(client, queue_wait=0.05) as admission:
        admission.light.free_memory = cost.memory  # the rest is held by other light requests
        assert client.post("/api/activations", data={"sample": "0"}).status_code == 200
        admission.light.free_memory = cost.memory - 1
        r = client.post("/api/activations", data={"sample": "0"})
        assert r.status_code == 503 and "waited 0.05 s for the light budget" in r.json()["detail"]


def test_memory_is_reserved_until_the_answer_is_sent_then_released(client: TestClient) -> None:
    with budgets(client) as admission:
        heavy, light = admission.heavy.free_memory, admission.light.free_memory
        assert client.post("/api/activations", files={"file": ("d.png", BIG_UPLOAD)}).status_code == 200
        assert client.post("/api/activations", data={"sample": "0"}).status_code == 200
        assert client.post("/api/activations", data={"sample": "999999"}).status_code == 404
        assert (admission.heavy.free_memory, admission.light.free_memory) == (heavy, light)
        assert admission.heavy.free_slots == admission.budgets.heavy_slots
        assert admission.bodies.free_memory == admission.budgets.body_memory


def test_a_busy_heavy_lane_is_a_503_with_retry_after(client: TestClient) -> None:
    with budgets(client, queue=1, queue_wait=0.05) as admission:
        admission.heavy.free_slots = 0  # a heavy request is running
        r = client.post("/api/explain", **OCCLUSION)  # waits its 0.05 s in the queue, then gives up
        assert r.status_code == 503 and "waited 0.05 s" in r.json()["detail"]
        assert "CONVLENS_QUEUE_WAIT_SECONDS" in r.json()["detail"]
        assert int(r.headers["retry-after"]) >= 1
        assert not admission.heavy.waiters or all(w.granted.done() for w in admission.heavy.waiters)
    with budgets(client, queue=0) as admission:
        admission.heavy.free_slots = 0
        r = client.post("/api/explain", **OCCLUSION)  # no room to wait: refused at once
        assert r.status_code == 503 and "the queue holds 0" in r.json()["detail"]
        assert int(r.headers["retry-after"]) >= 1
        assert admission.counts["busy"] == 1


def test_the_deadline_stops_long_work_at_a_checkpoint(client: TestClient) -> None:
    with budgets(client, deadline=1e-9) as admission:
        r = client.post("/api/explain", **OCCLUSION)
        assert r.status_code == 503 and "deadline of 1e-09 s" in r.json()["detail"]
        assert admission.counts["stopped"] == 1
        assert admission.heavy.free_memory == admission.budgets.heavy_memory  # released on the way out
    with budgets(client, deadline=600) as admission:
        assert client.post("/api/explain", **OCCLUSION).status_code == 200
        assert admission.counts["stopped"] == 0


def test_a_job_stops_when_its_client_has_gone_or_its_cpu_is_spent() -> None:
    job = Job(seconds=600, cpu=600)
    job.start()
    job.check()
    job.gone.set()
    with pytest.raises(Stopped, match="closed the connection"):
        job.check()
    spent = Job(seconds=600, cpu=0.0)
    spent.start()
    sum(range(200_000))  # some CPU on this thread
    with pytest.raises(Stopped, match="twice the per-request budget"):
        spent.check()


def test_request_bodies_have_a_memory_budget(client: TestClient) -> None:
    body = {"file": ("d.png", BIG_UPLOAD, "image/png")}
    size = len(client.build_request("POST", "/api/activations", files=body).read())
    with budgets(client, body_memory=size):
        assert client.post("/api/activations", files=body).status_code == 200
    with budgets(client, body_memory=size - 1) as admission:
        r = client.post("/api/activations", files=body)
        assert r.status_code == 503 and "CONVLENS_BODY_MEMORY_MIB" in r.json()["detail"]
        assert r.headers["retry-after"] == "1"
        assert admission.bodies.free_memory == size - 1


# --- the gates, in the event loop ------------------------------------------------------------------------


@pytest.mark.parametrize("watched", [True, False], ids=["watching-a-client", "nothing-to-watch"])
def test_gate_admits_first_come_first_served_within_its_queue(watched: bool) -> None:
    async def scenario() -> list[str]:
        gate = Gate("heavy", memory=100, slots=1, queue=2)
        never = asyncio.Event() if watched else None
        order: list[str] = []
        await gate.enter(60, 1, 1.0, never, 1)  # running

        async def waiter(name: str, memory: int) -> None:
            await gate.enter(memory, 1, 10.0, never, 1)
            order.append(name)
            gate.leave(memory, 1)

        first = asyncio.ensure_future(waiter("first", 90))
        second = asyncio.ensure_future(waiter("second", 10))
        await asyncio.sleep(0)  # both queued
        with pytest.raises(Refused, match="the queue holds 2") as refused:
            await gate.enter(1, 1, 1.0, never, 7)
        assert refused.value.status == 503 and refused.value.headers == {"Retry-After": "7"}
        gate.leave(60, 1)
        await asyncio.gather(first, second)
        assert (gate.free_memory, gate.free_slots, len(gate.waiters)) == (100, 1, 0)
        return order

    assert in_own_loop(scenario) == ["first", "second"]  # the small one did not overtake


def test_gate_gives_up_after_its_wait_or_when_the_client_leaves() -> None:
    async def scenario() -> None:
        gate = Gate("heavy", memory=10, slots=1, queue=4)
        never, gone = asyncio.Event(), asyncio.Event()
        await gate.enter(10, 1, 1.0, never, 1)
        with pytest.raises(Refused, match=r"waited 0\.01 s"):
            await gate.enter(5, 1, 0.01, never, 1)
        with pytest.raises(Refused, match=r"waited 0\.01 s"):
            await gate.enter(5, 1, 0.01, None, 1)  # nothing to watch: the same wait
        leaving = asyncio.ensure_future(gate.enter(5, 1, 10.0, gone, 1))
        await asyncio.sleep(0)
        gone.set()
        with pytest.raises(Stopped, match="while waiting"):
            await leaving
        assert len([w for w in gate.waiters if not w.granted.done()]) == 0
        gate.leave(10, 1)
        assert (gate.free_memory, gate.free_slots) == (10, 1)

    in_own_loop(scenario)


# --- the default budgets against the attack table's requests (all refused before decoding) ------------


def webp_4096() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (4096, 4096)).save(buf, "WEBP", lossless=True)
    return buf.getvalue()


def test_257_huge_webps_to_the_batchnorm_lab_are_refused_before_decoding(client: TestClient) -> None:
    webp = webp_4096()
    files = [("files", (f"{i}.webp", webp, "image/webp")) for i in range(256)] + [("file", ("x.webp", webp))]
    with budgets(client) as admission:
        r = client.post("/api/batchnorm", files=files)
        assert r.status_code in (413, 422) and "limit per request" in r.json()["detail"], r.text[:300]
        assert admission.counts["refused"] == 1 and admission.counts["heavy"] == 0


def test_max_pooling_a_huge_image_with_a_large_window_is_refused(client: TestClient) -> None:
    png = encode(Image.new("L", (4096, 4096), 200), "PNG")
    spec = json.dumps({"op": "max", "size": 32, "stride": 1})
    r = client.post("/api/pool", data={"spec": spec}, files={"file": ("a.png", png)})
    assert r.status_code in (413, 422) and "per request" in r.json()["detail"], r.text[:300]


def test_the_padded_input_counts_against_the_answer(client: TestClient) -> None:
    jpeg = encode(Image.new("RGB", (4096, 4096)), "JPEG")
    spec = json.dumps({"kernels": [[[1.0]]], "stride": 64, "padding": 64, "color": "gray"})
    cost = estimate(
        client, "/api/convolve", data={"spec": spec}, files={"file": ("a.jpg", jpeg)}, params={"include": "png"}
    )
    padded = estimate(
        client, "/api/convolve", data={"spec": spec}, files={"file": ("a.jpg", jpeg)}, params={"include": "png,padded"}
    )
    answers = [dict((name, memory) for name, memory, _ in c.parts)["answer"] for c in (cost, padded)]
    assert answers[1] - answers[0] > 4224 * 4224 * 4 * 2  # the padded floats' base64, and the body it joins
    rgb = spec.replace('"gray"', '"rgb"')
    r = client.post("/api/convolve", data={"spec": rgb}, files={"file": ("a.jpg", jpeg)}, params={"include": "padded"})
    assert r.status_code == 413 and "answer" in r.json()["detail"], r.text[:300]


WHERE_ESTIMATED: list[str] = []


def where_estimated(body: bytes) -> Cost:
    """An estimate that notes whether it runs in the event loop or in a worker thread."""
    try:
        asyncio.get_running_loop()
        WHERE_ESTIMATED.append("event loop")
    except RuntimeError:
        WHERE_ESTIMATED.append("thread")
    return Cost.of("body", len(body), 0.0)


@admitted(where_estimated)
def echo(request: Request, body: UploadBody) -> PlainTextResponse:
    return PlainTextResponse(str(len(body)))


def test_a_small_body_is_estimated_in_the_event_loop_and_a_large_one_in_a_thread() -> None:
    """The draw pad's 2 KB JSON skips the hop to a worker thread for its estimate; a large upload does not."""
    app = FastAPI()
    app.post("/echo")(echo)
    app.state.admission = Admission(Budgets.from_settings(Settings()))
    app.state.convlens = SimpleNamespace(settings=Settings())
    WHERE_ESTIMATED.clear()
    with TestClient(app) as c:
        for size in (2000, INLINE_ESTIMATE_BYTES, INLINE_ESTIMATE_BYTES + 1):
            r = c.post("/echo", content=b"x" * size, headers={"Content-Type": "application/octet-stream"})
            assert r.status_code == 200 and r.text == str(size), r.text[:300]
    app.state.admission.close()
    assert WHERE_ESTIMATED == ["event loop", "event loop", "thread"]
