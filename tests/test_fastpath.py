"""The draw pad's plain requests (app.routes.fastpath) answer exactly as FastAPI's own path does."""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from starlette.requests import Request

from app.routes import fastpath
from app.routes.fastpath import plain_arguments
from app.routes.inputs import plain_pixels
from app.schemas.network import PixelsRequest
from app.serving import admission

DRAWING = np.zeros((28, 28))
DRAWING[6:22, 12:16] = 1.0  # a "1"
DRAWING[8, 10:13] = 0.5
BODY = json.dumps({"pixels": DRAWING.round(4).tolist()})


def request(client: TestClient, query: str) -> Request:
    return Request({"type": "http", "app": client.app, "query_string": query.encode(), "headers": []})


@pytest.mark.parametrize(
    "query",
    [
        "preprocess=auto&dtype=float32&model=lenet_bn",  # what the explorer sends
        "",
        "dtype=float16&layers=conv1,probs",
        "preprocess=none&model=lenet&layers=probs",
        "model=&layers=",
    ],
)
def test_a_plain_query_is_answered_as_by_fastapi(client: TestClient, query: str) -> None:
    assert plain_arguments(request(client, query)) is not None
    # an unknown parameter, which FastAPI ignores, sends the same request down FastAPI's path
    headers = {"content-type": "application/json"}
    general = client.post(f"/api/activations?{query}&other=1", content=BODY, headers=headers)
    fast = client.post(f"/api/activations?{query}", content=BODY, headers=headers)
    assert general.status_code == fast.status_code == 200
    assert fast.content == general.content
    assert fast.headers["content-type"] == general.headers["content-type"]


@pytest.mark.parametrize(
    "query",
    [
        "checkpoint=0",
        "dtype=float64",
        "preprocess=",
        "model=nope",
        "layers=conv9",
        "dtype=float32&dtype=float16",
        "other=1",
    ],
)
def test_anything_else_goes_to_fastapi(client: TestClient, query: str) -> None:
    assert plain_arguments(request(client, query)) is None


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (json.dumps({"pixels": [[2.0] * 28] * 28}), "application/json", 422),
        ("{not json", "application/json", 400),
        (BODY, "text/plain", 415),
        ("x" * (6 * 1024 * 1024), "application/json", 413),
    ],
)
def test_a_plain_query_fails_as_fastapi_does(client: TestClient, body: str, content_type: str, status: int) -> None:
    answers = [
        client.post(f"/api/activations?dtype=float32{extra}", content=body, headers={"content-type": content_type})
        for extra in ("", "&other=1")
    ]
    assert [a.status_code for a in answers] == [status, status]
    assert answers[0].json() == answers[1].json()


def pixel_bodies() -> list[bytes]:
    """Drawings written the ways a client may write numbers: the page's 4 decimals, integers, exponents,
    17 digits, spaces and newlines."""
    rng = np.random.default_rng(11)
    bodies = []
    for i in range(60):
        values = rng.random((int(rng.integers(1, 30)), int(rng.integers(1, 30))))
        values[values < 0.3] = 0.0
        rows = {
            0: lambda r: ",".join(f"{v:.4f}" for v in r),
            1: lambda r: ",".join(str(int(v > 0.5)) for v in r),
            2: lambda r: " , ".join(f"{v:.3e}" for v in r),
            3: lambda r: ",\n".join(f"{v:.17g}" for v in r),
            4: lambda r: ",".join(f"{v:.2E}" for v in r),
        }[i % 5]
        bodies.append(('{ "pixels" : [' + ",".join(f"[{rows(r)}]" for r in values) + "] }").encode())
    return bodies


def pydantics(body: bytes) -> np.ndarray | None:
    try:
        return np.asarray(PixelsRequest.model_validate_json(body).pixels, dtype=np.float32)
    except ValidationError:
        return None


@pytest.mark.parametrize("body", pixel_bodies(), ids=range(60))
def test_plain_pixels_are_read_as_pydantic_reads_them(body: bytes) -> None:
    got, want = plain_pixels(body), pydantics(body)
    assert got is not None and want is not None
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "body",
    [
        b'{"pixels": [[0.5, 0.5], [0.5]]}',  # ragged
        b'{"pixels": []}',
        b'{"pixels": [[]]}',
        b'{"pixels": [[2]]}',  # out of range
        b'{"pixels": [[1.00000001]]}',  # above 1 until made float32
        b'{"pixels": [[-1e-9]]}',
        b'{"pixels": [[0.1]], "pixels": [[0.2]]}',  # a repeated key
        b'{"pixels": [[[0.1]]]}',  # C x H x W
        b'{"pixels": [[0.1]], "conv1_override": null}',
        b'{"pixels": [["0.5"]]}',  # a string pydantic may take
        b'{"pixels": [[true]]}',
        b'{"pixels": [[NaN]]}',
        b'{"pixels": [[1e999]]}',
        b'{"pixels": [[01]]}',  # not JSON
        b'{"pixel\\u0073": [[0.5]]}',  # an escaped key
        b"[[0.5]]",
        b'{"pixels": [[0.5]]} x',
        b'{"pixels": [' + b"[0]," * 512 + b"[0]]}",  # more rows than MAX_SIDE
    ],
)
def test_anything_but_plain_pixels_is_left_to_pydantic(body: bytes) -> None:
    assert plain_pixels(body) is None


def test_a_drawing_on_both_readings_gets_the_same_answer(client: TestClient) -> None:
    """The page's own body, read by ``plain_pixels``, and the same pixels with an explicit ``"conv1_override":
    null`` (which only pydantic reads, and which takes the worker-thread path): byte-identical answers."""
    plain = client.post("/api/activations", content=BODY, headers={"content-type": "application/json"})
    spelled = BODY[:-1] + ', "conv1_override": null}'
    other = client.post("/api/activations", content=spelled, headers={"content-type": "application/json"})
    assert plain.status_code == other.status_code == 200
    assert plain.content == other.content


# --- the draw pad's request in the event loop (app.serving.admission: Inline) -------------------------------


def counted(client: TestClient, kind: str) -> int:
    return client.app.state.admission.counts[kind]


def test_a_drawing_runs_in_the_event_loop_and_an_upload_in_a_thread(client: TestClient, test_set) -> None:
    before = counted(client, "inline"), counted(client, "light")
    drawing = client.post("/api/activations", content=BODY, headers={"content-type": "application/json"})
    assert drawing.status_code == 200
    assert (counted(client, "inline"), counted(client, "light")) == (before[0] + 1, before[1] + 1)
    sample = client.post("/api/activations", data={"sample": "3"})
    assert sample.status_code == 200
    assert (counted(client, "inline"), counted(client, "light")) == (before[0] + 1, before[1] + 2)


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ("preprocess=auto&dtype=float32&model=lenet_bn", BODY),
        ("dtype=float16&layers=conv1,pool2,probs", BODY),
        ("preprocess=none&model=fashion_vgg", BODY),
        ("model=lenet", json.dumps({"pixels": [[0.0] * 28] * 28})),  # a blank drawing
        ("", json.dumps({"pixels": [[2.0] * 28] * 28})),  # 422
        ("", json.dumps({"pixels": [[0.5] * 27] * 28})),  # 422: not the network's size
        ("", "{not json"),  # 400
    ],
)
def test_the_event_loop_answers_as_a_worker_thread_does(client: TestClient, monkeypatch, query: str, body: str) -> None:
    headers = {"content-type": "application/json"}
    inline = client.post(f"/api/activations?{query}", content=body, headers=headers)
    monkeypatch.setattr(admission, "INLINE_CPU", -1.0)  # nothing is small enough: every request takes a thread
    before = counted(client, "inline")
    threaded = client.post(f"/api/activations?{query}", content=body, headers=headers)
    assert counted(client, "inline") == before
    assert inline.status_code == threaded.status_code
    assert inline.content == threaded.content


def test_resolved_queries_are_remembered_within_a_bound(client: TestClient) -> None:
    remembered = client.app.state.convlens.plain_queries
    first = plain_arguments(request(client, "layers=conv1,probs"))
    again = plain_arguments(request(client, "layers=conv1,probs"))
    assert first == again and first is not again and first["names"] is not again["names"]  # each its own list
    for i in range(fastpath.MAX_REMEMBERED + 5):  # anything may be sent: refused queries are remembered too
        assert plain_arguments(request(client, f"unknown={i}")) is None
    assert 0 < len(remembered) <= fastpath.MAX_REMEMBERED
