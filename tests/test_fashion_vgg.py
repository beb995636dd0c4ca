"""The second bundled network, fashion_vgg on Fashion-MNIST: 3x3 convolutions with padding 1 in
conv-BatchNorm-ReLU blocks, max pooling, global average pooling, a linear classifier. Every generic view is
checked on it against a direct computation, as test_generic.py does for a residual network."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image
from torch import nn

from app.labs import explain
from app.nets import fold
from app.nets.network import Network
from app.nets.receptive import Field, unit_box
from app.serving.encoding import decode
from app.serving.inference import ServedModel
from tests.helpers import png_bytes

NAME = "fashion_vgg"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
# (name, kind, output shape, receptive field size, jump, start), written out from the architecture:
# 3x3 convs with padding 1 grow the field by 2 jumps and keep its centre; a 2x2 pool doubles the jump.
TABLE = [
    ("input", "input", [1, 28, 28], 1, 1, 0.0),
    ("features.0", "conv", [32, 28, 28], 3, 1, 0.0),
    ("features.1", "batchnorm", [32, 28, 28], 3, 1, 0.0),
    ("features.2", "relu", [32, 28, 28], 3, 1, 0.0),
    ("features.3", "conv", [32, 28, 28], 5, 1, 0.0),
    ("features.4", "batchnorm", [32, 28, 28], 5, 1, 0.0),
    ("features.5", "relu", [32, 28, 28], 5, 1, 0.0),
    ("features.6", "maxpool", [32, 14, 14], 6, 2, 0.5),
    ("features.7", "conv", [64, 14, 14], 10, 2, 0.5),
    ("features.8", "batchnorm", [64, 14, 14], 10, 2, 0.5),
    ("features.9", "relu", [64, 14, 14], 10, 2, 0.5),
    ("features.10", "conv", [64, 14, 14], 14, 2, 0.5),
    ("features.11", "batchnorm", [64, 14, 14], 14, 2, 0.5),
    ("features.12", "relu", [64, 14, 14], 14, 2, 0.5),
    ("features.13", "maxpool", [64, 7, 7], 16, 4, 1.5),
    ("features.14", "conv", [128, 7, 7], 24, 4, 1.5),
    ("features.15", "batchnorm", [128, 7, 7], 24, 4, 1.5),
    ("features.16", "relu", [128, 7, 7], 24, 4, 1.5),
    ("pool", "avgpool", [128, 1, 1], 48, 28, 13.5),  # global: one 7x7 window
    ("flatten", "flatten", [128], None, None, None),
    ("classifier", "linear", [10], None, None, None),
    ("probs", "softmax", [10], None, None, None),
]


@pytest.fixture(scope="module")
def vgg(client: TestClient) -> ServedModel:
    return client.app.state.convlens.registry.get(NAME)


def images(vgg: ServedModel, ids: list[int]) -> torch.Tensor:
    return vgg.dataset().batch(ids)  # (N, 1, 28, 28) in [0, 1]


def test_the_layer_table_is_the_architecture(vgg: ServedModel) -> None:
    net = vgg.model
    assert net.classes == CLASSES and net.output == "classifier"
    got = []
    for layer in net.layers:
        field = net.fields.get(layer.name)
        geometry = (field.size, field.jump, field.start) if isinstance(field, Field) else (None, None, None)
        got.append((layer.name, layer.kind, list(layer.shape), *geometry))
    assert got == TABLE
    assert sum(p.numel() for p in net.module.parameters()) == vgg.params


def test_intermediates_equal_a_direct_forward(vgg: ServedModel) -> None:
    x = images(vgg, [0, 1, 2])
    net = vgg.model
    expected: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        h = (x - net.input.mean[0]) / net.input.std[0]
        for i, module in enumerate(net.module.features):
            h = module(h)
            expected[f"features.{i}"] = h
        expected["pool"] = h = h.mean((2, 3), keepdim=True)
        expected["flatten"] = h = h.flatten(1)
        expected["classifier"] = h = net.module.classifier(h)
        got = vgg.forward(x)
    for name, value in expected.items():
        torch.testing.assert_close(got[name], value, rtol=1e-5, atol=1e-5, msg=name)
    torch.testing.assert_close(got["probs"], torch.softmax(expected["classifier"], 1))


def test_the_committed_weights_reach_the_goal_and_the_card_says_so(vgg: ServedModel) -> None:
    store = vgg.dataset()
    predicted = []
    for start in range(0, len(store), 1000):
        batch = store.batch(list(range(start, min(start + 1000, len(store)))))
        predicted.append(vgg.forward(batch)["classifier"].argmax(1))
    accuracy = float((torch.cat(predicted).numpy() == store.labels).mean())
    assert accuracy >= 0.925, f"fashion_vgg: {accuracy:.4f} is below the 92.5% goal"
    assert vgg.card["test_accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert vgg.card["dataset"] == "fashion-mnist" and vgg.card["preprocess"] == "resize"
    assert vgg.card["invert"] == "auto"
    assert vgg.card["cpu_time_seconds"] <= 15 * 60, "a training run must cost at most 15 minutes of CPU"


@pytest.mark.parametrize("layer", ["features.3", "features.6", "features.10", "features.13", "features.16"])
def test_the_box_is_the_support_of_the_input_gradient(vgg: ServedModel, layer: str) -> None:
    # a copy whose weights are all positive, so every ReLU passes everything and every max is unique-ish:
    # the gradient reaches exactly the pixels a unit depends on (max pooling picks one of each window, so
    # for pooled layers the support lies inside the box).
    module = copy.deepcopy(vgg.model.module)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.rand_like(p) * 0.5 + 0.1)
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.zero_()
                m.running_var.fill_(1.0)
    net = Network(module.double(), vgg.model.input, vgg.model.classes)
    field = net.fields[layer]
    assert isinstance(field, Field)
    _, h, w = net.layer(layer).shape
    pooled = "maxpool" in {net.layer(name).kind for name in net.names[: net.names.index(layer) + 1]}
    for y, col in sorted({(h // 2, w // 2), (1, w - 2), (h - 1, 0)}):
        image = (torch.rand(1, 1, 28, 28, dtype=torch.float64) + 0.5).requires_grad_(True)
        value = net.intermediates(image)[layer][0, 0, y, col]
        (grad,) = torch.autograd.grad(value, image)
        rows, cols = torch.nonzero(grad[0, 0], as_tuple=True)
        box = unit_box(field, y, col).clip(28, 28)
        support = (int(rows.min()), int(cols.min()), int(rows.max()), int(cols.max()))
        if not pooled:
            assert support == (box.y0, box.x0, box.y1, box.x1), (layer, y, col)
        assert box.y0 <= support[0] <= support[2] <= box.y1 and box.x0 <= support[1] <= support[3] <= box.x1


def test_folded_batchnorm_equals_unfolded(vgg: ServedModel) -> None:
    pairs = fold.fold_pairs(vgg.model)
    assert pairs == [(f"features.{i}", f"features.{i + 1}") for i in (0, 3, 7, 10, 14)]
    folded = fold.folded_network(vgg.model)
    x = images(vgg, list(range(64)))
    with torch.no_grad():
        torch.testing.assert_close(folded(x), vgg.model(x), rtol=1e-5, atol=1e-5)


def test_class_maps_sit_on_the_last_block_and_agree_after_global_pooling(vgg: ServedModel) -> None:
    assert explain.gradcam_layer(vgg.model) == "features.16"
    x = images(vgg, [0])
    target = int(vgg.forward(x)["classifier"].argmax())
    cam = explain.gradcam(vgg.model, x, target)
    assert cam.shape == (28, 28) and float(cam.max()) > 0
    torch.testing.assert_close(explain.gradcam(vgg.model, x, target, unit_by_unit=True), cam, rtol=1e-4, atol=1e-6)


def test_every_view_works_on_fashion_vgg(client: TestClient, vgg: ServedModel) -> None:
    q = f"model={NAME}"
    model = client.get(f"/api/model?{q}").json()
    assert [layer["name"] for layer in model["layers"]] == vgg.model.names and model["classes"] == CLASSES
    samples = client.get(f"/api/samples?{q}").json()
    first = samples["samples"][0] if isinstance(samples, dict) else samples[0]
    assert first["label_name"] == CLASSES[first["label"]]
    acts = client.post(f"/api/activations?{q}&layers=features.16,probs", data={"sample": "5"}).json()
    direct = vgg.forward(images(vgg, [5]))
    got = {layer["name"]: decode(layer["data"], layer["shape"]) for layer in acts["layers"]}
    np.testing.assert_allclose(got["features.16"], direct["features.16"][0].numpy(), rtol=1e-5, atol=1e-6)
    r = client.get(f"/api/layers/features.7/weights?{q}").json()
    assert r["tensors"][0]["shape"] == [64, 32, 3, 3]
    r = client.post(f"/api/receptive-field?{q}", data={"sample": "5", "layer": "features.14", "y": "3", "x": "3"})
    assert r.status_code == 200 and r.json()["size"] == 24
    for method in explain.METHODS:
        r = client.post(f"/api/explain?{q}&method={method}", data={"sample": "5"})
        assert r.status_code == 200 and r.json()["map"]["shape"] == [28, 28], method
    r = client.post(f"/api/mix?{q}", data={"sample": "5", "layer": "features.2", "matrix": json_row(32)})
    assert r.status_code == 200 and r.json()["output"]["shape"] == [1, 28, 28]
    r = client.post(f"/api/batchnorm?{q}", data={"samples": "8"})
    assert r.status_code == 200 and len(r.json()["layers"]) == 5
    r = client.post(f"/api/activations?{q}&layers=features.0", data={"sample": "5", "conv1_override": OVERRIDE})
    assert r.status_code == 200
    assert client.get(f"/api/model/card?{q}").status_code == 200
    r = client.get(f"/api/training?{q}")
    assert r.status_code == 404 and "no training timeline" in r.json()["detail"]


def test_a_photo_of_an_item_on_light_paper_comes_out_like_a_fashion_mnist_item(client: TestClient, vgg: ServedModel):
    """A sneaker drawn dark on a large light page, off-centre: the upload is inverted, trimmed to the item,
    centred and resized, so the network sees (nearly) the test item itself and names the same class."""
    store = vgg.dataset()
    index = int(np.flatnonzero(store.labels == CLASSES.index("Sneaker"))[0])
    item = store.images[index]  # (28, 28) uint8, light on black
    big = np.asarray(Image.fromarray(255 - item).resize((112, 112), Image.Resampling.BILINEAR))
    page = np.full((300, 400), 255, np.uint8)
    page[40:152, 200:312] = big
    r = client.post(f"/api/activations?model={NAME}&layers=input,probs", files={"file": ("shoe.png", png_bytes(page))})
    assert r.status_code == 200, r.text
    got = {layer["name"]: decode(layer["data"], layer["shape"]) for layer in r.json()["layers"]}
    seen = got["input"].reshape(28, 28)
    assert np.corrcoef(seen.ravel(), item.ravel() / 255)[0, 1] > 0.8  # framing may differ by a pixel
    alone = vgg.forward(images(vgg, [index]))["probs"][0]
    assert int(np.argmax(got["probs"])) == int(alone.argmax()) == CLASSES.index("Sneaker")


OVERRIDE = '{"channel": 0, "kernel": [[0, 0, 0], [0, 1, 0], [0, 0, 0]]}'


def json_row(n: int) -> str:
    return "[[" + ",".join(["1"] + ["0"] * (n - 1)) + "]]"
