"""Every robustness case (bench/uploads.py) on a few fixed digits: the upload is read as the right digit.

The cases are the benchmark's own (``bench/robustness.py`` measures them on 500 digits per source); here
each case makes five MNIST test digits and three simulated hand-drawn digits into files, with fixed
seeds, and the committed model must read every one of them after ``preprocess=mnist``.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch

from app import preprocess
from bench import digits
from bench.uploads import CASES, place, render, thicken, upscale

MNIST_IDS = range(5)  # 7, 2, 1, 0, 4
STROKES = 3


def predict(served, pixels: np.ndarray) -> int:
    return int(served.forward(torch.from_numpy(pixels).reshape(1, 1, 28, 28))["probs"].argmax())


@pytest.fixture(scope="module")
def fixed_digits(test_set) -> digits.Digits:
    strokes = digits.strokes(STROKES, seed=7)
    images = np.concatenate([test_set.images[list(MNIST_IDS)], strokes.images])
    return digits.Digits(images, np.concatenate([test_set.labels[list(MNIST_IDS)], strokes.labels]))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_case_is_read_correctly(case, fixed_digits, served) -> None:
    for i, (digit, label) in enumerate(zip(fixed_digits.images, fixed_digits.labels, strict=True)):
        upload = case.make(digit, np.random.default_rng([zlib.crc32(case.name.encode()), i]))
        assert predict(served, preprocess.from_upload(upload.data)) == label, f"{case.name}, digit {i}"


def test_cases_are_seeded(fixed_digits) -> None:
    for case in CASES:
        a = case.make(fixed_digits.images[0], np.random.default_rng(3))
        b = case.make(fixed_digits.images[0], np.random.default_rng(3))
        assert a.data == b.data and np.array_equal(a.digit, b.digit), case.name


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_the_thick_marker_report_is_fixed(test_set, served, fmt) -> None:
    """The reported reproduction: test digits dilated with a 3x3 max filter at 28 px, scaled to 64x64,
    dark on white with 4-40 px margins. They came out as hollow outlines, read as 8 or 0 (69.6% correct
    on the first 500); the network reads the dilated digits themselves 97.6% right."""
    rng = np.random.default_rng(11)
    hits = 0
    for i in range(40):
        page = place(upscale(thicken(test_set.images[i]), 64), rng, (4, 40))
        data, _ = render(page, rng, paper=(1.0, 1.0, 1.0), ink_rgb=(0.0, 0.0, 0.0), fmt=fmt)
        hits += predict(served, preprocess.from_upload(data)) == test_set.labels[i]
    assert hits >= 38  # 39 today: the one miss, a "3", is an 8 to the network once dilated; before: 28
