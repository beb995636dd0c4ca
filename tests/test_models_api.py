"""Several served models: GET /api/models, `?model=` on every model API (404 for an unknown name), the
no-BatchNorm model (`lenet`) end to end, and the high-learning-rate experiment's record."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from app.config import Settings
from app.schemas.batchnorm import HighLrExperiment
from app.schemas.network import ModelInfo, ModelSummary, Sample, WeightsResponse
from app.serving.encoding import decode
from app.serving.inference import ServedModel

BN_LAYERS = [
    *("input", "conv1", "bn1", "relu1", "pool1", "conv2", "bn2", "relu2", "pool2"),
    *("flatten", "fc1", "bn3", "relu3", "fc2"),
]
PLAIN_LAYERS = [name for name in BN_LAYERS if not name.startswith("bn")]


@pytest.fixture(scope="module")
def plain(client: TestClient) -> ServedModel:
    """The committed model without BatchNorm."""
    models = client.app.state.convlens.registry.models
    assert "lenet" in models, "models/lenet.pt (convlens train --no-bn) is committed next to lenet_bn.pt"
    return models["lenet"]


def test_models_lists_both_with_their_cards(client: TestClient, served: ServedModel, plain: ServedModel) -> None:
    response = client.get("/api/models")
    assert response.status_code == 200
    models = {m.name: m for m in (ModelSummary.model_validate(item) for item in response.json())}
    assert set(models) >= {"lenet_bn", "lenet"}
    assert models["lenet_bn"].default and not models["lenet"].default
    for name, served_model, batchnorm in (("lenet_bn", served, True), ("lenet", plain, False)):
        summary = models[name]
        assert summary.batchnorm is batchnorm and summary.dataset == "mnist"
        assert summary.test_accuracy == served_model.card["test_accuracy"]
        assert summary.params == sum(p.numel() for p in served_model.model.module.parameters())
        assert [p.model_dump() for p in summary.curve] == served_model.card["curve"]
        assert len(summary.curve) > 10 and summary.diverged_at_step is None
    # the same training recipe, so the curves compare like with like
    bn_card, plain_card = served.card, plain.card
    for key in ("epochs", "batch_size", "optimizer", "seed", "augmentation", "label_smoothing", "steps"):
        assert bn_card[key] == plain_card[key], key
    assert models["lenet"].params == models["lenet_bn"].params - 2 * (20 + 50 + 500)


def test_the_plain_model_has_no_batchnorm_anywhere(client: TestClient, plain: ServedModel) -> None:
    info = ModelInfo.model_validate(client.get("/api/model?model=lenet").json())
    assert info.name == "lenet" and [layer.name for layer in info.layers] == [*PLAIN_LAYERS, "probs"]
    assert "batchnorm" not in {layer.kind for layer in info.layers}
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in plain.model.module.modules())
    response = client.post("/api/activations?model=lenet", data={"sample": "4"})
    assert response.status_code == 200
    layers = response.json()["layers"]
    assert "batchnorm" not in {layer["kind"] for layer in layers}
    with torch.inference_mode():
        pixels = plain.dataset().batch([4])
        expected = plain.model.intermediates(pixels)
    for layer in layers:
        np.testing.assert_array_equal(decode(layer["data"], layer["shape"]), expected[layer["name"]][0].numpy())
    missing = client.get("/api/layers/bn1/weights?model=lenet")
    assert missing.status_code == 404 and "bn1" in missing.json()["detail"]


def test_weights_samples_and_overrides_follow_the_model(client: TestClient, served, plain) -> None:
    for model, served_model in (("lenet", plain), ("lenet_bn", served)):
        net = served_model.model
        body = WeightsResponse.model_validate(client.get(f"/api/layers/conv1/weights?model={model}").json())
        weight = next(t for t in body.tensors if t.name == "weight")
        np.testing.assert_array_equal(decode(weight.data, weight.shape), net.submodule("conv1").weight.numpy())
        samples = [Sample.model_validate(s) for s in client.get(f"/api/samples?model={model}").json()]
        ids = [s.id for s in samples]
        with torch.inference_mode():
            predicted = net(served_model.dataset().batch(ids)).argmax(1).tolist()
        assert [s.predicted for s in samples] == predicted
    conv1s = (plain.model.submodule("conv1"), served.model.submodule("conv1"))
    assert conv1s[0].weight.data_ptr() != conv1s[1].weight.data_ptr()
    # the kernel lab's conv1 override works on whichever model is named
    override = json.dumps({"channel": 0, "kernel": [[0.0] * 5] * 5, "bias": 0.0})
    response = client.post(
        "/api/activations?model=lenet&layers=conv1", data={"sample": "1", "conv1_override": override}
    )
    assert response.status_code == 200
    conv1 = response.json()["layers"][0]
    assert np.all(decode(conv1["data"], conv1["shape"])[0] == 0)


@pytest.mark.parametrize(
    ("method", "url", "kwargs"),
    [
        ("get", "/api/model", {}),
        ("post", "/api/activations", {"data": {"sample": "1"}}),
        ("post", "/api/activations", {"data": {"sample": "1", "conv1_override": '{"channel": 0, "kernel": [[1]]}'}}),
        ("post", "/api/activations", {"json": {"pixels": [[0.0] * 28] * 28}}),
        ("get", "/api/layers/conv1/weights", {}),
        ("get", "/api/samples", {}),
        ("post", "/api/batchnorm", {"data": {"samples": "2"}}),
        ("get", "/api/batchnorm/fold", {}),
    ],
)
def test_every_model_api_takes_model_and_404s_an_unknown_one(client: TestClient, method, url, kwargs) -> None:
    response = getattr(client, method)(url, params={"model": "lenet_xl"}, **kwargs)
    assert response.status_code == 404, response.text
    assert "Unknown model 'lenet_xl'" in response.json()["detail"] and "lenet_bn" in response.json()["detail"]


def test_high_lr_experiment_is_recorded(client: TestClient) -> None:
    path = Settings().model_dir / "high_lr.json"
    assert path.is_file(), "models/high_lr.json records the high-learning-rate runs"
    response = client.get("/api/batchnorm/high-lr")
    assert response.status_code == 200
    experiment = HighLrExperiment.model_validate(response.json())
    assert experiment == HighLrExperiment.model_validate(json.loads(path.read_text()))
    assert sorted(run.batchnorm for run in experiment.runs) == [False, True]
    assert all(run.curve for run in experiment.runs) and len(experiment.commands) >= 2
    assert all(f"--lr {experiment.max_lr:g}" in command for command in experiment.commands if "train" in command)
    # the claim the page and README make from it: at this rate the plain net diverges, the BN net trains
    runs = {run.batchnorm: run for run in experiment.runs}
    assert runs[False].diverged_at_step is not None
    assert runs[True].diverged_at_step is None and runs[True].test_accuracy >= 0.99
