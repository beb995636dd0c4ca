"""`convlens train`: a short run on a small slice writes a loadable checkpoint and a complete model card,
reproducibly; bad data is refused with a clear message."""

from __future__ import annotations

import gzip
import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from app.datasets import mnist
from app.nets.checkpoint import load_module, load_network
from app.training import timeline, train

pytestmark = pytest.mark.slow

TEST_LIMIT = 500  # evaluating on the whole test set is what most of a short run's time went to


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """A folder with the committed test set, and a 60,000-image "training" set built from it."""
    folder = tmp_path_factory.mktemp("mnist")
    test = mnist.load("test")
    for name in mnist.FILES["test"][:2]:
        shutil.copy(mnist.DEFAULT_DIR / name, folder / name)
    images = np.tile(test.images, (6, 1, 1))
    labels = np.tile(test.labels, 6)
    header = struct.pack(">IIII", 2051, len(images), 28, 28)
    (folder / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(header + images.tobytes(), 1))
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(struct.pack(">II", 2049, len(labels)) + labels.tobytes(), 1)
    )
    return folder


def run(data_dir, out_dir, *extra: str) -> dict:
    args = train.build_parser().parse_args(
        [
            "--data-dir",
            str(data_dir),
            "--out-dir",
            str(out_dir),
            "--epochs",
            "1",
            "--limit",
            "384",
            "--batch-size",
            "64",
            "--eval-every",
            "3",
            "--test-limit",
            str(TEST_LIMIT),
            "--threads",
            "1",
            "--quiet",
            *extra,
        ]
    )
    return train.train(args)


@pytest.fixture(scope="module")
def default_run(data_dir, tmp_path_factory) -> tuple[dict, Path]:
    """One short run with the default options, shared by the tests that only read its results."""
    out = tmp_path_factory.mktemp("default-run")
    return run(data_dir, out), out


def test_a_short_run_writes_checkpoint_and_card(default_run) -> None:
    card, tmp_path = default_run
    written = json.loads((tmp_path / "lenet_bn.json").read_text())
    assert written == json.loads(json.dumps(card))
    for key in (
        "test_accuracy",
        "per_class_accuracy",
        "confusion_matrix",
        "history",
        "curve",
        "epochs",
        "seed",
        "wall_time_seconds",
        "torch_version",
        "data_sha256",
        "misclassified",
    ):
        assert key in card, key
    assert card["torch_version"] == torch.__version__
    assert card["test_images"] == TEST_LIMIT and card["training_images"] == 384
    assert len(card["confusion_matrix"]) == 10 and sum(map(sum, card["confusion_matrix"])) == TEST_LIMIT
    assert card["history"][0]["epoch"] == 1 and "train_loss" in card["history"][0]
    # a point at every timeline checkpoint (384 / 64 = 6 steps an epoch: the initialisation, the log-spaced early
    # steps, the epoch's end) and every --eval-every 3 steps
    assert [p["step"] for p in card["curve"]] == sorted({*timeline.schedule(6, 1), 3, 6})
    assert set(card["data_sha256"]) == {
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
    }
    model, _ = load_network(tmp_path / "lenet_bn.pt")  # weights_only=True inside
    test = mnist.load("test")
    images, labels = test.images[:TEST_LIMIT], test.labels[:TEST_LIMIT]  # the first N, as --test-limit says
    x = torch.from_numpy(images.astype(np.float32) / 255).unsqueeze(1)
    with torch.inference_mode():
        preds = model(x).argmax(1).numpy()
    assert card["test_accuracy"] == pytest.approx(float((preds == labels).mean()), abs=1e-6)
    assert [m["index"] for m in card["misclassified"]] == np.flatnonzero(preds != labels).tolist()
    assert [sum(row) for row in card["confusion_matrix"]] == np.bincount(labels, minlength=10).tolist()


def test_training_is_reproducible(data_dir, default_run, tmp_path) -> None:
    run(data_dir, tmp_path / "b")
    a = torch.load(default_run[1] / "lenet_bn.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "b" / "lenet_bn.pt", weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_no_bn_writes_a_separate_model(data_dir, tmp_path) -> None:
    card = run(data_dir, tmp_path, "--no-bn")
    assert card["name"] == "lenet" and card["batchnorm"] is False
    assert (tmp_path / "lenet.pt").is_file()
    assert not any("bn" in k for k in torch.load(tmp_path / "lenet.pt", weights_only=True)["state_dict"])


def test_missing_data_explains_what_to_do(tmp_path, capsys) -> None:
    assert train.main(["--data-dir", str(tmp_path), "--out-dir", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "not found" in err and "--download" in err and "MNIST_DIR" in err


def test_corrupt_data_is_refused(tmp_path, data_dir, capsys) -> None:
    for name in (*mnist.FILES["train"][:2], *mnist.FILES["test"][:2]):
        shutil.copy(data_dir / name, tmp_path / name)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(struct.pack(">II", 2049, 5) + bytes(5)))
    assert train.main(["--data-dir", str(tmp_path), "--out-dir", str(tmp_path / "out"), "--quiet"]) == 2
    assert "holds 5 labels, expected 60000" in capsys.readouterr().err


def test_divergence_is_recorded_and_training_stops_cleanly(data_dir, default_run, tmp_path) -> None:
    """A learning rate far too high for the plain network: the NaN/inf loss is recorded, not raised."""
    card = run(data_dir, tmp_path, "--no-bn", "--no-augment", "--lr", "1e6")
    step = card["diverged_at_step"]
    assert isinstance(step, int) and 1 <= step <= 6 and card["steps"] == step - 1
    assert len(card["history"]) == 1 and card["history"][0]["epoch"] == 1
    text = (tmp_path / "lenet.json").read_text()
    strict = json.loads(text, parse_constant=lambda c: pytest.fail(f"the card holds {c}"))
    assert strict == json.loads(json.dumps(card))
    assert all(torch.isfinite(t).all() for t in load_module(tmp_path / "lenet.pt")[0].state_dict().values())
    assert default_run[0]["diverged_at_step"] is None


def test_strokes_switches_on_stroke_width_augmentation(data_dir, default_run, tmp_path, monkeypatch) -> None:
    """--strokes changes every training batch's stroke widths (with the amounts given) before the affine
    augmentation, and the card records it; without it the default run records none."""
    seen: list[tuple[torch.Tensor, torch.Tensor, tuple]] = []
    real = train.random_stroke_width

    def spy(x, gen, *amounts):
        out = real(x, gen, *amounts)
        seen.append((x, out, amounts))
        return out

    monkeypatch.setattr(train, "random_stroke_width", spy)
    card = run(data_dir, tmp_path, "--strokes", "--strokes-thicker", "2", "--strokes-p", "1")
    assert len(seen) == card["steps"] == 6  # 384 images in batches of 64
    assert all(amounts == (2.0, 0.5, 1.0) for _, _, amounts in seen)
    for x, out, _ in seen:
        assert x.shape == out.shape == (64, 1, 28, 28)
        changed = (out - x).abs().flatten(1).amax(1)  # (64,): every digit thicker or thinner
        assert bool((changed > 0).all())
    assert card["stroke_width"] == {"thicker": 2.0, "thinner": 0.5, "p": 1.0}
    assert default_run[0]["stroke_width"] is None


@pytest.mark.parametrize("bad", [["--strokes-thicker", "-1"], ["--strokes-p", "1.5"]])
def test_stroke_amounts_out_of_range_are_refused(bad, capsys) -> None:
    with pytest.raises(SystemExit):
        train.build_parser().parse_args(["--strokes", *bad])
    assert "must be" in capsys.readouterr().err
