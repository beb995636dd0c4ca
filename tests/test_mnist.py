"""The IDX reader refuses malformed files with clear messages."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from app.datasets import mnist


def idx_images(count: int, rows: int = 28, cols: int = 28, magic: int = 2051, extra: int = 0) -> bytes:
    return struct.pack(">IIII", magic, count, rows, cols) + bytes(count * rows * cols + extra)


def test_committed_test_set_loads_with_its_checksums() -> None:
    split = mnist.load("test")
    assert split.images.shape == (10_000, 28, 28) and split.images.dtype == np.uint8
    assert np.bincount(split.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert len(split.sha256) == 2 and all(len(h) == 64 for h in split.sha256.values())


def test_parse_images_checks_magic_size_and_count() -> None:
    assert mnist.parse_images(idx_images(3), "x").shape == (3, 28, 28)
    with pytest.raises(mnist.MnistError, match="magic number 2049, expected 2051"):
        mnist.parse_images(idx_images(3, magic=2049), "x")
    with pytest.raises(mnist.MnistError, match="truncated or corrupt"):
        mnist.parse_images(idx_images(3)[:-5], "x")
    with pytest.raises(mnist.MnistError, match="expected 28x28"):
        mnist.parse_images(idx_images(3, rows=32), "x")
    with pytest.raises(mnist.MnistError, match="holds 3 images, expected 10000"):
        mnist.parse_images(idx_images(3), "x", expected=10_000)
    with pytest.raises(mnist.MnistError, match="too short"):
        mnist.parse_images(b"\x00\x00", "x")


def test_parse_labels_checks_magic_values_and_size() -> None:
    good = struct.pack(">II", 2049, 3) + bytes([1, 2, 9])
    assert mnist.parse_labels(good, "y").tolist() == [1, 2, 9]
    with pytest.raises(mnist.MnistError, match="magic number"):
        mnist.parse_labels(struct.pack(">II", 2051, 3) + bytes(3), "y")
    with pytest.raises(mnist.MnistError, match=r"outside 0\.\.9"):
        mnist.parse_labels(struct.pack(">II", 2049, 1) + bytes([12]), "y")
    with pytest.raises(mnist.MnistError, match="truncated"):
        mnist.parse_labels(good[:-1], "y")


def test_missing_files_say_what_to_do(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="--download"):
        mnist.load("train", tmp_path)


def test_a_file_that_is_not_gzip_is_refused(tmp_path) -> None:
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"not gzip at all")
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(struct.pack(">II", 2049, 0)))
    with pytest.raises(mnist.MnistError, match="not a valid gzip file"):
        mnist.load("test", tmp_path)
