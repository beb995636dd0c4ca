"""Reading (and, only when asked, fetching) the MNIST IDX files, validated."""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.config import PROJECT_ROOT

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", 60_000),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz", 10_000),
}
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
DEFAULT_DIR = PROJECT_ROOT / "data" / "mnist"


class MnistError(ValueError):
    """A missing, truncated or malformed IDX file."""


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # (N, 28, 28) uint8, ink high
    labels: np.ndarray  # (N,) uint8
    sha256: dict[str, str]  # file name -> sha256 of the .gz file as read


def default_dir() -> Path:
    return Path(os.environ.get("MNIST_DIR") or DEFAULT_DIR)


def _read_gz(path: Path) -> tuple[bytes, str]:
    if not path.is_file():
        raise FileNotFoundError(path)
    raw = path.read_bytes()
    try:
        return gzip.decompress(raw), hashlib.sha256(raw).hexdigest()
    except (OSError, EOFError) as exc:
        raise MnistError(f"{path}: not a valid gzip file ({exc})") from exc


def parse_images(data: bytes, name: str, expected: int | None = None) -> np.ndarray:
    """An IDX3 image file -> (N, rows, cols) uint8."""
    if len(data) < 16:
        raise MnistError(f"{name}: {len(data)} bytes is too short for an IDX image header")
    magic, count, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != IMAGE_MAGIC:
        raise MnistError(f"{name}: magic number {magic}, expected {IMAGE_MAGIC} (IDX3 ubyte images)")
    if (rows, cols) != (28, 28):
        raise MnistError(f"{name}: images are {rows}x{cols}, expected 28x28")
    if expected is not None and count != expected:
        raise MnistError(f"{name}: holds {count} images, expected {expected}")
    if len(data) != 16 + count * rows * cols:
        raise MnistError(
            f"{name}: {len(data) - 16} pixel bytes for {count} images of {rows}x{cols}"
            f" (expected {count * rows * cols}); the file is truncated or corrupt"
        )
    return np.frombuffer(data, np.uint8, offset=16).reshape(count, rows, cols)


def parse_labels(data: bytes, name: str, expected: int | None = None) -> np.ndarray:
    """An IDX1 label file -> (N,) uint8 in 0..9."""
    if len(data) < 8:
        raise MnistError(f"{name}: {len(data)} bytes is too short for an IDX label header")
    magic, count = struct.unpack(">II", data[:8])
    if magic != LABEL_MAGIC:
        raise MnistError(f"{name}: magic number {magic}, expected {LABEL_MAGIC} (IDX1 ubyte labels)")
    if expected is not None and count != expected:
        raise MnistError(f"{name}: holds {count} labels, expected {expected}")
    if len(data) != 8 + count:
        raise MnistError(f"{name}: {len(data) - 8} label bytes, expected {count}; truncated or corrupt")
    labels = np.frombuffer(data, np.uint8, offset=8)
    if labels.size and labels.max() > 9:
        raise MnistError(f"{name}: label {labels.max()} is outside 0..9")
    return labels


def download(directory: Path, names: list[str]) -> None:
    """Fetch the named files from the public mirrors (only ever called for ``--download``)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        errors = []
        for mirror in MIRRORS:
            try:
                with urllib.request.urlopen(mirror + name, timeout=60) as response:
                    data = response.read()
                (directory / name).write_bytes(data)
                break
            except OSError as exc:
                errors.append(f"{mirror}: {exc}")
        else:
            raise MnistError(f"could not download {name}: " + "; ".join(errors))


def load(split: str, directory: Path | None = None, allow_download: bool = False) -> Split:
    """Load and validate one split ("train" or "test") from ``directory``."""
    if split not in FILES:
        raise ValueError(f"unknown split {split!r}; expected one of {sorted(FILES)}")
    directory = Path(directory or default_dir())
    image_name, label_name, count = FILES[split]
    missing = [n for n in (image_name, label_name) if not (directory / n).is_file()]
    if missing and allow_download:
        download(directory, missing)
    elif missing:
        raise FileNotFoundError(
            f"MNIST {split} files not found in {directory}: {', '.join(missing)}. Point --data-dir (or"
            " $MNIST_DIR) at a folder holding the standard IDX .gz files, or pass --download to fetch"
            " them from a public mirror."
        )
    image_bytes, image_sha = _read_gz(directory / image_name)
    label_bytes, label_sha = _read_gz(directory / label_name)
    images = parse_images(image_bytes, image_name, count)
    labels = parse_labels(label_bytes, label_name, count)
    return Split(images, labels, {image_name: image_sha, label_name: label_sha})
