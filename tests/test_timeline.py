"""The training timeline: the checkpoint schedule, what each checkpoint keeps, and the API over the committed
timelines checked against direct computations (load_state_dict + forward at the same step)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from app.config import Settings
from app.nets.lenet import ModelConfig, lenet
from app.nets.network import Network
from app.serving.encoding import decode
from app.serving.inference import ServedModel
from app.training import timeline
from tests.helpers import lenet_network

TIMELINE_MODELS = ("lenet_bn", "lenet")
MAX_TIMELINE_BYTES = 12 * 1024 * 1024


def test_the_schedule_starts_at_the_initialisation_and_is_log_uniform_over_the_first_epoch() -> None:
    plan = timeline.schedule(469, 10)
    steps = list(plan)
    assert steps[0] == 0
    first = [s for s in steps if 0 < s < 469]
    assert 8 <= len(first) <= 10
    ratios = np.diff(np.log(first))  # log-uniform: about equal steps in log space
    assert ratios.max() < 3 * np.median(ratios)
    assert [s for s in steps if s >= 469] == [469 * e for e in range(1, 11)]
    assert sorted(s for s, full in plan.items() if full) == [0, min(first, key=lambda s: abs(s - 46.9)), 469, 4690]


def test_a_tiny_epoch_still_gets_distinct_steps() -> None:
    plan = timeline.schedule(4, 2)
    assert list(plan) == [0, 1, 2, 3, 4, 8]
    assert [s for s, full in plan.items() if full] == [0, 1, 4, 8]


def test_a_snapshot_keeps_conv_and_batchnorm_or_everything() -> None:
    model = lenet(ModelConfig())
    small, full = timeline.snapshot(model, full=False), timeline.snapshot(model, full=True)
    # every conv layer and every BatchNorm layer, bn3 (a BatchNorm1d) too, as GET /api/layers/{name}/weights
    # says when a step keeps only those
    kept = ("conv1", "bn1", "conv2", "bn2", "bn3")
    assert set(small) == {k for k in model.state_dict() if k.split(".")[0] in kept}
    assert set(full) == set(model.state_dict())
    assert full["fc1.weight"].dtype == torch.float16  # 1.2 M numbers: kept in half precision
    assert full["conv2.weight"].dtype == torch.float32
    assert torch.equal(full["conv1.weight"], model.conv1.weight)


def test_drift_is_per_channel_statistics_in_training_mode_and_leaves_the_model_alone() -> None:
    torch.manual_seed(1)
    model = lenet_network()
    before = copy.deepcopy(model.module.state_dict())
    images = torch.rand(8, 1, 28, 28)
    stats = timeline.drift(model, images)
    assert set(stats) == {"conv1", "conv2", "fc1"}
    conv1 = model.submodule("conv1")(model.normalize(images))  # (8, 20, 28, 28)
    torch.testing.assert_close(stats["conv1"]["output"][0], conv1.mean(dim=(0, 2, 3)))
    torch.testing.assert_close(stats["conv1"]["output"][1], conv1.std(dim=(0, 2, 3), correction=0))
    bn1 = model.submodule("bn1")
    after = torch.nn.functional.batch_norm(conv1, None, None, bn1.weight, bn1.bias, training=True)
    torch.testing.assert_close(stats["conv1"]["after"][0], after.mean(dim=(0, 2, 3)))
    assert all(torch.equal(v, before[k]) for k, v in model.module.state_dict().items())
    assert not model.training
    plain = timeline.drift(lenet_network(ModelConfig(batchnorm=False)), images)
    assert all("after" not in s for s in plain.values())


def test_a_full_checkpoints_drift_is_that_of_the_network_it_serves() -> None:
    """fc1's weight is kept in float16: the drift recorded at a full checkpoint is measured on the network as
    stored, so it is exactly what that checkpoint's network gives (not the float32 one's)."""
    torch.manual_seed(4)
    model = lenet_network()
    images = torch.rand(16, 1, 28, 28)
    recorder = timeline.Recorder({0: True, 1: False}, images)
    recorder.record(model, 0, 0.0, 0, None, 0.1)
    recorder.record(model, 1, 1.0, 16, 2.3, 0.1)  # the last: the served network itself
    history = timeline.Timeline({"checkpoints": recorder.checkpoints}, model)
    stored, exact = timeline.drift(history.network(0), images), timeline.drift(model, images)
    recorded = recorder.checkpoints[0]["drift"]
    for layer in ("conv1", "conv2", "fc1"):
        torch.testing.assert_close(recorded[layer]["output"], stored[layer]["output"], rtol=0, atol=0)
        torch.testing.assert_close(recorded[layer]["after"], stored[layer]["after"], rtol=0, atol=0)
    assert not torch.equal(recorded["fc1"]["output"], exact["fc1"]["output"])  # the float16 weight shows
    assert history.network(1) is model


# --- the committed timelines ------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=TIMELINE_MODELS)
def timed(request: pytest.FixtureRequest, client: TestClient) -> ServedModel:
    return client.app.state.convlens.registry.get(request.param)


def network_at(timed: ServedModel, state: dict[str, torch.Tensor]) -> Network:
    """The timed model's LeNet (from its card's config) with ``state`` loaded."""
    module = lenet(ModelConfig.from_dict(timed.card["config"]))
    module.load_state_dict(state)
    return Network(module, timed.model.input, timed.model.classes)


def has_batchnorm(timed: ServedModel) -> bool:
    return bool(timed.model.of_kind("batchnorm"))


@pytest.fixture(scope="module")
def raw(timed: ServedModel, settings: Settings) -> dict:
    """The timeline file as written by training, read without the app's loader."""
    return torch.load(settings.model_dir / f"{timed.name}{timeline.SUFFIX}", weights_only=True)


def test_committed_timelines_are_small(settings: Settings) -> None:
    for name in TIMELINE_MODELS:
        assert (settings.model_dir / f"{name}{timeline.SUFFIX}").stat().st_size <= MAX_TIMELINE_BYTES


def test_the_api_lists_the_checkpoints_in_training_order(client: TestClient, timed: ServedModel, raw: dict) -> None:
    got = client.get(f"/api/training?model={timed.name}").json()
    steps = [c["step"] for c in got["checkpoints"]]
    assert steps == [c["step"] for c in raw["checkpoints"]] == sorted(steps)
    card = timed.card
    per_epoch = math.ceil(card["training_images"] / card["batch_size"])
    assert steps == list(timeline.schedule(per_epoch, card["epochs"]))
    first, last = got["checkpoints"][0], got["checkpoints"][-1]
    assert first["step"] == 0 and first["images_seen"] == 0 and first["train_loss"] is None
    assert 0.02 <= first["test_accuracy"] <= 0.2  # an untrained network guesses: about one digit in ten
    assert last["test_accuracy"] == card["test_accuracy"]
    assert last["images_seen"] == card["training_images"] * card["epochs"]


def test_step_zero_is_the_seeded_initialisation(timed: ServedModel, raw: dict) -> None:
    torch.manual_seed(timed.card["seed"])
    fresh = lenet(ModelConfig.from_dict(timed.card["config"])).state_dict()
    kept = raw["checkpoints"][0]["state"]
    assert set(kept) == set(fresh)
    for key, value in kept.items():
        assert torch.equal(value, fresh[key].to(value.dtype)), key


def test_the_last_checkpoint_is_the_served_network(timed: ServedModel) -> None:
    history = timed.history()
    assert history.network(history.steps[-1]) is timed.model


@pytest.mark.parametrize("layer", ["conv1", "bn2", "fc1"])
def test_weights_at_a_checkpoint_are_the_stored_ones(
    client: TestClient, timed: ServedModel, raw: dict, layer: str
) -> None:
    if layer == "bn2" and not has_batchnorm(timed):
        layer = "conv2"
    for c in raw["checkpoints"][:-1]:
        r = client.get(f"/api/layers/{layer}/weights?model={timed.name}&checkpoint={c['step']}")
        if f"{layer}.weight" not in c["state"]:
            assert r.status_code == 404 and "kept at steps" in r.json()["detail"]
            continue
        assert r.status_code == 200
        for t in r.json()["tensors"]:
            stored = c["state"][f"{layer}.{t['name']}"].float().numpy()
            np.testing.assert_array_equal(decode(t["data"], t["shape"]), stored)


def test_activations_at_a_full_checkpoint_match_a_direct_forward(
    client: TestClient, timed: ServedModel, raw: dict, test_set: object
) -> None:
    pixels = test_set.images[7].astype(np.float32) / 255.0  # type: ignore[attr-defined]
    for c in raw["checkpoints"][:-1]:
        r = client.post(f"/api/activations?model={timed.name}&checkpoint={c['step']}", data={"sample": "7"})
        if not c["full"]:
            assert r.status_code == 404 and "whole network is kept at steps" in r.json()["detail"]
            continue
        net = network_at(timed, {k: v.float() for k, v in c["state"].items()})
        with torch.inference_mode():
            direct = net.intermediates(torch.from_numpy(pixels).reshape(1, 1, 28, 28))
        got = {layer["name"]: decode(layer["data"], layer["shape"]) for layer in r.json()["layers"]}
        for name, value in direct.items():
            np.testing.assert_allclose(got[name], value[0].numpy(), rtol=1e-5, atol=1e-5, err_msg=name)


def test_unknown_steps_are_refused_with_the_steps_there_are(client: TestClient, timed: ServedModel) -> None:
    steps = timed.history().steps
    missing = steps[-1] + 1
    for url in (
        f"/api/layers/conv1/weights?model={timed.name}&checkpoint={missing}",
        f"/api/activations?model={timed.name}&checkpoint={missing}",
    ):
        r = client.post(url, data={"sample": "0"}) if "activations" in url else client.get(url)
        assert r.status_code == 404
        assert f"the checkpoints are steps {', '.join(map(str, steps))}" in r.json()["detail"]


def test_drift_matches_a_direct_computation(
    client: TestClient, timed: ServedModel, raw: dict, test_set: object
) -> None:
    images = torch.from_numpy(test_set.images[: timeline.DRIFT_IMAGES].astype(np.float32) / 255.0)  # type: ignore[attr-defined]
    images = images.unsqueeze(1)  # (512, 1, 28, 28)
    for layer in ("conv1", "fc1"):
        got = client.get(f"/api/training/drift?model={timed.name}&layer={layer}").json()
        assert got["batchnorm"] == ({"conv1": "bn1", "fc1": "bn3"}[layer] if has_batchnorm(timed) else None)
        assert [p["step"] for p in got["checkpoints"]] == [c["step"] for c in raw["checkpoints"]]
        for point, c in zip(got["checkpoints"], raw["checkpoints"], strict=True):
            if c["served"]:
                state = timed.model.module.state_dict()
            elif c["full"]:
                state = {k: v.float() for k, v in c["state"].items()}
            else:
                continue  # only the conv and BatchNorm layers are kept: fc1's input cannot be recomputed
            net = network_at(timed, state)
            with torch.no_grad():
                out = net.train().intermediates(images)
            maps = out[layer].transpose(0, 1).reshape(out[layer].shape[1], -1)  # (C, ...)
            np.testing.assert_allclose(point["output"]["mean"], maps.mean(1).numpy(), rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(point["output"]["std"], maps.std(1, correction=0).numpy(), rtol=1e-4, atol=1e-5)


def test_drift_of_a_layer_without_statistics_is_refused(client: TestClient) -> None:
    r = client.get("/api/training/drift?layer=fc2")
    assert r.status_code == 404 and "conv1, conv2, fc1" in r.json()["detail"]


def test_a_model_without_a_timeline_says_so(client: TestClient) -> None:
    r = client.get("/api/training?model=lenet_bn_norelu")
    assert r.status_code == 404 and "no training timeline" in r.json()["detail"]
