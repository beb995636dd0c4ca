"""POST /api/convolve1d against numpy.convolve and numpy.correlate: outputs, lengths, the products of every
output, and the lecture's example, the sum of two dice."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.schemas.signal import Convolve1dResponse

NUMPY = {"convolution": np.convolve, "correlation": np.correlate}


def post(client, body: dict):
    return client.post("/api/convolve1d", json=body)


def test_two_dice_give_the_triangle(client) -> None:
    die = [1 / 6] * 6
    r = post(client, {"signal": die, "kernel": die})
    assert r.status_code == 200, r.text
    body = Convolve1dResponse.model_validate(r.json())
    exact = [Fraction(6 - abs(s - 7), 36) for s in range(2, 13)]  # P(sum = s), s = 2..12
    assert body.output == pytest.approx([float(p) for p in exact], abs=1e-15)
    assert sum(body.output) == pytest.approx(1)
    seven = body.steps[5]  # the sum 7 = 2 + 5: six ways
    assert len(seven.terms) == 6 and [(t.i, t.j) for t in seven.terms] == [(k, 5 - k) for k in range(6)]


def test_a_loaded_die_and_the_flip(client) -> None:
    """Convolution pairs a[k] with b[n - k] (the kernel runs backwards); correlation with b[k - n + M - 1]."""
    a, b = [1, 2, 3], [10, 20, 40, 80]
    conv = Convolve1dResponse.model_validate(post(client, {"signal": a, "kernel": b}).json())
    assert conv.flipped_kernel == [80, 40, 20, 10]
    assert [(t.i, t.j) for t in conv.steps[1].terms] == [(0, 1), (1, 0)]
    corr = Convolve1dResponse.model_validate(post(client, {"signal": a, "kernel": b, "mode": "correlation"}).json())
    assert corr.flipped_kernel == b
    assert [(t.i, t.j) for t in corr.steps[0].terms] == [(0, 3)]  # the first overlap: a[0] under b's last value
    np.testing.assert_allclose(corr.output, np.correlate(a, b, "full"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    a=st.lists(st.integers(-20, 20), min_size=1, max_size=12),
    b=st.lists(st.integers(-20, 20), min_size=1, max_size=12),
    mode=st.sampled_from(["convolution", "correlation"]),
    padding=st.sampled_from(["full", "same", "valid"]),
)
def test_matches_numpy(client, a: list[int], b: list[int], mode: str, padding: str) -> None:
    r = post(client, {"signal": a, "kernel": b, "mode": mode, "padding": padding})
    assert r.status_code == 200, r.text
    body = Convolve1dResponse.model_validate(r.json())
    want = NUMPY[mode](np.asarray(a, float), np.asarray(b, float), padding)
    assert body.output == want.tolist()  # small integers: exact
    for step in body.steps:
        assert step.sum == sum(t.product for t in step.terms)
        for t in step.terms:
            assert (t.a, t.b, t.product) == (a[t.i], b[t.j], a[t.i] * b[t.j])
            if mode == "convolution":
                assert t.i + t.j == step.full_index
            else:
                assert t.j - t.i == len(b) - 1 - step.full_index
        assert [t.i for t in step.terms] == sorted(t.i for t in step.terms)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"signal": [], "kernel": [1]}, "signal"),
        ({"signal": [1] * 129, "kernel": [1]}, "signal"),
        ({"signal": [1], "kernel": ["x"]}, "kernel"),
        ({"signal": [1], "kernel": [1], "mode": "fft"}, "mode"),
        ({"signal": [1], "kernel": [1], "padding": "circular"}, "Padding must be"),
        ({"signal": [1], "kernel": [1e9]}, "kernel"),
        ({"signal": [1], "kernel": [1], "extra": 1}, "extra"),
        ({"kernel": [1]}, "signal"),
    ],
)
def test_bad_requests_name_the_field(client, body: dict, words: str) -> None:
    r = post(client, body)
    assert r.status_code == 422, r.text
    assert words in r.json()["detail"]
