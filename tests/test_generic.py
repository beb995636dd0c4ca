"""Any CNN, not one LeNet: the layer table is traced from the network, and every generic piece (intermediates,
receptive fields, BatchNorm folding, the routes) is checked on a small residual network defined here, with a
strided conv, a dilated depthwise conv, a 1x1 conv, a grouped conv, an add and global average pooling."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fastapi.testclient import TestClient
from torch import nn

from app.labs import explain
from app.nets import fold
from app.nets.graph import Window
from app.nets.network import InputSpec, Network
from app.nets.receptive import Field, NoField, unit_box
from app.serving.encoding import decode
from app.serving.inference import ServedModel


class TinyRes(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 8, 3, stride=2, padding=1)  # 8 x 14 x 14
        self.bn = nn.BatchNorm2d(8)
        self.relu = nn.ReLU()
        self.block = nn.Sequential(
            nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=8),  # depthwise, dilated
            nn.Conv2d(8, 8, 1),  # pointwise
            nn.BatchNorm2d(8),
        )
        self.grouped = nn.Conv2d(8, 16, 3, stride=2, padding=1, groups=2)  # 16 x 7 x 7
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn(self.stem(x)))
        x = F.relu(x + self.block(x))
        x = self.pool(self.relu(self.grouped(x)))
        return self.fc(torch.flatten(x, 1))


SPEC = InputSpec((1, 28, 28), (0.2,), (0.3,))


def positive(module: nn.Module) -> nn.Module:
    """All weights and BatchNorm parameters positive, so every ReLU passes everything on: gradients then reach
    every input pixel a unit depends on."""
    torch.manual_seed(0)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.rand_like(p) * 0.5 + 0.1)
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.zero_()
                m.running_var.fill_(1.0)
    return module.eval()


@pytest.fixture(scope="module")
def net() -> Network:
    return Network(positive(TinyRes()), SPEC, [str(c) for c in range(10)])


def test_the_layer_table_is_traced_with_module_paths_kinds_and_windows(net: Network) -> None:
    table = [(layer.name, layer.kind, layer.inputs, layer.shape) for layer in net.layers]
    assert table == [
        ("input", "input", (), (1, 28, 28)),
        ("stem", "conv", ("input",), (8, 14, 14)),
        ("bn", "batchnorm", ("stem",), (8, 14, 14)),
        ("relu", "relu", ("bn",), (8, 14, 14)),
        ("block.0", "conv", ("relu",), (8, 14, 14)),
        ("block.1", "conv", ("block.0",), (8, 14, 14)),
        ("block.2", "batchnorm", ("block.1",), (8, 14, 14)),
        ("add", "add", ("relu", "block.2"), (8, 14, 14)),
        ("relu_1", "relu", ("add",), (8, 14, 14)),
        ("grouped", "conv", ("relu_1",), (16, 7, 7)),
        ("relu@2", "relu", ("grouped",), (16, 7, 7)),
        ("pool", "avgpool", ("relu@2",), (16, 1, 1)),
        ("flatten", "flatten", ("pool",), (16,)),
        ("fc", "linear", ("flatten",), (10,)),
        ("probs", "softmax", ("fc",), (10,)),
    ]
    assert net.layer("stem").window == Window((3, 3), (2, 2), (1, 1))
    assert net.layer("block.0").window == Window((3, 3), (1, 1), (2, 2), (2, 2), groups=8)
    assert net.layer("grouped").window == Window((3, 3), (2, 2), (1, 1), groups=2)
    assert net.layer("pool").window == Window((7, 7), (7, 7), (0, 0))  # global average pooling
    assert [net.params(n) for n in ("stem", "block.0", "block.1", "grouped", "fc")] == [80, 80, 72, 592, 170]
    assert net.params("relu@2") == 0  # the second call of one module: its parameters are counted once
    assert net.output == "fc"


def test_intermediates_equal_a_direct_forward(net: Network) -> None:
    x = torch.rand(3, 1, 28, 28)
    m = net.module
    with torch.no_grad():
        h = (x - 0.2) / 0.3
        stem = m.stem(h)
        relu = torch.relu(m.bn(stem))
        block = m.block(relu)
        added = relu + block
        grouped = m.grouped(torch.relu(added))
        pooled = torch.relu(grouped).mean((2, 3), keepdim=True)
        logits = m.fc(pooled.flatten(1))
        got = net.intermediates(x)
    expected = {"stem": stem, "relu": relu, "block.2": block, "add": added, "grouped": grouped, "pool": pooled}
    for name, value in {**expected, "fc": logits, "probs": torch.softmax(logits, 1)}.items():
        torch.testing.assert_close(got[name], value, rtol=1e-5, atol=1e-6, msg=name)
    assert torch.equal(got["input"], x)
    torch.testing.assert_close(net(x), logits)


def test_receptive_fields_follow_the_arithmetic_and_take_the_union_at_the_add(net: Network) -> None:
    fields = net.fields
    sizes = {name: (f.size, f.jump, f.start) for name, f in fields.items() if isinstance(f, Field)}
    assert sizes["stem"] == (3, 2, 0.0)  # 3 pixels centred on 0 (one of them padding), every second pixel
    assert sizes["block.0"] == (3 + 2 * 2 * 2, 2, 0.0)  # dilation 2 at jump 2: 4 more on each side
    assert sizes["add"] == sizes["block.2"]  # the union of the identity (3) and the block (11) paths
    assert sizes["grouped"] == (11 + 2 * 2, 4, 0.0)
    assert sizes["pool"][1] == 28  # one unit: the whole image (and some padding)


@pytest.mark.parametrize("layer", ["stem", "block.0", "add", "relu_1", "grouped"])
def test_the_box_is_the_support_of_the_input_gradient(net: Network, layer: str) -> None:
    field = net.fields[layer]
    assert isinstance(field, Field)
    _, h, w = net.layer(layer).shape
    x = torch.rand(1, 1, 28, 28) + 0.5  # positive pixels: every ReLU is open
    units = {(0, 0), (h // 2, w // 2), (h - 1, w - 1), (1, w - 2), (h // 2 - 1, w // 2 + 1)}
    for y, col in sorted(units):
        image = x.clone().requires_grad_(True)
        value = net.intermediates(image)[layer][0, 0, y, col]
        (grad,) = torch.autograd.grad(value, image)
        rows, cols = torch.nonzero(grad[0, 0], as_tuple=True)
        full = unit_box(field, y, col)
        box = full.clip(28, 28)
        support = (int(rows.min()), int(cols.min()), int(rows.max()), int(cols.max()))
        inside = box == full  # the box does not reach past the image
        if inside:
            assert support == (box.y0, box.x0, box.y1, box.x1), (layer, y, col)
        else:  # at the edge a dilated window's holes may be all that is left of the box in the image
            assert box.y0 <= support[0] <= support[2] <= box.y1 and box.x0 <= support[1] <= support[3] <= box.x1


def test_branches_with_different_strides_have_no_box() -> None:
    class Uneven(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(1, 4, 3, stride=2, padding=1)
            self.b = nn.Conv2d(1, 4, 1, stride=1)
            self.fc = nn.Linear(4 * 14 * 14, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.a(x) + F.max_pool2d(self.b(x), 2)  # jumps 2 and 2 ... then different windows
            z = torch.cat([y, y], dim=1)[:, :4]
            return self.fc(z.flatten(1))

    uneven = Network(Uneven().eval(), SPEC, ["a", "b"])
    assert isinstance(uneven.fields["add"], Field)
    reasons = [f.reason for f in uneven.fields.values() if isinstance(f, NoField)]
    assert reasons and all("geometry is not known" in r or "not a stack" in r for r in reasons)


def test_folded_batchnorm_equals_unfolded(net: Network) -> None:
    trained = copy.deepcopy(net.module)
    with torch.no_grad():
        for m in trained.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2)
    network = Network(trained, SPEC, net.classes)
    assert fold.fold_pairs(network) == [("stem", "bn"), ("block.1", "block.2")]
    folded = fold.folded_network(network)
    assert [layer.kind for layer in folded.layers if layer.name in ("bn", "block.2")] == ["identity", "identity"]
    x = torch.rand(16, 1, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(folded(x), network(x), rtol=1e-5, atol=1e-5)


def test_gradcam_uses_the_last_maps_before_the_classifier(net: Network) -> None:
    assert explain.gradcam_layer(net) == "relu@2"
    x = torch.rand(1, 1, 28, 28)
    heat = explain.gradcam(net, x, 3)
    assert heat.shape == (28, 28) and (heat >= 0).all()
    # after global average pooling every unit of a map has the same gradient: HiResCAM is Grad-CAM
    torch.testing.assert_close(explain.gradcam(net, x, 3, unit_by_unit=True), heat, rtol=1e-5, atol=1e-7)


# --- the routes, on the residual network served beside the bundled models ----------------------------------


@pytest.fixture(scope="module")
def tiny(client: TestClient, net: Network) -> str:
    registry = client.app.state.convlens.registry
    card = {"dataset": "mnist", "preprocess": "none"}
    registry.models["tinyres"] = ServedModel("tinyres", net, card, registry.get().samples)
    yield "tinyres"
    del registry.models["tinyres"]


def test_every_view_works_on_the_residual_network(client: TestClient, tiny: str, net: Network) -> None:
    model = client.get(f"/api/model?model={tiny}").json()
    assert [layer["name"] for layer in model["layers"]] == net.names
    add = next(layer for layer in model["layers"] if layer["name"] == "add")
    assert add["inputs"] == ["relu", "block.2"] and add["receptive_field"]["size"] == 11
    acts = client.post(f"/api/activations?model={tiny}&layers=add,probs", data={"sample": "3"}).json()
    x = torch.from_numpy(client.app.state.convlens.registry.get().samples.pixels(3)).reshape(1, 1, 28, 28)
    with torch.no_grad():
        direct = net.intermediates(x)
    got = {layer["name"]: decode(layer["data"], layer["shape"]) for layer in acts["layers"]}
    np.testing.assert_allclose(got["add"], direct["add"][0].numpy(), rtol=1e-5, atol=1e-6)
    weights = client.get(f"/api/layers/block.0/weights?model={tiny}").json()
    assert weights["tensors"][0]["shape"] == [8, 1, 3, 3]  # depthwise: one input channel per filter
    r = client.post(f"/api/receptive-field?model={tiny}", data={"sample": "3", "layer": "grouped", "y": "3", "x": "3"})
    assert r.status_code == 200 and r.json()["size"] == 15
    for method in explain.METHODS:
        r = client.post(f"/api/explain?model={tiny}&method={method}", data={"sample": "3"})
        assert r.status_code == 200 and r.json()["map"]["shape"] == [28, 28], method
    r = client.post(f"/api/mix?model={tiny}", data={"sample": "3", "layer": "add", "matrix": "[[1,0,0,0,0,0,0,0]]"})
    assert r.status_code == 200 and r.json()["output"]["shape"] == [1, 14, 14]
    r = client.post(f"/api/batchnorm?model={tiny}", data={"samples": "4"})
    assert r.status_code == 200 and [layer["name"] for layer in r.json()["layers"]] == ["bn", "block.2"]
    r = client.post(
        f"/api/activations?model={tiny}&layers=stem",
        data={"sample": "3", "conv1_override": '{"channel": 0, "kernel": [[1]]}'},
    )
    assert r.status_code == 200


def test_views_that_do_not_apply_say_why(client: TestClient, tiny: str) -> None:
    r = client.post(f"/api/receptive-field?model={tiny}", data={"sample": "3", "layer": "fc", "y": "0", "x": "0"})
    assert r.status_code == 422 and "no spatial maps" in r.json()["detail"]
    r = client.get(f"/api/training?model={tiny}")
    assert r.status_code == 404 and "no training timeline" in r.json()["detail"]
    r = client.get(f"/api/layers/add/weights?model={tiny}")
    assert r.status_code == 404 and "has no weights" in r.json()["detail"]
