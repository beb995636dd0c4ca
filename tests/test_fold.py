"""Folding BatchNorm into conv1, conv2 and fc1 (app/nets/fold.py, GET /api/batchnorm/fold): the folded weights
equal PyTorch's own fusion, the folded network gives the same logits on all 10,000 test images, and the
expensive comparison runs once per model (counted, not timed)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

from app.nets import fold
from app.nets.lenet import ModelConfig
from app.nets.network import Network
from app.schemas.batchnorm import FoldResponse
from app.serving.encoding import decode
from app.serving.inference import ServedModel
from tests.helpers import Arrivals, lenet_network, state_checksum, wait

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


def test_the_comparison_is_cached(client: TestClient, fold_response: dict, monkeypatch) -> None:
    """A second request is answered from the cache: the measurement does not run again."""
    calls = []
    monkeypatch.setattr(fold, "measure", lambda *args, **kwargs: calls.append(args))
    again = client.get("/api/batchnorm/fold?weights=false")
    assert again.status_code == 200 and calls == []
    body = again.json()
    assert all(pair["folded"] is None for pair in body["pairs"])
    for key in ("max_abs_logit_diff", "unfolded_ms", "folded_ms", "time_ratio"):
        assert body[key] == fold_response[key]


class ArrivingLock:
    """A lock that counts the threads about to wait for it."""

    def __init__(self, lock, arrivals: Arrivals) -> None:
        self.lock, self.arrivals = lock, arrivals

    def __enter__(self):
        self.arrivals.arrive()
        return self.lock.__enter__()

    def __exit__(self, *exc):
        return self.lock.__exit__(*exc)


def test_concurrent_first_requests_measure_once(monkeypatch) -> None:
    """The first caller is held inside the measurement until three more have reached the cache's lock
    for that model; they get the first caller's result and never ask for the images."""
    calls, measuring, release = [], threading.Event(), threading.Event()

    def held_measure(model, images, chunk=fold.CHUNK):
        calls.append(1)
        measuring.set()
        wait(release, "the release of the measurement")
        return fold.Equivalence(len(images), 0.0, 0, 2.0, 1.0, chunk, 1)

    def never() -> torch.Tensor:
        raise AssertionError("only the first caller loads the images")

    monkeypatch.setattr(fold, "measure", held_measure)
    cache, model, arrivals = fold.EquivalenceCache(), lenet_network(), Arrivals()
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(cache.get, model, lambda: torch.zeros(3, 1, 28, 28))]
        wait(measuring, "the first measurement")
        cache._locks[model] = ArrivingLock(cache._locks[model], arrivals)  # the same lock, counted
        futures += [pool.submit(cache.get, model, never) for _ in range(3)]
        arrivals.wait_for(3)
        release.set()
        results = [f.result() for f in futures]
    assert len(calls) == 1 and all(r is results[0] for r in results) and results[0].time_ratio == 0.5


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
