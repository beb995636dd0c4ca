"""Malformed-but-small requests: nested JSON, over-long multipart boundaries, HEAD probes and echoed input.
Each limit is checked just under (accepted, or refused for another reason) and just over (refused, naming it)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from app.routes.inputs import MAX_JSON_DEPTH, text_depth
from app.serving.errors import DETAIL_LIMIT, ECHO_LIMIT, WORDS, capped
from app.serving.forms import MAX_BOUNDARY

MULTIPART_ROUTES = [
    ("/api/activations", {}),
    ("/api/receptive-field", {"layer": "conv1", "y": "3", "x": "3"}),
    ("/api/explain?method=saliency", {}),
    ("/api/mix", {"matrix": json.dumps([[1.0] * 20])}),
    ("/api/batchnorm", {"samples": "4"}),
    ("/api/convolve", {"spec": json.dumps({"kernels": [[[1.0]]]})}),
    ("/api/pool", {}),
]


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def test_text_depth_counts_brackets_outside_strings() -> None:
    assert text_depth('[[1, "[[[[", {"a": ["]]"]}]]') == 4
    assert text_depth('"[[[["') == 0
    assert text_depth(nested(100_000), limit=MAX_JSON_DEPTH) == MAX_JSON_DEPTH + 1  # stops counting early


@pytest.mark.parametrize(
    ("route", "field", "base"),
    [
        ("/api/mix", "matrix", {}),
        ("/api/mix", "bias", {"matrix": json.dumps([[0.5] * 20])}),
        ("/api/activations", "conv1_override", {}),
    ],
)
def test_deeply_nested_json_fields_are_a_422(client: TestClient, route: str, field: str, base: dict) -> None:
    for depth in (MAX_JSON_DEPTH + 1, 100_000):
        r = client.post(route, data={"sample": "0", **base, field: nested(depth)})
        assert r.status_code == 422, r.text[:300]
        assert (
            r.json()["detail"]
            == f"{WORDS[field]} is nested more than {MAX_JSON_DEPTH} levels deep (JSON lists or objects)."
        )
    just_under = client.post(route, data={"sample": "0", **base, field: nested(MAX_JSON_DEPTH)})
    assert just_under.status_code == 422  # parsed, then refused as the wrong shape, not for its depth
    assert "nested" not in just_under.json()["detail"], just_under.text


def test_deeply_nested_keys_of_a_json_body_are_a_422(client: TestClient) -> None:
    pixels = [[0.0] * 28 for _ in range(28)]
    over = json.loads(nested(MAX_JSON_DEPTH + 1))
    r = client.post("/api/mix", json={"pixels": pixels, "matrix": over})
    assert r.status_code == 422
    assert r.json()["detail"] == f"The matrix is nested more than {MAX_JSON_DEPTH} levels deep (JSON lists or objects)."
    under = json.loads(nested(MAX_JSON_DEPTH))
    r = client.post("/api/mix", json={"pixels": pixels, "matrix": under})
    assert r.status_code == 422 and "nested" not in r.json()["detail"], r.text[:300]
    r = client.post("/api/activations", content=nested(100_000).encode(), headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text[:300]  # the body itself: pydantic's parser refuses it as invalid JSON


def multipart_with_boundary(boundary: str, fields: dict[str, str]) -> bytes:
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items()]
    return ("".join(parts) + f"--{boundary}--\r\n").encode()


@pytest.mark.parametrize(("route", "fields"), MULTIPART_ROUTES, ids=[r for r, _ in MULTIPART_ROUTES])
def test_boundary_length_limit_on_every_multipart_route(client: TestClient, route: str, fields: dict) -> None:
    if route != "/api/batchnorm":
        fields = {"sample": "0", **fields}
    for length, ok in ((MAX_BOUNDARY, True), (MAX_BOUNDARY + 1, False), (300, False)):
        boundary = "b" * length
        r = client.post(
            route,
            content=multipart_with_boundary(boundary, fields),
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        )
        if ok:
            assert r.status_code == 200, (route, r.text[:300])
        else:
            assert r.status_code == 400, (route, length, r.text[:300])
            assert f"at most {MAX_BOUNDARY}" in r.json()["detail"]


@pytest.mark.parametrize("path", ["/healthz", "/", "/api/model", "/static/js/api.js"])
def test_head_is_answered_like_get_without_a_body(client: TestClient, path: str) -> None:
    get = client.get(path)
    head = client.head(path)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.content))
    assert head.headers["content-type"] == get.headers["content-type"]


def test_head_on_a_post_route_stays_a_405(client: TestClient) -> None:
    r = client.head("/api/activations")
    assert r.status_code == 405 and r.content == b""
    assert "POST" in r.headers["allow"]


def test_capped_keeps_words_up_to_the_limit_and_cuts_longer_ones() -> None:
    assert capped("unknown layer " + "x" * ECHO_LIMIT) == "unknown layer " + "x" * ECHO_LIMIT
    over = capped("unknown layer " + "x" * (ECHO_LIMIT + 1))
    assert over == "unknown layer " + "x" * ECHO_LIMIT + f"... ({ECHO_LIMIT + 1} characters)"
    spaced = capped("a " * DETAIL_LIMIT)
    assert len(spaced) < DETAIL_LIMIT + 40 and spaced.endswith(f"({2 * DETAIL_LIMIT} characters)")


def test_echoed_input_is_capped_in_error_details(client: TestClient) -> None:
    long_name = "z" * 200_000
    r = client.post("/api/receptive-field", data={"sample": "0", "layer": long_name, "y": "1", "x": "1"})
    assert r.status_code == 404
    detail = r.json()["detail"]
    assert len(detail) < 600 and "... (20000" in detail, detail  # the quoted name, cut
    r = client.get("/api/layers/" + "w" * 60_000 + "/weights")
    assert r.status_code == 404 and len(r.json()["detail"]) < 600
    r = client.post("/api/activations?layers=" + "y" * 60_000, data={"sample": "0"})
    assert r.status_code == 422 and len(r.text) < 1000
