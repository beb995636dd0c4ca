"""Upload preprocessing: photos, screenshots and drawings all come out like MNIST."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter

from app import preprocess
from app.serving.inference import ServedModel
from tests.helpers import encode, png_bytes


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def predict(served: ServedModel, pixels: np.ndarray) -> int:
    x = torch.from_numpy(pixels).reshape(1, 1, 28, 28)
    return int(served.forward(x)["probs"].argmax())


def dark_on_light_x8_off_centre_jpeg(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    big = Image.fromarray(255 - digit).resize((224, 224), Image.Resampling.BILINEAR)
    canvas = Image.new("L", (420, 380), 255)
    canvas.paste(big, (int(rng.integers(0, 196)), int(rng.integers(0, 156))))
    return encode(canvas, "JPEG", quality=85)


def pen_on_paper_photo(digit: np.ndarray, rng: np.random.Generator) -> bytes:
    """A thin dark pen stroke on unevenly lit, noisy, slightly yellow paper, as an RGB JPEG."""
    mask = np.asarray(Image.fromarray(digit).resize((336, 336), Image.Resampling.BILINEAR)) > 128
    stroke = Image.fromarray((mask * 255).astype(np.uint8))
    for size in (11, 7, 3):  # erode to a pen's width, as far as the digit survives
        thin = stroke.filter(ImageFilter.MinFilter(size))
        if np.asarray(thin).any():
            break
    ink = np.asarray(thin.filter(ImageFilter.GaussianBlur(1.2)), dtype=np.float32) / 255
    h, w = 600, 520
    yy, xx = np.mgrid[0:h, 0:w]
    paper = 0.95 - 0.25 * xx / w - 0.1 * yy / h + rng.normal(0, 0.03, (h, w))
    top, left = int(rng.integers(20, h - 356)), int(rng.integers(20, w - 356))
    region = paper[top : top + 336, left : left + 336]
    paper[top : top + 336, left : left + 336] = region * (1 - ink) + 0.15 * ink
    rgb = np.clip(np.stack([paper * 0.98, paper * 0.95, paper * 0.9], -1), 0, 1)
    return encode(Image.fromarray((rgb * 255).astype(np.uint8)), "JPEG", quality=88)


def accuracy(served, test_set, make, n, rng) -> float:
    hits = sum(
        predict(served, preprocess.from_upload(make(test_set.images[i], rng))) == test_set.labels[i] for i in range(n)
    )
    return hits / n


def test_scaled_inverted_off_centre_jpegs_keep_their_label(served, test_set, rng) -> None:
    assert accuracy(served, test_set, dark_on_light_x8_off_centre_jpeg, 200, rng) >= 0.97


def test_pen_on_paper_photos_keep_their_label(served, test_set, rng) -> None:
    assert accuracy(served, test_set, pen_on_paper_photo, 60, rng) >= 0.95


def test_an_mnist_digit_comes_back_almost_unchanged(test_set) -> None:
    for i in range(20):
        digit = test_set.images[i].astype(np.float32) / 255
        out = preprocess.from_upload(png_bytes(test_set.images[i]))
        assert out.shape == (28, 28) and out.dtype == np.float32
        assert out.min() >= 0.0 and out.max() == pytest.approx(1.0)
        # the same picture, up to the 1 px that re-centring by mass may move it
        best = max(
            np.corrcoef(np.roll(out, (dy, dx), (0, 1)).ravel(), digit.ravel())[0, 1]
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
        )
        assert best > 0.98


def test_output_is_centred_by_mass_and_fits_20_pixels(test_set) -> None:
    out = preprocess.from_upload(dark_on_light_x8_off_centre_jpeg(test_set.images[7], np.random.default_rng(0)))
    ys, xs = np.mgrid[0:28, 0:28]
    mass = out.sum()
    assert abs((out * ys).sum() / mass - 14) < 0.75 and abs((out * xs).sum() / mass - 14) < 0.75
    rows, cols = np.flatnonzero(out.any(1)), np.flatnonzero(out.any(0))
    assert max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) <= 21


def test_white_on_black_drawing_is_not_inverted(test_set, served) -> None:
    drawing = Image.fromarray(test_set.images[3]).resize((280, 280), Image.Resampling.BILINEAR).convert("RGB")
    assert predict(served, preprocess.from_upload(encode(drawing, "PNG"))) == test_set.labels[3]


@pytest.mark.parametrize("ink", ["dark", "light"])
def test_transparency_is_composited_against_the_ink(test_set, served, ink) -> None:
    alpha = np.asarray(Image.fromarray(test_set.images[5]).resize((140, 140), Image.Resampling.BILINEAR))
    colour = 0 if ink == "dark" else 255
    rgba = np.dstack([np.full((140, 140, 3), colour, np.uint8), alpha])  # ink only in the alpha channel
    out = preprocess.from_upload(png_bytes(rgba, mode="RGBA"))
    assert predict(served, out) == test_set.labels[5]


def test_sixteen_bit_grayscale_keeps_its_range(test_set, served) -> None:
    wide = (test_set.images[11].astype(np.uint16) * 257).astype(np.uint16)  # 0..65535
    img = Image.fromarray(wide)
    assert img.mode.startswith("I;16")
    gray = preprocess.to_gray(img)
    np.testing.assert_allclose(gray, test_set.images[11] / 255, atol=1e-6)
    assert predict(served, preprocess.from_upload(encode(img, "PNG"))) == test_set.labels[11]


def test_palette_gif_webp_and_bmp_decode(test_set, served) -> None:
    digit = Image.fromarray(255 - test_set.images[21]).resize((84, 84))
    for fmt, img in [("GIF", digit.convert("P")), ("WEBP", digit.convert("RGB")), ("BMP", digit)]:
        out = preprocess.from_upload(encode(img, fmt, **({"lossless": True} if fmt == "WEBP" else {})))
        assert predict(served, out) == test_set.labels[21], fmt


def test_exif_orientation_is_applied(test_set, served) -> None:
    upright = Image.fromarray(255 - test_set.images[33]).resize((112, 112))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what the camera wrote
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": undoes the ROTATE_90 (counter-clockwise) above
    data = encode(stored, "JPEG", quality=95, exif=exif.tobytes())
    assert predict(served, preprocess.from_upload(data)) == test_set.labels[33]
    decoded = preprocess.decode(data)
    assert np.abs(np.asarray(decoded, np.float32) - np.asarray(upright, np.float32)).mean() < 8


def test_drawn_pixels_are_centred_but_never_inverted(test_set) -> None:
    pixels = np.zeros((28, 28), np.float32)
    pixels[2:12, 2:12] = np.asarray(Image.fromarray(test_set.images[0]).resize((10, 10)), np.float32) / 255
    out = preprocess.from_pixels(pixels)
    ys, _ = np.mgrid[0:28, 0:28]
    assert abs((out * ys).sum() / out.sum() - 14) < 0.75
    assert out.max() == pytest.approx(1.0)
    assert np.array_equal(preprocess.from_pixels(pixels, "none"), pixels)
    assert not preprocess.from_pixels(np.zeros((28, 28), np.float32)).any()  # an empty pad stays empty


def test_preprocess_none_is_a_plain_resize() -> None:
    ramp = np.tile(np.linspace(0, 255, 56).astype(np.uint8), (56, 1))
    out = preprocess.from_upload(png_bytes(ramp), "none")
    expected = np.asarray(Image.fromarray(ramp).resize((28, 28), Image.Resampling.BOX), np.float32) / 255
    np.testing.assert_allclose(out, expected, atol=1 / 255 + 1e-6)


@pytest.mark.parametrize(
    ("data", "status", "message"),
    [
        (b"", 400, "empty"),
        (b"hello, I am text", 415, "not a supported image"),
        (
            png_bytes(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8))[:900],
            400,
            "could not be decoded",
        ),
        (png_bytes(np.full((30, 30), 255, np.uint8)), 422, "no digit found"),
        (png_bytes(np.zeros((1, 1), np.uint8)), 422, "no digit found"),
    ],
)
def test_bad_uploads_raise_image_errors(data, status, message) -> None:
    with pytest.raises(preprocess.ImageError, match=message) as info:
        preprocess.from_upload(data)
    assert info.value.status == status


def test_pixel_count_is_refused_before_decoding() -> None:
    big = encode(Image.new("L", (5000, 4000)), "PNG")  # small file, 20 M pixels
    with pytest.raises(preprocess.ImageError, match="refused before decoding") as info:
        preprocess.decode(big)
    assert info.value.status == 413
    with pytest.raises(preprocess.ImageError, match="limit is 100 bytes") as info:
        preprocess.decode(big, preprocess.Limits(max_bytes=100))
    assert info.value.status == 413


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="preprocess must be"):
        preprocess.from_upload(io.BytesIO().getvalue() or b"x", mode="fancy")


def solid_shapes_page(shape: str, light: str = "even") -> bytes:
    """A black filled disk or thick bar on white paper, evenly lit or under a strong ramp of light."""
    h, w = 180, 160
    yy, xx = np.mgrid[0:h, 0:w]
    disk = np.hypot(yy - 90, xx - 80) <= 55
    bar = (np.abs(xx - 80) <= 22) & (np.abs(yy - 90) <= 70)  # 45 px wide: a "1" drawn with a marker
    ink = disk if shape == "disk" else bar
    light_map = 1.0 if light == "even" else 1.0 - 0.5 * xx / w  # up to half the light lost across the page
    page = (0.95 - 0.9 * ink) * light_map
    return png_bytes(np.round(np.clip(page, 0, 1) * 255).astype(np.uint8))


@pytest.mark.parametrize("light", ["even", "ramp"])
def test_a_filled_disk_keeps_its_interior(light) -> None:
    out = preprocess.from_upload(solid_shapes_page("disk", light))
    ys, xs = np.mgrid[0:28, 0:28]
    mass = out.sum()
    cy, cx = (out * ys).sum() / mass, (out * xs).sum() / mass
    radius = np.sqrt((out > 0.5).sum() / np.pi)
    assert radius > 7  # a disk, not a ring: about 20 px across
    inside = np.hypot(ys - cy, xs - cx) <= radius - 1.5
    assert out[inside].min() > 0.85  # solid to the middle (the edges overshoot a little when scaled)
    assert (out > 0.5).sum() > 0.9 * np.pi * radius**2


@pytest.mark.parametrize("light", ["even", "ramp"])
def test_a_thick_bar_keeps_its_interior(light, served) -> None:
    out = preprocess.from_upload(solid_shapes_page("bar", light))
    rows = np.flatnonzero(out.max(1) > 0.5)
    assert rows[-1] - rows[0] + 1 >= 19  # scaled to 20 px tall
    for row in out[rows[0] + 3 : rows[-1] - 2]:  # every cross-section is one solid run, no dip in the middle
        cols = np.flatnonzero(row > 0.5)
        assert len(cols) >= 3 and cols[-1] - cols[0] + 1 == len(cols)
        assert row[cols[0] + 1 : cols[-1]].min() > 0.85
    assert predict(served, out) == 1


def test_specks_around_a_digit_do_not_move_it(test_set, served) -> None:
    """Dust and dots near and far from the digit are dropped before cropping."""
    rng = np.random.default_rng(5)
    digit = np.asarray(Image.fromarray(255 - test_set.images[9]).resize((112, 112), Image.Resampling.BILINEAR))
    page = np.full((300, 260), 245, np.uint8)
    page[90:202, 70:182] = digit
    clean = preprocess.from_upload(png_bytes(page))
    for y, x in rng.integers(0, (297, 257), (25, 2)):
        if not (80 <= y <= 212 and 60 <= x <= 192):
            page[y : y + 3, x : x + 3] = 0
    dusty = preprocess.from_upload(png_bytes(page))
    assert predict(served, dusty) == test_set.labels[9]
    np.testing.assert_allclose(dusty, clean, atol=0.01)


def test_a_tiny_digit_on_a_large_page_is_read_at_full_resolution(test_set, served) -> None:
    """A 40 px digit on a 1600 px page is 6 px at the working size; it is looked at again, cropped."""
    page = np.full((1200, 1600), 240, np.uint8)
    page[700:740, 300:340] = np.asarray(Image.fromarray(255 - test_set.images[4]).resize((40, 40)))
    out = preprocess.from_upload(png_bytes(page))
    direct = preprocess.from_upload(png_bytes(page[600:840, 200:440]))  # the same digit, cropped by hand
    assert predict(served, out) == test_set.labels[4]
    assert np.corrcoef(out.ravel(), direct.ravel())[0, 1] > 0.95


def test_dark_ink_in_shade_is_not_taken_for_light_ink(test_set, served) -> None:
    """Light falling from 100% to 20% across the page makes the border's median dark; the ink is still dark."""
    digit = np.asarray(Image.fromarray(test_set.images[7]).resize((120, 120), Image.Resampling.BILINEAR)) / 255
    paper = np.full((260, 300), 0.92)
    paper[70:190, 90:210] -= 0.85 * digit
    light = np.linspace(1.0, 0.2, 300)[None, :] * np.linspace(0.7, 1.0, 260)[:, None]
    data = png_bytes(np.round(paper * light * 255).astype(np.uint8))
    assert np.median(preprocess._border(preprocess.to_gray(preprocess.decode(data)))) < 0.5
    out = preprocess.from_upload(data)
    evenly_lit = preprocess.from_upload(png_bytes(np.round(paper * 255).astype(np.uint8)))
    assert predict(served, out) == test_set.labels[7]
    assert np.corrcoef(out.ravel(), evenly_lit.ravel())[0, 1] > 0.9


def test_noise_without_a_digit_is_refused_in_words_never_a_500(client) -> None:
    """Uniform noise drawn as pixels: where no piece of it stands out from the noise (every piece is a
    speck), the answer is 422 "no digit found", not an error in the cropping (it divided by zero)."""
    statuses = []
    for seed in range(12):
        pixels = np.random.default_rng(seed).random((28, 28)).round(3).tolist()
        r = client.post("/api/activations", json={"pixels": pixels})
        statuses.append(r.status_code)
        assert r.status_code in (200, 422), (seed, r.text)
        if r.status_code == 422:
            assert "no digit found" in r.json()["detail"], r.json()
    assert statuses[2] == 422  # all of its ink is specks
