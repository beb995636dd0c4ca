"""What ``convlens import`` refuses, each with one sentence saying why, and with nothing written: a damaged
file, a network that is not a classifier, a wrong --input, a graph over the limits, a pickle (whose loading
would run code: it never is loaded), and arguments that do not fit the network."""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

from tests.importing import LeNet, build, convlens_import, export_onnx, export_pt2

LENET = ["--input", "1,28,28"]


class Maps(nn.Module):
    """Feature maps out, not class scores."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Wide(nn.Module):
    """One 1x1 convolution to 16 maps of 1024 x 1024: 64 MiB for that layer alone."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 16, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(self.pool(self.conv(x)), 1))


class RunsCode:
    """A pickle that, when loaded, would create a file: the importer must refuse it without loading it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.makedirs, (str(self.marker),))


@pytest.fixture(scope="module")
def lenet_pt2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_pt2(build(LeNet), (1, 28, 28), tmp_path_factory.mktemp("pt2") / "lenet.pt2")


@pytest.fixture(scope="module")
def lenet_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_onnx(build(LeNet), (1, 28, 28), tmp_path_factory.mktemp("onnx") / "lenet.onnx")


def refused(tmp_path: Path, file: Path, *args: str) -> str:
    """Import ``file`` into an empty folder: exit code 1, nothing written, one sentence on stderr."""
    models = tmp_path / "models"
    models.mkdir(exist_ok=True)
    code, out, err = convlens_import(file, "--name", "mine", "--model-dir", models, *args)
    assert code == 1, out
    assert list(models.iterdir()) == [], "nothing is written when an import fails"
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("convlens import: "), err
    return lines[0].removeprefix("convlens import: ")


def test_a_truncated_pt2_is_refused(tmp_path: Path, lenet_pt2: Path) -> None:
    broken = tmp_path / "broken.pt2"
    broken.write_bytes(lenet_pt2.read_bytes()[:4000])
    assert refused(tmp_path, broken, *LENET) == "broken.pt2 is not a torch.export archive (.pt2 files are zip archives)"


def test_a_pt2_with_a_damaged_entry_is_refused(tmp_path: Path, lenet_pt2: Path) -> None:
    broken = tmp_path / "broken.pt2"
    with zipfile.ZipFile(lenet_pt2) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            dst.writestr(info, b"{not json" if info.filename.endswith("models/model.json") else data)
    assert refused(tmp_path, broken, *LENET) == "the archive's models/model.json is missing or not valid JSON"


def test_a_truncated_onnx_is_refused(tmp_path: Path, lenet_onnx: Path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(lenet_onnx.read_bytes()[:3000])
    assert refused(tmp_path, broken, *LENET) == "broken.onnx is not a valid ONNX model (it does not parse as one)"


@pytest.mark.parametrize("fmt", ["pt2", "onnx"])
def test_a_network_giving_maps_not_class_scores_is_refused(tmp_path: Path, fmt: str) -> None:
    file = tmp_path / f"maps.{fmt}"
    (export_pt2 if fmt == "pt2" else export_onnx)(build(Maps), (1, 28, 28), file)
    assert refused(tmp_path, file, *LENET) == (
        "the model's output for one image has shape [4, 26, 26], not a vector of class scores (at least two)"
    )


@pytest.mark.parametrize("fmt", ["pt2", "onnx"])
def test_a_wrong_input_shape_is_refused_naming_the_one_the_file_declares(
    tmp_path: Path, fmt: str, lenet_pt2: Path, lenet_onnx: Path
) -> None:
    file = lenet_pt2 if fmt == "pt2" else lenet_onnx
    assert refused(tmp_path, file, "--input", "3,32,32") == (
        "the model takes images of shape 1x28x28, not the --input 3x32x32"
    )


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("28,28", "--input '28,28' is not C,H,W (three integers, like 1,28,28)"),
        ("2,28,28", "--input 2,28,28 must have 1 or 3 channels and sides of 1 to 1024 pixels"),
    ],
)
def test_an_input_that_is_not_an_image_shape_is_refused(tmp_path: Path, lenet_pt2: Path, given: str, said: str) -> None:
    assert refused(tmp_path, lenet_pt2, "--input", given) == said


def test_a_graph_over_the_activation_limit_is_refused(tmp_path: Path) -> None:
    """The default limit, 64 MB of activations for one image: the input (4 MiB) and the conv's maps (64 MiB)."""
    file = export_pt2(build(Wide), (1, 1024, 1024), tmp_path / "wide.pt2")
    said = refused(tmp_path, file, "--input", "1,1024,1024")
    assert said.startswith("one image's activations take 68.0 MB, over the limit of 64 MB")
    assert said.endswith("(the largest layer is conv, 16x1024x1024)")


def test_a_graph_over_the_time_limit_is_refused(tmp_path: Path, lenet_pt2: Path) -> None:
    said = refused(tmp_path, lenet_pt2, *LENET, "--max-seconds", "1e-9")
    assert said.startswith("one forward pass takes ") and said.endswith("s, over the limit of 1e-09 s")


def test_class_names_that_do_not_fit_the_scores_are_refused(tmp_path: Path, lenet_pt2: Path) -> None:
    assert refused(tmp_path, lenet_pt2, *LENET, "--classes", "a,b,c") == (
        "the model gives 10 class scores, but 3 class names are given"
    )


def test_a_bundled_models_name_is_refused(tmp_path: Path, lenet_pt2: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    code, _, err = convlens_import(lenet_pt2, "--name", "lenet_bn", "--model-dir", models, *LENET)
    assert code == 1 and "--name lenet_bn is a bundled model's name: choose another" in err
    assert list(models.iterdir()) == []


@pytest.mark.parametrize("suffix", [".pt", ".pt2", ".onnx"])
@pytest.mark.parametrize("zipped", [True, False], ids=["torch.save", "plain pickle"])
def test_a_pickle_is_refused_without_running_it(tmp_path: Path, suffix: str, zipped: bool) -> None:
    marker = tmp_path / "the pickle ran"
    file = tmp_path / f"model{suffix}"
    if zipped:
        torch.save({"model": RunsCode(marker)}, file)  # what torch.save(model) writes: a zip with a pickle
    else:
        file.write_bytes(pickle.dumps(RunsCode(marker)))
    said = refused(tmp_path, file, *LENET)
    assert said.startswith(f"model{suffix} is a pickled PyTorch object (torch.save), and loading one can run any code")
    assert "torch.export.save(torch.export.export(model.eval(), (example,)), 'model.pt2')" in said
    assert not marker.exists()


def test_a_pt2_whose_weights_are_pickled_is_refused(tmp_path: Path, lenet_pt2: Path) -> None:
    """torch.export.load would unpickle a weight marked use_pickle: the archive is refused before that."""
    tampered = tmp_path / "tampered.pt2"
    with zipfile.ZipFile(lenet_pt2) as src, zipfile.ZipFile(tampered, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith("model_weights_config.json"):
                config = json.loads(data)
                first = next(iter(config["config"]))
                config["config"][first]["use_pickle"] = True
                data = json.dumps(config).encode()
            dst.writestr(info, data)
    said = refused(tmp_path, tampered, *LENET)
    assert said.startswith("the weight ") and said.endswith("is stored as a pickle, which could run code when loaded")


def test_class_names_in_another_order_than_the_test_sets_folders_are_refused(tmp_path: Path, lenet_pt2: Path) -> None:
    """The labels of a folder test set are its folders in name order: class names in another order would
    misname every class."""
    names = [f"class{i}" for i in range(10)]
    for name in names:
        (tmp_path / "set" / name).mkdir(parents=True)
        Image.new("L", (28, 28), 128).save(tmp_path / "set" / name / "0.png")
    shuffled = ",".join(reversed(names))
    said = refused(tmp_path, lenet_pt2, *LENET, "--dataset", str(tmp_path / "set"), "--classes", shuffled)
    assert said == f"the class names ({shuffled.replace(',', ', ')}) are not the test set's folders in order" + (
        f" ({', '.join(names)})"
    )
