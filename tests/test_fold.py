"""Folding BatchNorm into conv1, conv2 and fc1 (app/nets/fold.py, GET /api/batchnorm/fold): the folded weights
equal PyTorch's own fusion, the folded network gives the same logits on all 10,000 test images, and the
expensive comparison is stored beside the weights (models/<name>.fold.json), made at loading when that file is
missing or stale (once per process), and never on a request (counted, not timed)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

from app.nets import fold, fold_file
from app.nets.checkpoint import weights_digest
from app.nets.lenet import ModelConfig
from app.nets.network import Network
from app.schemas.batchnorm import FoldResponse
from app.serving.encoding import decode
from app.serving.inference import ServedModel
from tests.helpers import lenet_network, state_checksum

PAIRS = fold.fold_pairs(lenet_network())


def torch_fused(model: Network, layer: str, bn: str) -> nn.Module:
    fuse = fuse_conv_bn_eval if isinstance(model.submodule(layer), nn.Conv2d) else fuse_linear_bn_eval
    return fuse(model.submodule(layer), model.submodule(bn))


@pytest.mark.parametrize(("layer", "bn"), PAIRS)
def test_folded_weights_equal_torchs_fusion(served: ServedModel, layer: str, bn: str) -> None:
    weight, bias = fold.fold(served.model.submodule(layer), served.model.submodule(bn))
    fused = torch_fused(served.model, layer, bn)
    torch.testing.assert_close(weight, fused.weight.detach(), rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(bias, fused.bias.detach(), rtol=1e-6, atol=1e-7)
    assert weight.shape == served.model.submodule(layer).weight.shape


def test_folding_reads_a_model_with_unusual_statistics_correctly() -> None:
    """Random gamma, beta and running statistics far from 1 and 0, so every term of the formula matters."""
    torch.manual_seed(1)
    model = lenet_network()
    for name in ("bn1", "bn2", "bn3"):
        bn = model.submodule(name)
        c = bn.num_features
        bn.weight.data, bn.bias.data = torch.randn(c) * 2, torch.randn(c)
        bn.running_mean.copy_(torch.randn(c) * 3)
        bn.running_var.copy_(torch.rand(c) * 5 + 0.01)
    folded = fold.folded_network(model)
    assert "batchnorm" not in {layer.kind for layer in folded.layers}
    for layer, bn in PAIRS:
        fused = torch_fused(model, layer, bn)
        torch.testing.assert_close(folded.submodule(layer).weight, fused.weight.detach(), rtol=1e-6, atol=1e-6)
    x = torch.rand(32, 1, 28, 28)
    with torch.inference_mode():
        torch.testing.assert_close(folded(x), model(x), rtol=1e-4, atol=1e-4)
    assert fold.measure(model, x, chunk=8).max_abs_logit_diff <= 1e-4


def test_a_network_without_batchnorm_cannot_be_folded() -> None:
    with pytest.raises(ValueError, match="no BatchNorm"):
        fold.folded_network(lenet_network(ModelConfig(batchnorm=False)))


def test_folding_leaves_the_model_alone(served: ServedModel) -> None:
    before = state_checksum(served.model)
    fold.folded_network(served.model)
    assert state_checksum(served.model) == before


@pytest.fixture(scope="module")
def fold_response(client: TestClient) -> dict:
    response = client.get("/api/batchnorm/fold")
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.slow
def test_the_api_compares_all_10000_test_images(
    fold_response: dict, served: ServedModel, test_set, test_set_outputs
) -> None:
    body = FoldResponse.model_validate(fold_response)
    assert body.model == "lenet_bn" and body.images == 10_000
    assert body.max_abs_logit_diff <= 1e-4 and body.predictions_changed == 0
    assert body.unfolded_ms > 0 and body.folded_ms > 0
    assert body.time_ratio == pytest.approx(body.folded_ms / body.unfolded_ms)
    # independently: torch's fused modules in place of each pair, over every test image
    overrides = {}
    for layer, bn in PAIRS:
        overrides[layer], overrides[bn] = torch_fused(served.model, layer, bn), nn.Identity()
    x = torch.from_numpy(test_set.images.astype(np.float32) / 255).unsqueeze(1)  # (10000, 1, 28, 28)
    unfolded = torch.from_numpy(test_set_outputs["fc2"])  # (10000, 10), the session's run of the model
    with torch.inference_mode():
        diff = max(
            float((unfolded[i : i + 2000] - served.model.intermediates(x[i : i + 2000], overrides)["fc2"]).abs().max())
            for i in range(0, 10_000, 2000)
        )
    assert diff <= 1e-4
    assert body.max_abs_logit_diff == pytest.approx(diff, abs=2e-5)


def test_the_api_returns_the_folded_weights_and_one_channels_numbers(fold_response: dict, served) -> None:
    body = FoldResponse.model_validate(fold_response)
    assert [(p.layer, p.batchnorm, p.kind) for p in body.pairs] == [
        ("conv1", "bn1", "conv"),
        ("conv2", "bn2", "conv"),
        ("fc1", "bn3", "linear"),
    ]
    for pair in body.pairs:
        weight, bias = fold.fold(served.model.submodule(pair.layer), served.model.submodule(pair.batchnorm))
        tensors = {t.name: decode(t.data, t.shape, t.dtype) for t in pair.folded or []}
        assert np.array_equal(tensors["weight"], weight.numpy()) and np.array_equal(tensors["bias"], bias.numpy())
        ch = pair.channels
        g, b, m, v = (np.asarray(x, np.float64) for x in (ch.gamma, ch.beta, ch.running_mean, ch.running_var))
        np.testing.assert_allclose(ch.scale, g / np.sqrt(v + pair.eps), rtol=1e-6)
        np.testing.assert_allclose(ch.folded_bias, g * (np.asarray(ch.bias) - m) / np.sqrt(v + pair.eps) + b, atol=1e-5)
        np.testing.assert_allclose(ch.folded_weight, np.asarray(ch.scale) * np.asarray(ch.weight), rtol=1e-6)
    assert body.pairs[0].weight_index == "W[c, 0, 2, 2]" and body.pairs[2].weight_index == "W[c, 0]"
    assert body.pairs[0].channels.weight == served.model.submodule("conv1").weight[:, 0, 2, 2].tolist()


def test_the_route_never_measures(client: TestClient, monkeypatch) -> None:
    """Every model with BatchNorm and a test set was checked when it was loaded: the route only reads that."""
    monkeypatch.setattr(fold, "measure", lambda *args, **kwargs: pytest.fail("measured on a request"))
    registry = client.app.state.convlens.registry
    checked = [s for s in registry.models.values() if s.model.of_kind("batchnorm") and s.samples is not None]
    assert {s.name for s in checked} >= {"lenet_bn", "lenet_bn_norelu"}
    for served in checked:
        eq = served.prepared.fold
        assert isinstance(eq, fold.Equivalence) and eq.images == len(served.samples)
        response = client.get(f"/api/batchnorm/fold?model={served.name}&weights=false")
        assert response.status_code == 200, response.text
        body = response.json()
        assert all(pair["folded"] is None for pair in body["pairs"])
        got = (body["max_abs_logit_diff"], body["unfolded_ms"], body["threads"])
        assert got == (eq.max_abs_logit_diff, eq.unfolded_ms, eq.threads)


def test_the_committed_fold_files_match_the_committed_weights_and_test_sets(client: TestClient) -> None:
    """So a server started from the repository measures nothing: it reads each model's file."""
    for served in client.app.state.convlens.registry.models.values():
        if not served.model.of_kind("batchnorm") or served.samples is None:
            continue
        digests = weights_digest(served.model), fold_file.test_set_digest(served.samples.images, served.samples.labels)
        assert served.folder is not None
        assert fold_file.read(fold_file.path_for(served.folder, served.name), *digests) == served.prepared.fold


class TinySet:
    """A test set of a few random digits, like SampleStore."""

    def __init__(self, n: int = 6, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        self.labels = rng.integers(0, 10, n, dtype=np.uint8)

    def __len__(self) -> int:
        return len(self.labels)

    def batch(self, ids: list[int]) -> torch.Tensor:
        return torch.from_numpy(self.images[ids].astype(np.float32) / 255).unsqueeze(1)  # (N, 1, 28, 28)


def test_a_missing_or_stale_file_is_measured_at_loading_once_per_process(tmp_path, monkeypatch) -> None:
    calls = []
    real = fold.measure

    def counted(model: Network, images: torch.Tensor, chunk: int = fold.CHUNK) -> fold.Equivalence:
        calls.append(1)
        return real(model, images, 4)

    monkeypatch.setattr(fold, "measure", counted)
    torch.manual_seed(3)
    model, samples, path = lenet_network(), TinySet(), tmp_path / "net.fold.json"
    fold_file.write(fold_file.content(lenet_network(), samples), path)  # another network's weights: stale
    calls.clear()
    first = fold_file.equivalence(model, samples, path)
    assert calls == [1] and first.images == len(samples) and first.max_abs_logit_diff <= 1e-4
    assert fold_file.equivalence(model, samples, None) is first and calls == [1]  # the same weights: kept
    assert fold_file.equivalence(model, TinySet(seed=1), path) is not first and calls == [1, 1]  # another set


def test_a_current_file_is_read_not_measured(tmp_path, monkeypatch) -> None:
    torch.manual_seed(4)
    model, samples, path = lenet_network(), TinySet(seed=2), tmp_path / "net.fold.json"
    fold_file.write(fold_file.content(model, samples), path)
    monkeypatch.setattr(fold, "measure", lambda *args, **kwargs: pytest.fail("measured although the file is current"))
    eq = fold_file.equivalence(model, samples, path)
    assert eq.images == len(samples) and eq.predictions_changed == 0


def test_fold_errors(client: TestClient) -> None:
    assert client.get("/api/batchnorm/fold?model=nope").status_code == 404
    assert client.get("/api/batchnorm/fold?dtype=int8").status_code == 422
    if "lenet" in client.app.state.convlens.registry.models:
        response = client.get("/api/batchnorm/fold?model=lenet")
        assert response.status_code == 422 and "no BatchNorm" in response.json()["detail"]


def test_a_layer_without_bias_folds_like_torchs_fusion() -> None:
    torch.manual_seed(0)
    conv, bn = nn.Conv2d(1, 3, 3, bias=False), nn.BatchNorm2d(3)
    with torch.no_grad():
        bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.5, 2), bn.weight.uniform_(0.5, 2)
    conv.eval(), bn.eval()
    weight, bias = fold.fold(conv, bn)
    fused = fuse_conv_bn_eval(conv, bn)
    torch.testing.assert_close(weight, fused.weight.detach())
    torch.testing.assert_close(bias, fused.bias.detach())


def test_a_batchnorm_without_running_statistics_is_refused() -> None:
    with pytest.raises(ValueError, match="no running statistics"):
        fold.fold(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3, track_running_stats=False))
