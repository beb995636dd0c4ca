"""Uploads are probed before any pixel is decoded (format, mode, size, JPEG scans), and digit routes decode
large images at reduced size."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from app import preprocess
from app.serving import costs
from tests.helpers import encode


def progressive_with_scans(scans: int) -> bytes:
    """A progressive JPEG whose last scan is repeated until the file has ``scans`` start-of-scan markers
    (libjpeg decodes every one; the image stays valid)."""
    data = encode(Image.new("L", (64, 64), 128), "JPEG", progressive=True)
    have = preprocess.jpeg_scans(data)
    last = data.rindex(b"\xff\xda")
    scan = data[last:-2]  # up to the end-of-image marker
    return data[:-2] + scan * (scans - have) + data[-2:]


def test_scans_are_counted_and_limited_before_decoding() -> None:
    limits = preprocess.Limits(max_scans=64)
    assert preprocess.jpeg_scans(encode(Image.new("RGB", (16, 16)), "JPEG")) == 1
    ok = progressive_with_scans(64)
    assert preprocess.probe(ok, limits).scans == 64
    assert preprocess.probe(ok, limits).progressive
    assert preprocess.decode(ok, limits).size == (64, 64)
    over = progressive_with_scans(65)
    with pytest.raises(preprocess.ImageError, match="65 scans; the limit is 64") as info:
        preprocess.probe(over, limits)
    assert info.value.status == 413
    with pytest.raises(preprocess.ImageError, match="65 scans"):
        preprocess.decode(over, limits)


def test_probe_reads_the_header_only() -> None:
    png = encode(Image.new("RGBA", (300, 200)), "PNG")
    info = preprocess.probe(png[:100])  # far too short to decode, long enough for the header
    assert (info.format, info.mode, info.width, info.height, info.pixels) == ("PNG", "RGBA", 300, 200, 60_000)
    with pytest.raises(preprocess.ImageError, match="could not be decoded"):
        preprocess.decode(png[:100])
    with pytest.raises(preprocess.ImageError, match="refused before decoding"):
        preprocess.probe(png, preprocess.Limits(max_pixels=59_999))


@pytest.mark.parametrize(
    ("img", "fmt", "mode"),
    [
        (Image.new("L", (4096, 2048), 200), "PNG", "L"),
        (Image.new("RGBA", (4096, 2048), (200, 0, 0, 255)), "PNG", "RGBA"),
        (Image.new("P", (4096, 2048)), "GIF", "L"),
        (Image.new("I;16", (4096, 2048), 3000), "PNG", "I"),
        (Image.new("RGB", (4096, 2048), (9, 9, 9)), "WEBP", "RGB"),
        (Image.new("RGB", (4096, 2048), (9, 9, 9)), "JPEG", "RGB"),
    ],
    ids=["png-L", "png-RGBA", "gif", "png-16bit", "webp", "jpeg"],
)
def test_a_draft_decode_reduces_by_a_whole_factor(img: Image.Image, fmt: str, mode: str) -> None:
    out = preprocess.decode(encode(img, fmt), draft=512)
    assert out.size == (512, 256) and out.mode == mode  # 1/8, the longer side still >= 512
    assert preprocess.decode(encode(img, fmt), draft=4096).size == (4096, 2048)  # no room: left as it is


def test_orientation_is_applied_after_the_reduction() -> None:
    exif = Image.Exif()
    exif[preprocess.ORIENTATION] = 6  # rotate 90 degrees clockwise to show
    img = Image.new("L", (2048, 1024), 255)
    img.paste(0, (0, 0, 256, 1024))  # a dark band on the left, which ends up on top
    out = preprocess.decode(encode(img, "PNG", exif=exif), draft=512)
    assert out.size == (256, 512)
    pixels = np.asarray(out)
    assert pixels[:50].mean() < 10 and pixels[-50:].mean() > 245


def test_a_huge_digit_reads_like_the_small_one(served) -> None:
    """The same drawing at 4096x4096 and at 512x512 gives nearly the same 28x28 input."""
    small = np.full((512, 512), 235, np.uint8)
    small[100:420, 230:290] = 25  # a "1"
    big = np.asarray(Image.fromarray(small).resize((4096, 4096), Image.Resampling.NEAREST))
    a = preprocess.from_upload(encode(Image.fromarray(small), "PNG"))
    b = preprocess.from_upload(encode(Image.fromarray(big), "PNG"))
    assert np.abs(a - b).max() < 0.05


def test_the_decode_estimate_follows_the_format_and_the_draft() -> None:
    def info(fmt: str, mode: str, size: int, **kw: object) -> preprocess.ImageInfo:
        return preprocess.ImageInfo(fmt, mode, size, size, **kw)  # type: ignore[arg-type]

    webp = costs.decode(info("WEBP", "RGB", 4096), draft=512)
    assert webp.memory >= 4096 * 4096 * 16  # libwebp's canvas and copy on top of the image
    jpeg = costs.decode(info("JPEG", "RGB", 4096), draft=512)
    assert jpeg.memory < 8 * costs.MIB  # decoded at 1/8
    progressive = costs.decode(info("JPEG", "RGB", 4096, scans=10, progressive=True), draft=512)
    assert progressive.memory > 4096 * 4096 * 6  # the coefficients are kept at full size
    many = costs.decode(info("JPEG", "RGB", 4096, scans=64, progressive=True), draft=512)
    assert many.cpu > 5 * progressive.cpu  # every scan is decoded over the whole image
    full = costs.decode(info("PNG", "L", 4096))
    assert full.held == 4096 * 4096  # no draft: the whole image is returned


def test_jpeg_draft_scale_matches_pillow() -> None:
    for width, height in ((4096, 4096), (4096, 300), (1000, 700), (300, 300)):
        jpeg = encode(Image.new("RGB", (width, height)), "JPEG")
        img = Image.open(io.BytesIO(jpeg))
        img.draft("RGB", (512, 512))
        scale = costs.draft_scale(preprocess.probe(jpeg), 512)
        assert (-(-width // scale), -(-height // scale)) == img.size, (width, height)
