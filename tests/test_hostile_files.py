"""A corpus of hostile and odd image files, generated here, sent to every route that takes an image.

Each one gets either a clear 4xx with a JSON ``detail`` saying what was wrong, or a correct result whose
correctness is checked (the animated GIF is read as its first frame, the EXIF rotation is applied, 16-bit
and CMYK images mean the same as their 8-bit grey versions, an image without ink is explained). The image
routes are read from the OpenAPI schema, so new ones are covered.
"""

from __future__ import annotations

import io
import json
import resource
import struct
import zlib

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageFile

from app.datasets import mnist
from app.serving.encoding import decode
from tests.helpers import encode

MB = 1024 * 1024
IDENTITY_5X5 = [[1.0 if (i, j) == (2, 2) else 0.0 for j in range(5)] for i in range(5)]
CONVOLVE_SPEC = json.dumps({"kernels": [IDENTITY_5X5], "padding": "same"})
DIGIT_INDEX = 0  # a 7 in the MNIST test set


# ---------------------------------------------------------------------------------------------------------
# The corpus


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int) -> bytes:
    """A valid grey PNG of ``width`` x ``height`` black pixels, written row by row through zlib: a few
    hundred kB on disk, never allocated as pixels here."""
    z = zlib.compressobj(9)
    row = bytes(1 + width)  # filter byte 0, then the pixels
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def digit(test_set: mnist.Split) -> Image.Image:
    """A 7, dark ink on light paper, on a non-square 84x126 canvas (so a rotation shows in the shape)."""
    assert test_set.labels[DIGIT_INDEX] == 7
    ink = Image.fromarray(255 - test_set.images[DIGIT_INDEX]).resize((84, 84), Image.Resampling.BICUBIC)
    canvas = Image.new("L", (84, 126), 255)
    canvas.paste(ink, (0, 21))
    return canvas


def exif_rotated(upright: Image.Image) -> bytes:
    """A JPEG whose pixels are stored turned by 90 degrees, with EXIF Orientation 6 (rotate 90 CW to
    display) to put them upright again, as phone cameras write them."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(upright.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=95, exif=exif.tobytes())


@pytest.fixture(scope="module")
def corpus(digit: Image.Image, test_set: mnist.Split) -> dict[str, bytes]:
    other = Image.fromarray(255 - test_set.images[1]).resize(digit.size)  # a 2: the GIF's second frame
    files = {
        "zero bytes": b"",
        "truncated PNG": encode(digit, "PNG")[:300],
        "truncated JPEG": encode(digit, "JPEG", quality=90)[:400],
        "20000x20000 PNG bomb": png_bomb(20000, 20000),
        "8000x8000 PNG": png_bomb(8000, 8000),
        "animated GIF": encode(digit, "GIF", save_all=True, append_images=[other], duration=100, loop=0),
        "16-bit PNG": encode(Image.fromarray(np.asarray(digit).astype(np.uint16) * 257), "PNG"),
        "CMYK JPEG": encode(digit.convert("CMYK"), "JPEG", quality=95),
        "SVG named .png": b'<svg xmlns="http://www.w3.org/2000/svg" width="28" height="28"><path d="M1 1h9v20"/></svg>',
        "HTML named .png": b"<!doctype html><html><body><img src=x onerror=alert(1)><script>alert(2)</script>",
        "EXIF-rotated photo": exif_rotated(digit),
        "1x1 image": encode(Image.new("L", (1, 1), 255), "PNG"),
        "all-white image": encode(Image.new("L", (200, 160), 255), "PNG"),
    }
    assert Image.open(io.BytesIO(files["16-bit PNG"])).mode == "I;16"
    assert Image.open(io.BytesIO(files["CMYK JPEG"])).mode == "CMYK"
    assert getattr(Image.open(io.BytesIO(files["animated GIF"])), "n_frames", 1) == 2
    assert len(files["20000x20000 PNG bomb"]) < MB
    return files


# what every image route must answer for the files it cannot use: (status, words of the detail)
REFUSED = {
    "zero bytes": (400, "empty"),
    "truncated PNG": (400, "truncated or corrupt"),
    "truncated JPEG": (400, "truncated or corrupt"),
    "20000x20000 PNG bomb": (413, "decompression bomb"),
    "8000x8000 PNG": (413, "refused before decoding"),
    "SVG named .png": (415, "not a supported image"),
    "HTML named .png": (415, "not a supported image"),
}


# ---------------------------------------------------------------------------------------------------------
# The image routes, from the OpenAPI schema


def as_field(example: object) -> str:
    return example if isinstance(example, str) else json.dumps(example)


def image_routes(client: TestClient) -> dict[str, dict[str, str]]:
    """``{path: extra form fields}`` for every operation taking a multipart ``file``; the extra fields
    are the schema's examples (``spec``...), other fields are left out."""
    routes = {}
    for path, ops in client.app.openapi()["paths"].items():
        for method, op in ops.items():
            form = op.get("requestBody", {}).get("content", {}).get("multipart/form-data", {})
            props = form.get("schema", {}).get("properties", {})
            if method == "post" and props.get("file", {}).get("format") == "binary":
                query = [p for p in op.get("parameters", []) if p["in"] == "query" and p.get("required")]
                suffix = "&".join(f"{p['name']}={p['schema'].get('enum', [''])[0]}" for p in query)
                extra = {
                    k: as_field(v["example"]) for k, v in props.items() if "example" in v and k != "conv1_override"
                }
                routes[path + (f"?{suffix}" if suffix else "")] = extra
    return routes


def post_file(client: TestClient, route: str, data: bytes, extra: dict[str, str] | None = None, query: str = ""):
    url = route + (("&" if "?" in route else "?") + query if query else "")
    return client.post(url, files={"file": ("upload.png", data, "image/png")}, data=extra or {})


def test_the_image_routes_are_found(client: TestClient) -> None:
    routes = image_routes(client)
    assert "/api/activations" in routes and "/api/convolve" in routes
    assert "spec" in routes["/api/convolve"]


def test_every_image_route_refuses_unusable_files(client: TestClient, corpus: dict[str, bytes]) -> None:
    for route, extra in image_routes(client).items():
        for name, (status, words) in REFUSED.items():
            response = post_file(client, route, corpus[name], extra)
            assert response.status_code == status, (route, name, response.status_code, response.text[:300])
            assert response.headers["content-type"] == "application/json", (route, name)
            detail = response.json()["detail"]
            assert detail.startswith("The image file: ") and words in detail, (route, name, detail)


def test_every_image_route_answers_every_file_sensibly(client: TestClient, corpus: dict[str, bytes]) -> None:
    """The files that decode: a result, or a 4xx explaining itself; never a 5xx."""
    for route, extra in image_routes(client).items():
        for name, data in corpus.items():
            response = post_file(client, route, data, extra)
            assert response.status_code < 500, (route, name, response.text[:300])
            if response.status_code >= 400:
                detail = response.json()["detail"]
                assert isinstance(detail, str) and len(detail) > 10, (route, name, detail)


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, tuple[int, int]]]:
    """Every image Pillow decodes (``ImageFile.load``, where pixel data is read) while the test runs."""
    seen: list[tuple[str, tuple[int, int]]] = []
    load = ImageFile.ImageFile.load

    def counted(img: ImageFile.ImageFile):
        seen.append((img.format, img.size))
        return load(img)

    monkeypatch.setattr(ImageFile.ImageFile, "load", counted)
    return seen


@pytest.mark.parametrize("name", ["20000x20000 PNG bomb", "8000x8000 PNG"])
def test_oversized_images_are_refused_without_decoding(
    client: TestClient, corpus: dict[str, bytes], decodes: list, name: str
) -> None:
    """400 and 64 million pixels (400 and 64 MB as 8-bit grey): refused from the header, by every image
    route, before a single pixel is decoded and without the process's peak memory growing."""
    pixels = {"20000x20000 PNG bomb": 400_000_000, "8000x8000 PNG": 64_000_000}[name]
    for route, extra in image_routes(client).items():
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
        response = post_file(client, route, corpus[name], extra)
        grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak) / 1024
        assert response.status_code == 413, route
        assert f"{pixels} pixels" in response.json()["detail"], (route, response.json()["detail"])
        assert decodes == [], (route, decodes)
        assert grown_mib < 100, (route, grown_mib)
    # the counter does see a decode: the same routes decode a small image
    assert post_file(client, "/api/activations", corpus["all-white image"], query="preprocess=none").status_code == 200
    assert decodes and set(decodes) == {("PNG", (200, 160))}


# ---------------------------------------------------------------------------------------------------------
# /api/activations: the correct, explained results


def activations(client: TestClient, data: bytes, query: str = "") -> dict:
    response = post_file(client, "/api/activations", data, query=query)
    assert response.status_code == 200, response.text[:300]
    return response.json()


def maps(answer: dict) -> dict[str, np.ndarray]:
    return {layer["name"]: decode(layer["data"], layer["shape"]) for layer in answer["layers"]}


def test_animated_gif_is_read_as_its_first_frame(client: TestClient, corpus: dict[str, bytes]) -> None:
    gif = Image.open(io.BytesIO(corpus["animated GIF"]))
    first = encode(gif.convert("L"), "PNG")
    gif.seek(1)
    second = encode(gif.convert("L"), "PNG")
    answer = activations(client, corpus["animated GIF"])
    assert answer == activations(client, first)  # bit for bit
    assert answer["prediction"]["label"] == 7
    assert activations(client, second)["prediction"]["label"] == 2


def test_16_bit_png_means_the_same_as_8_bit(client: TestClient, corpus: dict[str, bytes], digit: Image.Image) -> None:
    deep, plain = maps(activations(client, corpus["16-bit PNG"])), maps(activations(client, encode(digit, "PNG")))
    np.testing.assert_allclose(deep["input"], plain["input"], atol=1e-5)
    np.testing.assert_allclose(deep["probs"], plain["probs"], atol=1e-4)
    assert int(deep["probs"].argmax()) == 7


def test_cmyk_jpeg_means_the_same_as_grey(client: TestClient, corpus: dict[str, bytes], digit: Image.Image) -> None:
    cmyk = maps(activations(client, corpus["CMYK JPEG"]))
    grey = maps(activations(client, encode(digit, "JPEG", quality=95)))
    assert np.abs(cmyk["input"] - grey["input"]).mean() < 0.02
    assert int(cmyk["probs"].argmax()) == 7


def test_exif_rotation_is_applied(client: TestClient, corpus: dict[str, bytes], digit: Image.Image) -> None:
    upright = maps(activations(client, encode(digit, "JPEG", quality=95)))["input"][0]
    rotated = maps(activations(client, corpus["EXIF-rotated photo"]))
    sideways_jpeg = encode(digit.transpose(Image.Transpose.ROTATE_90), "JPEG", quality=95)  # no EXIF
    sideways = maps(activations(client, sideways_jpeg))["input"][0]
    assert int(rotated["probs"].argmax()) == 7
    error, unrotated_error = np.abs(rotated["input"][0] - upright).mean(), np.abs(sideways - upright).mean()
    assert error < 0.02 and unrotated_error > 5 * error, (error, unrotated_error)


@pytest.mark.parametrize("name", ["1x1 image", "all-white image"])
def test_no_ink_is_explained(client: TestClient, corpus: dict[str, bytes], name: str) -> None:
    """MNIST preprocessing needs ink that stands out: a 422 that says so; without the digit steps
    (preprocess=none) the image is simply resized: a uniform white input."""
    response = post_file(client, "/api/activations", corpus[name])
    assert response.status_code == 422
    assert "no digit found" in response.json()["detail"] and "contrast 0.00" in response.json()["detail"]
    plain = maps(activations(client, corpus[name], query="preprocess=none"))
    assert plain["input"].shape == (1, 28, 28) and np.all(plain["input"] == 1.0)


# ---------------------------------------------------------------------------------------------------------
# /api/convolve: the same files as plain images (no digit steps), with an identity kernel


def convolved(client: TestClient, data: bytes) -> np.ndarray:
    """The (C, H, W) output of the 5x5 identity kernel ("same" padding), i.e. the image as the lab reads it."""
    response = post_file(client, "/api/convolve?include=data", data, {"spec": CONVOLVE_SPEC})
    assert response.status_code == 200, response.text[:300]
    out = response.json()["outputs"][0]
    return decode(out["data"], out["shape"], out["dtype"])


def test_convolve_reads_the_files_correctly(client: TestClient, corpus: dict[str, bytes], digit: Image.Image) -> None:
    grey = np.asarray(digit, dtype=np.float32)[None] / 255  # (1, 126, 84)
    np.testing.assert_array_equal(convolved(client, encode(digit, "PNG")), grey)
    # first GIF frame, exactly; 16-bit to within float rounding
    np.testing.assert_array_equal(convolved(client, corpus["animated GIF"]), grey)
    np.testing.assert_allclose(convolved(client, corpus["16-bit PNG"]), grey, atol=1e-6)
    # CMYK and the rotated photo: JPEG-close, and the rotation makes the shape 126x84 again, not 84x126
    assert np.abs(convolved(client, corpus["CMYK JPEG"]) - grey).mean() < 0.02
    rotated = convolved(client, corpus["EXIF-rotated photo"])
    assert rotated.shape == grey.shape and np.abs(rotated - grey).mean() < 0.02
    # no ink is no problem for a plain image
    assert np.all(convolved(client, corpus["all-white image"]) == 1.0)
    assert convolved(client, corpus["1x1 image"]).tolist() == [[[1.0]]]
