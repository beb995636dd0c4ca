"""Bad input gets a clear 4xx with a JSON detail; never a 500, never a file on disk, never a changed model."""

from __future__ import annotations

import tempfile

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from tests.helpers import encode, png_bytes, state_checksum

NOISE = np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)


def cases() -> list[tuple[str, dict, int, str]]:
    big_pixels = encode(Image.new("L", (4100, 4100)), "PNG")
    return [
        ("empty upload", {"files": {"file": ("a.png", b"", "image/png")}}, 400, "empty"),
        (
            "not an image",
            {"files": {"file": ("a.png", b"<svg xmlns='x'/>", "image/png")}},
            415,
            "not a supported image",
        ),
        ("truncated png", {"files": {"file": ("a.png", png_bytes(NOISE)[:1000], "image/png")}}, 400, "truncated"),
        (
            "truncated jpeg",
            {"files": {"file": ("a.jpg", encode(Image.fromarray(NOISE), "JPEG")[:700])}},
            400,
            "truncated",
        ),
        (
            "over 5 MB",
            {"files": {"file": ("a.png", b"\x89PNG" + bytes(5 * 1024 * 1024 + 10), "image/png")}},
            413,
            "limit",
        ),
        ("over 4096x4096", {"files": {"file": ("a.png", big_pixels, "image/png")}}, 413, "refused before decoding"),
        ("no file", {"data": {"other": "1"}}, 422, "No image"),
        ("wrong content type", {"content": b"abc", "headers": {"content-type": "text/plain"}}, 415, "Content-Type"),
        ("pixels wrong shape", {"json": {"pixels": [[0.0] * 28] * 27}}, 422, "pixels"),
        (
            "pixels ragged",
            {"json": {"pixels": [[0.0] * 28] * 27 + [[0.0] * 5]}},
            422,
            "Pixel row 28: expected 28 values like the first row, not 5",
        ),
        ("pixels out of range", {"json": {"pixels": [[2.0] * 28] * 28}}, 422, "must be at most 1, not 2 (and 783 more"),
        (
            "pixels NaN",
            {
                "content": b'{"pixels": [' + b",".join([b"[" + b",".join([b"NaN"] * 28) + b"]"] * 28) + b"]}",
                "headers": {"content-type": "application/json"},
            },
            422,
            "finite",
        ),
        (
            "pixels inf",
            {
                "content": b'{"pixels": [' + b",".join([b"[" + b",".join([b"1e999"] * 28) + b"]"] * 28) + b"]}",
                "headers": {"content-type": "application/json"},
            },
            422,
            "finite",
        ),
        (
            "json syntax",
            {"content": b'{"pixels": [', "headers": {"content-type": "application/json"}},
            400,
            "not valid JSON",
        ),
        ("unknown sample", {"data": {"sample": "123456"}}, 404, "no sample"),
        ("sample not a number", {"data": {"sample": "seven"}}, 422, "The test digit id must be a whole number"),
        ("file and sample", {"files": {"file": ("a.png", png_bytes(NOISE))}, "data": {"sample": "1"}}, 422, "either"),
    ]


@pytest.mark.parametrize(("name", "kwargs", "status", "message"), cases(), ids=[c[0] for c in cases()])
def test_bad_input_is_a_clear_4xx(client, name, kwargs, status, message) -> None:
    r = client.post("/api/activations", **kwargs)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/json"
    assert message in r.json()["detail"]


@pytest.mark.parametrize(
    ("query", "field"), [("preprocess=fancy", "preprocess"), ("dtype=float64", "dtype"), ("model=vgg", "vgg")]
)
def test_bad_query_parameters_are_422(client, query, field) -> None:
    r = client.post(f"/api/activations?{query}", files={"file": ("a.png", png_bytes(NOISE))})
    assert r.status_code in (404, 422) and field in r.json()["detail"]


def test_a_declared_oversized_body_is_refused_unread(client) -> None:
    r = client.post(
        "/api/activations",
        content=b"x" * 100,
        headers={"content-type": "multipart/form-data; boundary=b", "content-length": str(50 * 1024 * 1024)},
    )
    assert r.status_code == 413


def test_bad_input_writes_nothing_to_disk_and_changes_nothing(client, served, monkeypatch, tmp_path) -> None:
    def no_disk(*args, **kwargs):
        raise AssertionError("an upload was about to be written to a temporary file")

    for name in ("TemporaryFile", "NamedTemporaryFile", "SpooledTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, no_disk)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = state_checksum(served.model)
    good = png_bytes(np.asarray(Image.fromarray(NOISE).resize((300, 300))))
    reference = client.post("/api/activations", files={"file": ("a.png", good)}).json()
    for _, kwargs, status, _ in cases():
        assert client.post("/api/activations", **kwargs).status_code == status
    assert client.post("/api/activations", files={"file": ("a.png", good)}).json() == reference
    assert state_checksum(served.model) == before
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("route", "fields"),
    [
        ("/api/activations", {}),
        ("/api/convolve", {"spec": '{"kernels": [[[1]]]}'}),
        ("/api/explain?method=saliency", {}),
    ],
)
@pytest.mark.parametrize(
    ("value", "status"),
    [(b"1" * (300 * 1024), 413), (b"\xff\xfe", 400), (b"seven", 422)],
    ids=["huge", "binary", "word"],
)
def test_a_bad_sample_field_is_a_clear_4xx(
    client: TestClient, route: str, fields: dict[str, str], value: bytes, status: int
) -> None:
    """The `sample` field goes through the one form-field reader: too long, not UTF-8 or not a number."""
    response = client.post(route, files={"sample": (None, value), **{k: (None, v) for k, v in fields.items()}})
    assert response.status_code == status, response.text
    assert "sample" in response.json()["detail"] or "test digit id" in response.json()["detail"]
