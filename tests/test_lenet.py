"""The network: shapes, kinds, receptive fields, eval-mode BatchNorm, checkpoints."""

from __future__ import annotations

import pytest
import torch

from app.nets import architectures
from app.nets.checkpoint import load_module, save_checkpoint
from app.nets.graph import Window
from app.nets.lenet import ModelConfig, lenet
from app.nets.network import InputSpec, Network
from app.schemas.network import KINDS


def LeNet(cfg: ModelConfig | None = None) -> Network:  # named like the class it replaces
    """The LeNet with its traced layer table, normalising with the config's statistics."""
    cfg = cfg or ModelConfig()
    return Network(lenet(cfg), InputSpec((1, 28, 28), (cfg.mean,), (cfg.std,)), [str(d) for d in range(10)])


EXPECTED = {
    "input": ("input", (1, 28, 28)),
    "conv1": ("conv", (20, 28, 28)),
    "bn1": ("batchnorm", (20, 28, 28)),
    "relu1": ("relu", (20, 28, 28)),
    "pool1": ("maxpool", (20, 14, 14)),
    "conv2": ("conv", (50, 14, 14)),
    "bn2": ("batchnorm", (50, 14, 14)),
    "relu2": ("relu", (50, 14, 14)),
    "pool2": ("maxpool", (50, 7, 7)),
    "flatten": ("flatten", (2450,)),
    "fc1": ("linear", (500,)),
    "bn3": ("batchnorm", (500,)),
    "relu3": ("relu", (500,)),
    "fc2": ("linear", (10,)),
    "probs": ("softmax", (10,)),
}


def test_every_intermediate_in_order_with_its_shape() -> None:
    model = LeNet().eval()
    out = model.intermediates(torch.rand(3, 1, 28, 28))
    assert list(out) == list(EXPECTED)
    assert {name: tuple(t.shape[1:]) for name, t in out.items()} == {n: s for n, (_, s) in EXPECTED.items()}
    assert {s.name: s.kind for s in model.layers} == {n: k for n, (k, _) in EXPECTED.items()}
    assert all(s.kind in KINDS for s in model.layers)


def test_module_names_are_the_layer_names() -> None:
    model = LeNet()
    modules = dict(model.module.named_children())
    assert list(modules) == [n for n in EXPECTED if n not in ("input", "probs")]
    assert all(model.layer(n).module == n for n in modules)
    assert isinstance(modules["bn3"], torch.nn.BatchNorm1d)
    assert modules["conv1"].padding == (2, 2) and modules["conv2"].padding == (2, 2)
    assert model.layer("conv2").window == Window((5, 5), (1, 1), (2, 2))
    assert model.layer("pool2").window == Window((2, 2), (2, 2), (0, 0))


def test_the_lectures_lenet5_table() -> None:
    """EECS 498-007 Lecture 7, "Example: LeNet-5": outputs 20x28x28, 20x14x14, 50x14x14, 50x7x7, 2450, 500, 10
    and weights 20x1x5x5, 50x20x5x5, 2450x500, 500x10 (torch keeps a linear weight as out x in)."""
    model = LeNet(ModelConfig(batchnorm=False)).eval()
    out = model.intermediates(torch.rand(1, 1, 28, 28))
    shapes = [tuple(out[n].shape[1:]) for n in ("conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten")]
    assert shapes == [(20, 28, 28), (20, 28, 28), (20, 14, 14), (50, 14, 14), (50, 14, 14), (50, 7, 7), (2450,)]
    assert [tuple(out[n].shape[1:]) for n in ("fc1", "relu3", "fc2")] == [(500,), (500,), (10,)]
    weights = [tuple(model.submodule(n).weight.shape) for n in ("conv1", "conv2", "fc1", "fc2")]
    assert weights == [(20, 1, 5, 5), (50, 20, 5, 5), (500, 2450), (10, 500)]


def test_without_conv_relus_max_pooling_is_the_only_bend_of_the_conv_part() -> None:
    model = LeNet(ModelConfig(conv_relu=False)).eval()
    names = [s.name for s in model.layers]
    assert names == [n for n in EXPECTED if n not in ("relu1", "relu2")]
    x = torch.rand(2, 1, 28, 28)
    out = model.intermediates(x)
    torch.testing.assert_close(out["pool1"], torch.nn.functional.max_pool2d(out["bn1"], 2))
    torch.testing.assert_close(out["pool2"], torch.nn.functional.max_pool2d(out["bn2"], 2))


def test_forward_is_the_logits_and_probs_its_softmax() -> None:
    model = LeNet().eval()
    x = torch.rand(4, 1, 28, 28)
    out = model.intermediates(x)
    torch.testing.assert_close(model(x), out["fc2"])
    torch.testing.assert_close(out["probs"], torch.softmax(out["fc2"], 1))


def test_first_step_normalises_with_the_training_statistics() -> None:
    model = LeNet(ModelConfig(mean=0.25, std=0.5)).eval()
    x = torch.rand(2, 1, 28, 28)
    conv1 = model.submodule("conv1")
    expected = torch.nn.functional.conv2d((x - 0.25) / 0.5, conv1.weight, conv1.bias, padding=2)
    torch.testing.assert_close(model.intermediates(x)["conv1"], expected)


def test_receptive_fields_follow_from_the_layer_arithmetic() -> None:
    fields = LeNet().fields
    got = {name: (f.size, f.jump) for name, f in fields.items()}
    assert got["conv1"] == (5, 1)
    assert got["pool1"] == (6, 2)
    assert got["conv2"] == (14, 2)
    assert got["pool2"] == (16, 4)
    assert got["bn2"] == got["relu2"] == got["conv2"]
    assert "fc1" not in fields and "flatten" not in fields
    # centre of unit (0, 0): conv1 starts at 0 (its 5 pixels -2..2 reach 2 into the padding), pool1 at 0.5,
    # conv2 (padding 2 at jump 2) stays at 0.5, pool2 at 0.5 + 0.5 * 2 = 1.5: 16 pixels -6..9
    assert [fields[n].start for n in ("conv1", "pool1", "conv2", "pool2")] == [0.0, 0.5, 0.5, 1.5]


def test_receptive_field_changes_when_the_geometry_does() -> None:
    model = LeNet()
    model.module.conv1 = torch.nn.Conv2d(1, 20, 3, stride=2, padding=1)
    model.module.fc1 = torch.nn.Linear(50 * 3 * 3, 500)  # 28 -> 14 -> 7 -> 7 -> 3
    changed = Network(model.module, model.input, model.classes)
    # conv1 3/2, pool1 +1*2 (jump 4), conv2 +4*4, pool2 +1*4 (jump 8)
    assert (changed.fields["pool2"].size, changed.fields["pool2"].jump) == (3 + 1 * 2 + 4 * 4 + 1 * 4, 8)


def test_eval_mode_batchnorm_one_image_alone_equals_inside_a_batch() -> None:
    torch.manual_seed(1)
    model = LeNet()
    model.train()
    for _ in range(3):  # give the running statistics something other than their initial values
        model(torch.rand(16, 1, 28, 28))
    model.eval()
    batch = torch.rand(8, 1, 28, 28)
    with torch.inference_mode():
        together = model.intermediates(batch)
        for i in range(8):
            alone = model.intermediates(batch[i : i + 1])
            for name in EXPECTED:
                torch.testing.assert_close(alone[name][0], together[name][i], rtol=0, atol=1e-5)


def test_train_mode_batchnorm_depends_on_the_batch() -> None:
    torch.manual_seed(2)
    model = LeNet().train()
    batch = torch.rand(8, 1, 28, 28)
    first = model.intermediates(batch)["bn1"][0]
    other = model.intermediates(torch.cat([batch[:1], torch.rand(7, 1, 28, 28) * 0.2]))["bn1"][0]
    assert not torch.allclose(first, other)


def test_without_batchnorm_there_is_no_batchnorm_layer() -> None:
    model = LeNet(ModelConfig(batchnorm=False))
    assert "batchnorm" not in {s.kind for s in model.layers}
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.module.modules())
    assert list(model.intermediates(torch.rand(1, 1, 28, 28))) == [n for n in EXPECTED if not n.startswith("bn")]


def test_checkpoint_round_trip_with_weights_only(tmp_path) -> None:
    torch.manual_seed(3)
    cfg = ModelConfig(mean=0.2, std=0.3)
    module = lenet(cfg)
    path = tmp_path / "m.pt"
    save_checkpoint(module, "lenet", cfg, path)
    payload = torch.load(path, weights_only=True)
    assert set(payload) == {"arch", "config", "state_dict"} and payload["arch"] == "lenet"
    loaded, arch, loaded_cfg = load_module(path)
    assert (arch, loaded_cfg) == ("lenet", cfg) and not loaded.training
    x = torch.rand(2, 1, 28, 28)
    torch.testing.assert_close(loaded(x), module.eval()(x), rtol=0, atol=0)


def test_unknown_config_architecture_and_layer_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown model config"):
        ModelConfig.from_dict({"batchnorm": True, "colour": "red"})
    with pytest.raises(KeyError, match="unknown architecture 'resnet'"):
        architectures.config("resnet", {})
    with pytest.raises(KeyError, match="unknown layer 'conv9'"):
        LeNet().layer("conv9")
