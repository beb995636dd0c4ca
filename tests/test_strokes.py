"""Stroke-width augmentation: whole steps are SciPy's grey dilations/erosions, fractions blend them, the
random amounts are per image and reproducible."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import ndimage

from app.training.strokes import change_stroke_width, dilate, erode, random_stroke_width


@pytest.fixture(scope="module")
def batch(test_set) -> torch.Tensor:
    return torch.from_numpy(test_set.images[:16].astype(np.float32) / 255).unsqueeze(1)  # (16, 1, 28, 28)


def scipy_steps(x: torch.Tensor, k: int) -> np.ndarray:
    """k 3x3 grey dilations (k > 0) or erosions (k < 0) of each image, the edge extended (mode "nearest")."""
    op = ndimage.grey_dilation if k > 0 else ndimage.grey_erosion
    out = x.numpy().copy()
    for _ in range(abs(k)):
        out = np.stack([op(img, size=(1, 3, 3), mode="nearest") for img in out])
    return out


@pytest.mark.parametrize("k", [-2, -1, 1, 2])
def test_whole_steps_are_grey_dilations_and_erosions(batch, k) -> None:
    out = change_stroke_width(batch, torch.full((16,), float(k)))
    np.testing.assert_array_equal(out.numpy(), scipy_steps(batch, k))
    assert torch.equal(change_stroke_width(batch, torch.full((16,), 1.0)), dilate(batch))
    assert torch.equal(change_stroke_width(batch, torch.full((16,), -1.0)), erode(batch))


def test_fractional_steps_blend_the_whole_steps_on_either_side(batch) -> None:
    steps = torch.tensor([0.0, 0.5, -0.25, 1.75] * 4)
    out = change_stroke_width(batch, steps)
    up1, up2, down1 = dilate(batch), dilate(dilate(batch)), erode(batch)
    torch.testing.assert_close(out[0], batch[0])
    torch.testing.assert_close(out[1], 0.5 * batch[1] + 0.5 * up1[1])
    torch.testing.assert_close(out[2], 0.75 * batch[2] + 0.25 * down1[2])
    torch.testing.assert_close(out[3], 0.25 * up1[3] + 0.75 * up2[3])


def test_random_widths_are_per_image_reproducible_and_in_range(batch) -> None:
    before = batch.clone()
    a = random_stroke_width(batch, torch.Generator().manual_seed(3), p=1.0)
    b = random_stroke_width(batch, torch.Generator().manual_seed(3), p=1.0)
    c = random_stroke_width(batch, torch.Generator().manual_seed(4), p=1.0)
    assert torch.equal(batch, before)  # the input is left alone
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == batch.shape and a.dtype == batch.dtype and a.min() >= 0 and a.max() <= 1
    ratios = a.sum((1, 2, 3)) / batch.sum((1, 2, 3))  # (16,) ink mass, changed per image
    assert ratios.min() < 0.95 and ratios.max() > 1.05 and len(set(ratios.round(decimals=3).tolist())) == 16
    lo, hi = change_stroke_width(batch, torch.full((16,), -0.5)), dilate(batch)
    assert torch.all(a >= lo - 1e-6) and torch.all(a <= hi + 1e-6)  # between -0.5 and +1 steps


def test_probability_and_one_sided_ranges(batch) -> None:
    gen = torch.Generator().manual_seed(0)
    assert torch.equal(random_stroke_width(batch, gen, p=0.0), batch)
    assert torch.all(random_stroke_width(batch, gen, thinner=0.0, p=1.0) >= batch)
    assert torch.all(random_stroke_width(batch, gen, thicker=0.0, p=1.0) <= batch)
    kept = (random_stroke_width(batch, torch.Generator().manual_seed(1), p=0.5) == batch).all((1, 2, 3))
    assert 0 < int(kept.sum()) < 16  # about half left as they are


def test_bad_arguments_are_refused(batch) -> None:
    with pytest.raises(ValueError, match="steps must have shape"):
        change_stroke_width(batch, torch.zeros(3))
    with pytest.raises(ValueError, match="p in"):
        random_stroke_width(batch, torch.Generator(), p=1.5)
