"""The array operations behind the upload preprocessing, against SciPy's."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from app import morphology


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return np.random.default_rng(0).random((37, 52)).astype(np.float32)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 7, 60])
def test_rank_filters_match_scipy(image, size) -> None:
    # windows clipped at the edges = the edge value repeated (mode "nearest"), for a min or a max
    np.testing.assert_array_equal(
        morphology.rank_filter(image, size, np.min), ndimage.minimum_filter(image, size, mode="nearest")
    )
    np.testing.assert_array_equal(
        morphology.rank_filter(image, size, np.max), ndimage.maximum_filter(image, size, mode="nearest")
    )


@pytest.mark.parametrize("size", [3, 5, 9])
def test_opening_matches_scipy_away_from_the_edges(image, size) -> None:
    inner = (slice(size, -size), slice(size, -size))  # the edges are extended differently
    expected = ndimage.grey_opening(image, size, mode="nearest")
    np.testing.assert_array_equal(morphology.opening(image, size)[inner], expected[inner])


@pytest.mark.parametrize("size", [5, 21, 45])
def test_opening_keeps_light_that_falls_one_way_and_removes_what_no_window_fits_in(size) -> None:
    ys, xs = np.mgrid[0:160, 0:160].astype(np.float32)
    light = 0.3 + 0.001 * xs + 0.0008 * ys + 0.2 * (xs + 0.5 * ys > 100)  # a ramp and a shadow's edge
    np.testing.assert_allclose(morphology.opening(light, size), light, atol=1e-6)
    page = light.copy()
    page[60 : 60 + size - 1, 5:40] += 0.5  # a stroke one pixel narrower than the window, on one side of the edge
    # under the stroke the light is bridged from the paper around it: off by at most its fall over a window
    np.testing.assert_allclose(morphology.opening(page, size), light, atol=0.0018 * size + 1e-6)
    page[10 : 10 + size, 100 : 100 + size] += 0.5  # a blob a window fits in stays
    assert (morphology.opening(page, size) > light + 0.4).sum() >= size * size


def test_gaussian_blur_matches_scipy(image) -> None:
    # numpy's "reflect" padding is SciPy's "mirror"; radius 3 sigma
    np.testing.assert_allclose(
        morphology.gaussian_blur(image, 1.0),
        ndimage.gaussian_filter(image, 1.0, mode="mirror", truncate=3.0),
        atol=1e-6,
    )


@pytest.mark.parametrize("size", [3, 9, 13])
def test_local_median_is_scipys_median_filter_on_its_grid_and_follows_shading(image, size) -> None:
    exact = ndimage.median_filter(image, size, mode="mirror")  # numpy's "reflect" padding
    np.testing.assert_allclose(morphology.local_median(image, size)[::2, ::2], exact[::2, ::2], atol=1e-6)
    ys, xs = np.mgrid[0:48, 0:64].astype(np.float32)
    shading = 0.3 + 0.01 * xs + 0.005 * ys
    page = shading.copy()
    np.testing.assert_allclose(morphology.local_median(shading, 13)[6:-6, 6:-6], shading[6:-6, 6:-6], atol=1e-5)
    page[20:23, 5:60] -= 0.5  # a stroke: under half of every window, it shifts the median a little only
    np.testing.assert_allclose(morphology.local_median(page, 13)[6:-6, 6:-6], shading[6:-6, 6:-6], atol=0.03)


def test_noise_estimate_sees_noise_not_shading() -> None:
    rng = np.random.default_rng(1)
    ys, xs = np.mgrid[0:200, 0:200]
    shading = 0.2 + 0.6 * xs / 200 + 0.1 * np.sin(ys / 20)
    assert morphology.noise_sigma(shading) < 0.005
    assert morphology.noise_sigma(shading + rng.normal(0, 0.05, shading.shape)) == pytest.approx(0.05, rel=0.08)


def test_box_mean_matches_scipy(image) -> None:
    np.testing.assert_allclose(
        morphology.box_mean3(image), ndimage.uniform_filter(image, 3, mode="constant"), atol=1e-6
    )


@pytest.mark.parametrize("width", [2, 5, 12])
def test_stroke_width_of_a_bar_even_at_the_edges(width) -> None:
    bar = np.zeros((100, 40), bool)
    bar[:, 10 : 10 + width] = True
    assert morphology.stroke_width(bar) == pytest.approx(width, rel=0.15)
    assert morphology.stroke_width(bar[:, 10 : 10 + width]) == pytest.approx(width, rel=0.15)  # cut to it


@pytest.mark.parametrize("seed", range(4))
def test_run_components_match_scipys_eight_connected_labels(seed) -> None:
    mask = np.random.default_rng(seed).random((60, 70)) < (0.35 + 0.05 * seed)
    rows, starts, ends = morphology.runs(mask)
    ids = morphology.run_components(rows, starts, ends)
    labels, count = ndimage.label(mask, structure=np.ones((3, 3)))
    theirs = labels[rows, starts]  # each run lies in one of SciPy's components
    assert all(len(set(labels[r, s:e])) == 1 for r, s, e in zip(rows, starts, ends, strict=True))
    pairs = set(zip(ids.tolist(), theirs.tolist(), strict=True))
    assert len(pairs) == len(set(ids.tolist())) == len(set(theirs.tolist())) == count  # the same partition
    rebuilt = np.zeros_like(mask)
    for r, s, e in zip(rows, starts, ends, strict=True):
        rebuilt[r, s:e] = True
    np.testing.assert_array_equal(rebuilt, mask)


def median_cases() -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    cases = []
    for n in [1, 2, 3, 4, 5, 28, 49, 50, 784, 785]:
        for dtype in (np.float32, np.float64):
            cases.append(rng.random(n).astype(dtype))
            cases.append(rng.integers(0, 3, n).astype(dtype))  # ties
            cases.append((rng.random(n) * 1e-3).astype(dtype).reshape(1, -1))  # any shape: all values
    nan = rng.random(9).astype(np.float32)
    nan[4] = np.nan
    cases.append(nan)
    cases.append(np.array([np.nan, 1.0, 2.0, 3.0]))
    cases.append(np.array([np.inf, -np.inf, 0.5, 0.25]))
    return cases


@pytest.mark.parametrize("values", median_cases(), ids=lambda a: f"{a.dtype}x{a.size}")
def test_median_is_numpys_bit_for_bit(values) -> None:
    want, got = float(np.median(values)), morphology.median(values)
    assert (np.isnan(want) and np.isnan(got)) or want == got


@pytest.mark.parametrize("dtype", [bool, np.int8, np.float32, np.float64])
@pytest.mark.parametrize("width", [0, 1, 3])
def test_zero_pad_is_numpys(dtype, width) -> None:
    a = (np.random.default_rng(1).random((5, 7)) > 0.5).astype(dtype)
    got, want = morphology.zero_pad(a, width), np.pad(a, width)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)
