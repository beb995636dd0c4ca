"""A labelled test set for an imported model, in one of two simple formats:

- IDX files like MNIST's: ``t10k-images-idx3-ubyte`` (N x H x W grey, or ``idx4``: N x H x W x 3 colour, unsigned
  bytes) and ``t10k-labels-idx1-ubyte`` (N class indices), each optionally gzipped (``.gz``);
- a folder of class folders: ``DIR/<class name>/*.png`` (or .jpg, .bmp, .gif, .webp), the classes sorted by name.

``read`` gives the images at the network's input size (a class folder's images are resized: the whole image,
as ``preprocess=none`` does); ``write`` stores a set as gzipped IDX files beside the model
(``<name>.testset/``), which ``LabelledSet`` serves as the gallery, the top-activating images and the
confusion matrix' images.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from app.datasets.samples import SampleStore

IMAGES, LABELS = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"
SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
MAX_IMAGES = 100_000


@dataclass(frozen=True)
class TestSet:
    images: np.ndarray  # (N, H, W) or (N, H, W, 3) uint8
    labels: np.ndarray  # (N,) uint8
    classes: list[str] | None  # the class folders' names, when read from folders
    sha256: dict[str, str]


def _idx(data: bytes, name: str) -> np.ndarray:
    """An IDX array of unsigned bytes."""
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] != 0x08:
        raise ValueError(f"{name} is not an IDX file of unsigned bytes")
    dims = data[3]
    if not 1 <= dims <= 4 or len(data) < 4 + 4 * dims:
        raise ValueError(f"{name}: an IDX header with {dims} dimensions is not an image or label file")
    shape = struct.unpack(f">{dims}I", data[4 : 4 + 4 * dims])
    if len(data) != 4 + 4 * dims + int(np.prod(shape)):
        raise ValueError(f"{name}: {len(data) - 4 - 4 * dims} data bytes for a {'x'.join(map(str, shape))} array")
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def _read(folder: Path, stem: str) -> tuple[bytes, str, str]:
    for name in (stem, f"{stem}.gz", stem.replace("idx3", "idx4"), f"{stem.replace('idx3', 'idx4')}.gz"):
        path = folder / name
        if path.is_file():
            raw = path.read_bytes()
            try:
                data = gzip.decompress(raw) if name.endswith(".gz") else raw
            except (OSError, EOFError):
                raise ValueError(f"{path} is not a valid gzip file") from None
            return data, name, hashlib.sha256(raw).hexdigest()
    raise FileNotFoundError(f"no {stem}[.gz] in {folder}")


def read_idx(folder: Path) -> TestSet:
    (images_raw, images_name, images_sha), (labels_raw, labels_name, labels_sha) = (
        _read(folder, IMAGES),
        _read(folder, LABELS),
    )
    images, labels = _idx(images_raw, images_name), _idx(labels_raw, labels_name)
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[3] != 3) or labels.ndim != 1:
        raise ValueError(f"{images_name} must hold N x H x W or N x H x W x 3 images and {labels_name} N labels")
    if len(images) != len(labels) or not len(labels):
        raise ValueError(f"{images_name} holds {len(images)} images but {labels_name} {len(labels)} labels")
    return TestSet(images, labels, None, {images_name: images_sha, labels_name: labels_sha})


def _image(path: Path, shape: tuple[int, int, int]) -> np.ndarray:
    channels, height, width = shape
    with Image.open(path) as opened:
        img = opened.convert("L" if channels == 1 else "RGB")
    img = img.resize((width, height), Image.Resampling.BOX if img.width > width else Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.uint8)


def read_folders(folder: Path, shape: tuple[int, int, int]) -> TestSet:
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    images, labels, digest = [], [], hashlib.sha256()
    for label, name in enumerate(classes):
        for path in sorted(p for p in (folder / name).iterdir() if p.suffix.lower() in SUFFIXES):
            try:
                images.append(_image(path, shape))
            except (OSError, ValueError) as exc:
                raise ValueError(f"{path} is not a readable image ({exc})") from None
            labels.append(label)
            digest.update(f"{name}/{path.name}:".encode() + path.read_bytes())
            if len(images) > MAX_IMAGES:
                raise ValueError(f"{folder} holds more than {MAX_IMAGES} images")
    if not images:
        raise ValueError(f"{folder} holds no IDX files and no class folders of images")
    return TestSet(np.stack(images), np.array(labels, dtype=np.uint8), classes, {folder.name: digest.hexdigest()})


def read(folder: Path, shape: tuple[int, int, int]) -> TestSet:
    """The test set in ``folder`` for a network taking ``shape`` (C, H, W); ValueError saying what is wrong."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"--dataset {folder} is not a folder")
    has_idx = any(p.name.startswith("t10k-images-idx") for p in folder.iterdir())
    found = read_idx(folder) if has_idx else read_folders(folder, shape)
    channels, height, width = shape
    got = found.images.shape[1:]
    wanted = (height, width) if channels == 1 else (height, width, 3)
    if got != wanted:
        size, needed = "x".join(map(str, got)), "x".join(map(str, wanted))
        raise ValueError(f"the test images are {size}, not the network's input {needed}")
    return found


def _idx_bytes(array: np.ndarray) -> bytes:
    return bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def write(found: TestSet, folder: Path) -> None:
    """``found`` as gzipped IDX files in ``folder`` (created)."""
    folder.mkdir(parents=True)
    kind = "idx3" if found.images.ndim == 3 else "idx4"
    (folder / f"{IMAGES.replace('idx3', kind)}.gz").write_bytes(gzip.compress(_idx_bytes(found.images), mtime=0))
    (folder / f"{LABELS}.gz").write_bytes(gzip.compress(_idx_bytes(found.labels), mtime=0))


class LabelledSet(SampleStore):
    """A test set written by ``write``, served like the bundled ones (grey or colour)."""

    def __init__(self, folder: Path) -> None:  # not SampleStore's: that reads MNIST's files, this its own
        found = read_idx(Path(folder))
        self.name = Path(folder).name
        self.images = found.images
        self.labels = found.labels
        self.sha256 = found.sha256

    def pixels(self, index: int) -> np.ndarray:
        """(H, W) or (C, H, W) float32 in [0, 1]."""
        image = self.images[self.check(index)].astype(np.float32) / 255.0
        return image if image.ndim == 2 else np.ascontiguousarray(image.transpose(2, 0, 1))

    def batch(self, indices: list[int]) -> torch.Tensor:
        """(N, C, H, W) float32 in [0, 1]."""
        for i in indices:
            self.check(i)
        return as_input(self.images[indices])

    def png(self, index: int) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(self.images[self.check(index)]).save(buf, format="PNG")
        return buf.getvalue()


def as_input(images: np.ndarray) -> torch.Tensor:
    """(N, H, W) or (N, H, W, 3) uint8 -> (N, C, H, W) float32 in [0, 1]."""
    x = torch.from_numpy(images.astype(np.float32) / 255.0)
    return x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2).contiguous()
