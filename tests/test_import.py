"""Bring your own model: small networks exported here to torch.export (.pt2) and ONNX, imported with
``convlens import``, served beside the bundled models, and every answer of the API compared with the original:
PyTorch eager on the network itself (and on the exported program) for a .pt2, ONNX Runtime for an .onnx."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image
from torch import nn

from app import cli
from app.config import Settings
from app.datasets import mnist
from app.importing import reference
from app.main import create_app
from app.nets.graphspec import GraphConfig
from app.nets.network import InputSpec, Network
from app.serving import costs
from app.serving.encoding import decode
from tests.helpers import png_bytes
from tests.importing import CASES, Case, build, convlens_import, export_onnx, export_pt2

ROOT = Path(__file__).resolve().parent.parent
TOLERANCE = 1e-5  # relative to the original's largest magnitude
NAMES = [f"{case.name}_{fmt}" for case in CASES for fmt in ("pt2", "onnx")]
RGB_CLASSES = ["astronaut", "cat", "coffee"]  # the class folders of the colour network's test set


@dataclass(frozen=True)
class Imported:
    case: Case
    fmt: str
    file: Path
    module: nn.Module  # the original, in eval mode
    stdout: str

    @property
    def spec(self) -> InputSpec:
        c = self.case.shape[0]
        return InputSpec(self.case.shape, self.case.mean or (0.0,) * c, self.case.std or (1.0,) * c)

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        mean, std = (torch.tensor(v).reshape(1, -1, 1, 1) for v in (self.spec.mean, self.spec.std))
        return (x - mean) / std

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The original's class scores for pixels ``x`` (N, C, H, W): the network in PyTorch eager, or ONNX
        Runtime on the file."""
        if self.fmt == "pt2":
            with torch.no_grad():
                return self.module(self.normalize(x))
        session = ort.InferenceSession(str(self.file), providers=["CPUExecutionProvider"])
        given = session.get_inputs()[0].name
        rows = [session.run(None, {given: row.numpy()})[0] for row in self.normalize(x).split(1)]
        return torch.from_numpy(np.concatenate(rows))


def rgb_test_set(folder: Path) -> Path:
    """Three classes of four 32 x 32 crops from the app's colour pictures, one folder per class."""
    for name in RGB_CLASSES:
        (folder / name).mkdir(parents=True)
        with Image.open(ROOT / "static" / "img" / f"{name}.png") as img:
            img = img.convert("RGB")
        side = min(img.size) // 2
        for i, (left, top) in enumerate([(0, 0), (side, 0), (0, side), (side // 2, side // 2)]):
            img.crop((left, top, left + side, top + side)).resize((32, 32)).save(folder / name / f"{i}.png")
    return folder


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> dict[str, Imported]:
    files = tmp_path_factory.mktemp("files")
    found = {}
    for case in CASES:
        module = build(case.make)
        for fmt in ("pt2", "onnx"):
            path = files / f"{case.name}.{fmt}"
            if fmt == "pt2":
                export_pt2(module, case.shape, path)
            else:
                export_onnx(module, case.shape, path, external_data=case.name == "lenet")
            args: list[str | Path] = [path, "--name", f"{case.name}_{fmt}", "--model-dir", model_dir]
            args += ["--input", ",".join(map(str, case.shape))]
            if case.mean:
                args += ["--mean", ",".join(map(str, case.mean)), "--std", ",".join(map(str, case.std))]
            if case.name == "rgb":
                args += ["--dataset", rgb_test_set(files / f"testset_{fmt}")]
            code, out, err = convlens_import(*args)
            assert code == 0, err
            found[f"{case.name}_{fmt}"] = Imported(case, fmt, path, module, out)
    return found


@pytest.fixture(scope="module")
def client(imported: dict[str, Imported], model_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(model_dir=model_dir)), raise_server_exceptions=False) as c:
        yield c


def layers_of(answer: dict) -> dict[str, torch.Tensor]:
    return {a["name"]: torch.from_numpy(decode(a["data"], a["shape"]).copy()) for a in answer["layers"]}


def relative(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    assert ours.shape == theirs.shape
    return float((ours.double() - theirs.double()).abs().max()) / max(float(theirs.abs().max()), 1e-6)


def eager_modules(module: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Every leaf module's output in the original network, by module path (forward hooks, removed after)."""
    seen: dict[str, torch.Tensor] = {}
    handles = [
        m.register_forward_hook(lambda _m, _i, out, path=path: seen.__setitem__(path, out))
        for path, m in module.named_modules()
        if path and not list(m.children())
    ]
    try:
        with torch.no_grad():
            module(x)
    finally:
        for handle in handles:
            handle.remove()
    return seen


def origins_of(client: TestClient, name: str) -> dict[str, str]:
    served = client.app.state.convlens.registry.get(name)
    checkpoint = torch.load(served.folder / f"{name}.pt", weights_only=True)
    return reference.layer_origins(GraphConfig.from_dict(checkpoint["config"]))


def check_answer(client: TestClient, item: Imported, name: str, answer: dict) -> None:
    """Every layer of ``answer`` against the original: the scores and probabilities against the original's
    own runtime; every layer reproducing a value of the file against that value; for a .pt2, every module's
    output against the eager network's, by module path."""
    layers = layers_of(answer)
    x = layers["input"].unsqueeze(0)  # (1, C, H, W): the pixels the network was given
    logits = item.logits(x)
    table = client.get(f"/api/model?model={name}").json()
    assert relative(layers[table["output"]], logits[0]) <= TOLERANCE
    probs = torch.softmax(logits.double(), dim=1)[0]
    assert relative(torch.tensor(answer["prediction"]["probabilities"]), probs) <= TOLERANCE
    assert relative(layers["probs"], probs) <= TOLERANCE
    assert answer["prediction"]["label"] == int(logits.argmax())

    origins = origins_of(client, name)
    theirs = reference.original(item.file, item.fmt, origins)(item.normalize(x))
    for layer in origins:
        assert relative(layers[layer], theirs[layer][0]) <= TOLERANCE, layer
    untraced = set(layers) - set(origins) - {"input", "probs"}
    assert all(name.endswith("_pad") for name in untraced), untraced  # explicit pads have no value of their own
    if item.fmt == "pt2":
        eager = eager_modules(item.module, item.normalize(x))
        shared = set(eager) & set(layers)
        convs = {p for p, m in item.module.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)}
        assert convs <= shared, "the layers are named by the original's module paths"
        for path in shared:
            assert relative(layers[path], eager[path][0]) <= TOLERANCE, path


@pytest.mark.parametrize("name", NAMES)
def test_every_layer_equals_the_original_on_random_pixels(
    client: TestClient, imported: dict[str, Imported], name: str
) -> None:
    item = imported[name]
    x = torch.rand(1, *item.case.shape, generator=torch.Generator().manual_seed(1))
    pixels = x[0, 0].tolist() if item.case.shape[0] == 1 else x[0].tolist()
    r = client.post(f"/api/activations?model={name}&preprocess=none", json={"pixels": pixels})
    assert r.status_code == 200, r.text
    assert torch.equal(layers_of(r.json())["input"], x[0])
    check_answer(client, item, name, r.json())


@pytest.mark.parametrize("name", NAMES)
def test_every_layer_equals_the_original_on_a_real_image(
    client: TestClient, imported: dict[str, Imported], name: str
) -> None:
    """A test digit from MNIST for the grey networks (as an upload: the digit preprocessing), a photograph
    for the colour one (resized)."""
    item = imported[name]
    if item.case.shape[0] == 1:
        upload = png_bytes(mnist.load("test", ROOT / "data" / "mnist").images[0])
    else:
        upload = (ROOT / "static" / "img" / "cat.png").read_bytes()
    r = client.post(f"/api/activations?model={name}", files={"file": ("image.png", upload, "image/png")})
    assert r.status_code == 200, r.text
    assert float(layers_of(r.json())["input"].std()) > 0.05  # a real picture reached the network
    check_answer(client, item, name, r.json())


def onnx_weights(item: Imported, origin: str) -> dict[str, np.ndarray]:
    """The weights in the ONNX file of the node computing ``origin``, in torch's layout."""
    model = onnx.load(str(item.file))  # with the weights beside it, if any
    stored = {t.name: onnx.numpy_helper.to_array(t) for t in model.graph.initializer}
    node = next(n for n in model.graph.node if origin in n.output)
    if node.op_type == "Conv":
        return {"weight": stored[node.input[1]], "bias": stored[node.input[2]]}
    assert node.op_type == "Gemm", node.op_type
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    weight = stored[node.input[1]]
    return {"weight": weight if attrs.get("transB") else weight.T, "bias": stored[node.input[2]]}


@pytest.mark.parametrize("name", NAMES)
def test_the_weights_served_are_the_files(client: TestClient, imported: dict[str, Imported], name: str) -> None:
    item = imported[name]
    table = client.get(f"/api/model?model={name}").json()
    origins = origins_of(client, name)
    state = item.module.state_dict()
    checked = 0
    for layer in table["layers"]:
        if layer["kind"] not in ("conv", "linear", "batchnorm"):
            continue
        answer = client.get(f"/api/layers/{layer['name']}/weights?model={name}").json()
        served = {t["name"]: decode(t["data"], t["shape"]) for t in answer["tensors"]}
        if item.fmt == "pt2":
            expected = {k: state[f"{layer['name']}.{k}"].numpy() for k in served}
        else:
            expected = onnx_weights(item, origins[layer["name"]])
        assert set(served) == set(expected), layer["name"]
        for key, array in served.items():
            assert np.array_equal(array, expected[key]), (layer["name"], key)
        checked += 1
    assert checked >= sum(isinstance(m, nn.Conv2d | nn.Linear) for m in item.module.modules())


def test_the_models_list_holds_the_bundled_and_the_imported_models(client: TestClient) -> None:
    names = {m["name"] for m in client.get("/api/models").json()}
    assert {"lenet_bn", "lenet", *NAMES} <= names


@pytest.mark.parametrize("name", ["lenet_pt2", "resnet_pt2", "convs_pt2", "rgb_pt2"])
def test_the_layer_table_and_the_costs_are_those_of_the_network_served_directly(
    client: TestClient, imported: dict[str, Imported], name: str
) -> None:
    """A .pt2 gives back the original's layer table (module paths, kinds, shapes, windows, parameters), so the
    cost model reads the same layers from it as from the network itself."""
    item = imported[name]
    served = client.app.state.convlens.registry.get(name)
    direct = Network(item.module, item.spec, served.model.classes)
    module_layers = [  # an eval-mode dropout does nothing, and the export leaves it out
        (la.name, la.kind, la.shape, la.params, la.window) for la in direct.layers if la.module and la.kind != "dropout"
    ]
    assert [(la.name, la.kind, la.shape, la.params, la.window) for la in served.model.layers if la.module] == (
        module_layers
    )
    assert served.params == sum(p.numel() for p in item.module.parameters())
    kept = {la.name: list(la.shape) for la in direct.layers if la.kind != "dropout"}
    assert costs.profile(served.model.module, served.shapes) == costs.profile(direct.module, kept)


def test_the_summary_says_layers_parameters_multiply_adds_and_the_last_receptive_field(
    imported: dict[str, Imported],
) -> None:
    item = imported["lenet_pt2"]
    x = torch.zeros(1, 1, 28, 28)
    outputs = eager_modules(item.module, x)
    macs = 0
    for path, m in item.module.named_modules():
        if isinstance(m, nn.Conv2d):
            macs += outputs[path].numel() * m.in_channels // m.groups * math.prod(m.kernel_size)
        elif isinstance(m, nn.Linear):
            macs += m.in_features * m.out_features
    params = sum(p.numel() for p in item.module.parameters())
    lines = [line.strip() for line in item.stdout.splitlines()]
    assert f"parameters: {params:,}" in lines
    assert f"multiply-adds: {macs:,}" in lines
    assert lines[1].startswith("layers: 14 (2 conv, 3 batchnorm, 3 relu, 2 maxpool, 1 flatten, 2 linear")
    # conv 5 (padding 2), pool 2, conv 5, pool 2: 5 + 1 + 4 x 2 + 1 x 2 = 16 pixels, a step of 4
    assert "receptive field of pool2 (the last layer with maps): 16x16 pixels, every 4" in lines


@pytest.mark.parametrize("fmt", ["pt2", "onnx"])
def test_an_imported_test_set_feeds_the_card_the_gallery_and_the_top_images(
    client: TestClient, imported: dict[str, Imported], fmt: str
) -> None:
    name, item = f"rgb_{fmt}", imported[f"rgb_{fmt}"]
    folder = item.file.parent / f"testset_{fmt}"
    images = [(c, np.asarray(Image.open(p), dtype=np.float32) / 255) for c in range(3)
              for p in sorted((folder / RGB_CLASSES[c]).glob("*.png"))]  # fmt: skip
    x = torch.from_numpy(np.stack([img for _, img in images])).permute(0, 3, 1, 2)  # (12, 3, 32, 32)
    predicted = item.logits(x).argmax(1).tolist()
    labels = [c for c, _ in images]
    card = client.get(f"/api/model/card?model={name}").json()
    assert client.get(f"/api/model?model={name}").json()["classes"] == RGB_CLASSES
    assert card["test_accuracy"] == pytest.approx(np.mean(np.array(predicted) == np.array(labels)))
    samples = client.get(f"/api/samples?model={name}").json()
    assert len(samples) >= 9
    assert all((s["label"], s["predicted"]) == (labels[s["id"]], predicted[s["id"]]) for s in samples)
    top = client.get(f"/api/layers/features.0/channels/0/top?model={name}")
    assert top.status_code == 200, top.text
    assert {e["index"] for e in top.json()["examples"]} <= set(range(len(labels)))


@pytest.mark.parametrize("name", ["resnet_onnx", "convs_pt2"])
def test_the_explanations_and_receptive_fields_work_on_imported_models(client: TestClient, name: str) -> None:
    pixels = torch.rand(28, 28, generator=torch.Generator().manual_seed(2)).tolist()
    upload = ("noise.png", png_bytes((np.array(pixels) * 255).astype(np.uint8)), "image/png")
    for method in ("saliency", "gradcam", "occlusion"):
        r = client.post(f"/api/explain?model={name}&method={method}&preprocess=none", files={"file": upload})
        assert r.status_code == 200, r.text
    table = client.get(f"/api/model?model={name}").json()
    last = [la for la in table["layers"] if len(la["output_shape"]) == 3][-1]["name"]
    r = client.post(
        f"/api/receptive-field?model={name}&preprocess=none",
        files={"file": upload},
        data={"layer": last, "channel": "0", "y": "0", "x": "0"},
    )
    assert r.status_code == 200, r.text


def test_the_model_folder_comes_from_the_option_or_the_environment(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CONVLENS_MODEL_DIR", str(model_dir))
    assert Settings.from_env().model_dirs == [Settings().bundled_dir, model_dir]
    monkeypatch.setenv("CONVLENS_MODEL_DIR", "")
    for _, _, variable, _ in cli.SERVER_LIMITS:
        monkeypatch.delenv(variable, raising=False)  # serve sets them for its workers: restored after the test
    monkeypatch.delenv("WORKERS", raising=False)
    ran: list[dict] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: ran.append(kwargs))
    assert cli.main(["serve", "--model-dir", str(model_dir)]) == 0
    assert ran and Settings.from_env().model_dirs == [Settings().bundled_dir, model_dir.resolve()]
    assert cli.main(["serve", "--model-dir", str(tmp_path / "missing")]) == 2
