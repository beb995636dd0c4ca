"""Error messages in words a student understands: the one formatter (``validation_detail``) on its own,
and every route's answers to bad input, which all go through it."""

from __future__ import annotations

import json
import re

import pytest
from pydantic import BaseModel, Field, ValidationError

from app.serving.errors import validation_detail

# Words a reader should never see: pydantic's and FastAPI's own phrasing and locations.
JARGON = re.compile(r"Input should|Value error|Field required|query\.|path\.|body\.|spec\.|\[\d+\]\[\d+\]|List should")


def said(detail: str) -> None:
    """A detail is whole sentences, free of the validator's jargon."""
    assert not JARGON.search(detail), detail
    assert detail.endswith("."), detail
    assert detail[0].isupper() or detail.split(" ", 1)[0] in {"dtype", "preprocess"}, detail


class Spec(BaseModel):
    stride: int = Field(default=1, strict=True, ge=1, le=64)
    kernels: list[list[list[float]]] = Field(default=[[[1.0]]], min_length=1, max_length=8)
    pixels: list[list[float]] = Field(default=[[0.0]], max_length=28)


def errors_of(data: object) -> list:
    with pytest.raises(ValidationError) as caught:
        Spec.model_validate(data)
    return caught.value.errors()


@pytest.mark.parametrize(
    ("data", "sentence"),
    [
        ({"stride": 0}, "Stride must be a whole number of at least 1, not 0."),
        ({"stride": 65}, "Stride must be a whole number of at most 64, not 65."),
        ({"stride": 1.5}, "Stride must be a whole number, not 1.5."),
        ({"stride": "two"}, "Stride must be a whole number, not \u201ctwo\u201d."),
        ({"kernels": []}, "The kernels must have at least 1 kernel, not 0."),
        ({"kernels": [[[1.0]]] * 9}, "The kernels must have at most 8 kernels, not 9."),
        ({"kernels": [[[1.0], ["x"]]]}, "Kernel A, row 2, column 1 must be a number, not \u201cx\u201d."),
        ({"kernels": [[[1.0]], 3]}, "Kernel B must be a list (a JSON array), not 3."),
        ({"pixels": [[0.0]] * 29}, "The pixels must have at most 28 rows, not 29."),
        ({"strde": 2}, None),  # extra fields are allowed by this model: no error
    ],
)
def test_one_error_one_sentence(data: dict, sentence: str | None) -> None:
    if sentence is None:
        Spec.model_validate(data)
        return
    detail = validation_detail(errors_of(data))
    assert detail == sentence
    said(detail)


def test_many_errors_like_one_another_are_said_once() -> None:
    errors = [
        {"loc": ("body", "pixels", r, c), "type": "less_than_equal", "msg": "...", "input": 2, "ctx": {"le": 1.0}}
        for r in range(28)
        for c in range(28)
    ]
    assert validation_detail(errors) == "The pixel in row 1, column 1 must be at most 1, not 2 (and 783 more like it)."


def test_at_most_a_few_sentences() -> None:
    errors = [{"loc": ("query", name), "type": "missing", "msg": "Field required"} for name in "abcdef"]
    detail = validation_detail(errors, limit=3)
    assert detail.count(" is missing.") == 3 and detail.endswith("3 more problems."), detail


@pytest.mark.parametrize(
    ("error", "sentence"),
    [
        # the core's own words follow the field they name, which may be further in than the location
        (
            {"loc": ("spec", "kernels"), "type": "value_error", "msg": "Value error, kernels[1]: the kernel is empty"},
            "Kernel B: the kernel is empty.",
        ),
        (
            {"loc": ("spec", "padding"), "type": "value_error", "msg": "Value error, must be 0..3"},
            "Padding must be 0..3.",
        ),
        ({"loc": (), "type": "value_error", "msg": "unknown model 'x'"}, "Unknown model 'x'."),
        ({"loc": ("matrix",), "type": "value_error", "msg": "matrix[2]: too short"}, "Row 3 of the matrix: too short."),
        (
            {"loc": ("conv1_override",), "type": "value_error", "msg": "conv1_override.channel: must be 0 to 19"},
            "The conv1 override\u2019s channel must be 0 to 19.",
        ),
        ({"loc": ("body", "spec"), "type": "json_invalid", "msg": "", "ctx": {"error": "EOF"}}, None),
        ({"loc": ("query", "dtype"), "type": "literal_error", "input": "f8", "ctx": {"expected": "'a' or 'b'"}}, None),
    ],
)
def test_core_messages_keep_their_words(error: dict, sentence: str | None) -> None:
    detail = validation_detail([error])
    if sentence:
        assert detail == sentence
    said(detail)


# --- every route, through the app ------------------------------------------------------------------------

SPEC = json.dumps({"kernels": [[[1]]]})


def multipart(**fields: str) -> dict:
    return {"files": {k: (None, v) for k, v in fields.items()}}


BAD = [
    # (method, url, request kwargs, status, words the detail must hold)
    ("get", "/api/model?model=nope", {}, 404, "Unknown model"),
    ("get", "/api/model/card?model=nope", {}, 404, "Unknown model"),
    ("get", "/api/samples?model=nope", {}, 404, "Unknown model"),
    ("get", "/api/samples/abc.png", {}, 422, "The test digit id must be a whole number, not \u201cabc\u201d."),
    ("get", "/api/samples/99999.png", {}, 404, "No sample 99999"),
    ("get", "/api/layers/conv1/weights?dtype=float64", {}, 422, "dtype must be 'float32' or 'float16'"),
    ("get", "/api/layers/nope/weights", {}, 404, "Unknown layer"),
    ("get", "/api/layers/conv1/channels/abc/top", {}, 422, "Channel must be a whole number, not \u201cabc\u201d."),
    ("get", "/api/layers/conv1/channels/99/top", {}, 404, "No channel 99 in conv1"),
    ("post", "/api/activations", multipart(sample="abc"), 422, "The test digit id must be a whole number"),
    ("post", "/api/activations", multipart(sample="-1"), 404, "The test digit id: no sample -1"),
    ("post", "/api/activations?dtype=f8", multipart(sample="1"), 422, "dtype must be"),
    ("post", "/api/activations?layers=conv9", multipart(sample="1"), 422, "The layers: unknown layer(s) 'conv9'"),
    (
        "post",
        "/api/activations",
        multipart(sample="1", conv1_override=json.dumps({"channel": 40, "kernel": [[1]]})),
        422,
        "The conv1 override\u2019s channel must be a whole number from 0 to 19",
    ),
    (
        "post",
        "/api/activations",
        {"json": {"pixels": [[2] * 28] * 28}},
        422,
        "The pixel in row 1, column 1 must be at most 1, not 2 (and 783 more like it).",
    ),
    (
        "post",
        "/api/activations",
        {"json": {"pixels": [[0] * 28] * 27}},
        422,
        "The pixels: expected 28 x 28 values (the network's input), not 27 x 28.",
    ),
    (
        "post",
        "/api/receptive-field",
        multipart(sample="1", layer="conv1", channel="0", y="99", x="0"),
        422,
        "Row y: 99 is out of range",
    ),
    ("post", "/api/receptive-field", multipart(sample="1", layer="conv1", channel="x"), 422, "Channel must be a whole"),
    (
        "post",
        "/api/explain?method=foo",
        multipart(sample="1"),
        422,
        "The method must be 'saliency', 'gradcam', 'hirescam' or",
    ),
    ("post", "/api/explain?method=occlusion&patch=0", multipart(sample="1"), 422, "The patch size must be a whole"),
    (
        "post",
        "/api/explain?method=saliency&target=11",
        multipart(sample="1"),
        422,
        "The class to explain must be from 0 to 9, not 11.",
    ),
    ("post", "/api/mix", multipart(sample="1", matrix="[[1]]"), 422, "Row 1 of the matrix"),
    ("post", "/api/mix", multipart(sample="1", matrix="[[1"), 422, "The matrix is not valid JSON"),
    (
        "post",
        "/api/batchnorm",
        multipart(samples="9999"),
        422,
        "The number of test digits must be a whole number of at",
    ),
    ("post", "/api/batchnorm", multipart(samples="0"), 422, "The number of test digits is 0"),
    ("post", "/api/batchnorm", multipart(samples="x"), 422, "The number of test digits must be a whole number, not"),
    ("get", "/api/batchnorm/fold?model=lenet", {}, 422, "has no BatchNorm layers"),
    ("get", "/api/batchnorm/fold?weights=maybe", {}, 422, "Weights must be true or false"),
    (
        "post",
        "/api/convolve",
        multipart(sample="1", spec=json.dumps({"kernels": [[[1]]], "stride": 0})),
        422,
        "Stride must be a whole number of at least 1, not 0.",
    ),
    ("post", "/api/convolve", multipart(sample="1"), 422, "The spec is missing"),
    ("post", "/api/convolve", multipart(sample="1", spec="{bad"), 422, "The spec is not valid JSON"),
    (
        "post",
        "/api/convolve",
        multipart(sample="1", spec=json.dumps({"kernels": [[[1, 2]]]})),
        422,
        "Kernel A: ",
    ),
    ("post", "/api/convolve?include=nope", multipart(sample="1", spec=SPEC), 422, "unknown part"),
    (
        "post",
        "/api/pool",
        multipart(sample="1", spec=json.dumps({"size": 3, "padding": 2})),
        422,
        "Padding must be at most half the window size, 3 // 2 = 1, not 2.",
    ),
    ("post", "/api/pool", multipart(sample="1", spec=json.dumps({"op": "min"})), 422, "The pooling operation must be"),
]


@pytest.mark.parametrize(("method", "url", "kwargs", "status", "words"), BAD, ids=[f"{b[0]} {b[1]}" for b in BAD])
def test_every_route_says_what_was_wrong_in_words(client, method: str, url: str, kwargs: dict, status: int, words: str):
    reply = getattr(client, method)(url, **kwargs)
    assert reply.status_code == status, reply.text
    detail = reply.json()["detail"]
    assert words in detail, detail
    said(detail)


def test_field_errors_stay_machine_readable(client) -> None:
    """Beside the sentences, ``errors`` names each field for programs (its location and pydantic's type)."""
    reply = client.post(
        "/api/convolve", files={"sample": (None, "1"), "spec": (None, '{"kernels": [[[1]]], "stride": 0}')}
    )
    assert reply.status_code == 422
    (error,) = reply.json()["errors"]
    assert error["loc"] == ["body", "spec", "stride"] and error["type"] == "greater_than_equal"
    assert error["message"] == "Stride must be a whole number of at least 1, not 0."
