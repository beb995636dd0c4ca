"""The BatchNorm lab (app/labs/batchnorm.py, POST /api/batchnorm): batch statistics against a float64 re-computation
of train mode, the batch of one, the request's forms and limits, and no trace left on the served model."""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from fastapi.testclient import TestClient

from app import preprocess
from app.labs import batchnorm as bn_lab
from app.nets.lenet import ModelConfig, lenet
from app.nets.network import Network
from app.schemas.batchnorm import BatchNormLabResponse
from app.serving.inference import ServedModel
from tests.helpers import png_bytes, state_checksum

BN_INPUTS = {"bn1": "conv1", "bn2": "conv2", "bn3": "fc1"}


def same_numbers(answer: list, direct: np.ndarray) -> None:
    """The API's numbers are the lab's own, computed again here: equal up to float32 rounding. Train-mode
    batch statistics are sums over the batch, and their last bits depend on the memory layout torch's
    kernels happen to get (seen to differ by a few units in the last place between two runs)."""
    np.testing.assert_allclose(np.asarray(answer, np.float64), np.asarray(direct, np.float64), rtol=1e-5, atol=1e-7)


def manual_train_mode(served: ServedModel, x: torch.Tensor, unbiased: bool = False) -> dict[str, np.ndarray]:
    """Train mode by hand in float64: each BatchNorm normalises with its batch's per-channel mean and
    variance (biased: divided by n, unless ``unbiased``). Returns the BN inputs' statistics and the
    probabilities."""
    m = {k: v.double() for k, v in served.model.module.state_dict().items()}
    ((pixel_mean,), (pixel_std,)) = served.model.input.mean, served.model.input.std
    out: dict[str, np.ndarray] = {}

    def bn(name: str, h: torch.Tensor) -> torch.Tensor:
        dims = (0, 2, 3) if h.dim() == 4 else (0,)
        mean, var = h.mean(dims), h.var(dims, correction=1 if unbiased else 0)  # (C,)
        out[f"{name}.mean"], out[f"{name}.var"] = mean.numpy(), var.numpy()
        out[f"{name}.var_unbiased"] = h.var(dims, correction=1).numpy()
        shape = (1, -1, 1, 1) if h.dim() == 4 else (1, -1)
        normed = (h - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + 1e-5)
        return normed * m[f"{name}.weight"].reshape(shape) + m[f"{name}.bias"].reshape(shape)

    h = (x.double() - pixel_mean) / pixel_std  # (N, 1, 28, 28)
    h = F.max_pool2d(F.relu(bn("bn1", F.conv2d(h, m["conv1.weight"], m["conv1.bias"], padding=2))), 2)
    h = F.max_pool2d(F.relu(bn("bn2", F.conv2d(h, m["conv2.weight"], m["conv2.bias"], padding=2))), 2).flatten(1)
    h = F.relu(bn("bn3", F.linear(h, m["fc1.weight"], m["fc1.bias"])))
    out["probs"] = torch.softmax(F.linear(h, m["fc2.weight"], m["fc2.bias"]), 1).numpy()  # (N, 10)
    return out


@pytest.fixture(scope="module")
def batch(served: ServedModel) -> torch.Tensor:
    samples = served.dataset()
    return samples.batch(bn_lab.sample_ids(16, len(samples)))  # (16, 1, 28, 28)


def test_batch_statistics_are_the_biased_mean_and_variance_of_train_mode(served, batch) -> None:
    result = bn_lab.run_lab(served.model, batch, inspected=3)
    manual = manual_train_mode(served, batch)
    unbiased = manual_train_mode(served, batch, unbiased=True)
    assert [layer.name for layer in result.layers] == ["bn1", "bn2", "bn3"]
    for layer in result.layers:
        np.testing.assert_allclose(layer.batch_mean, manual[f"{layer.name}.mean"], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(layer.batch_var, manual[f"{layer.name}.var"], rtol=1e-4, atol=1e-6)
        bn = served.model.submodule(layer.name)
        assert np.array_equal(layer.running_mean, bn.running_mean.numpy())
        assert np.array_equal(layer.running_var, bn.running_var.numpy())
    assert [layer.values_per_channel for layer in result.layers] == [16 * 28 * 28, 16 * 14 * 14, 16]
    # bn3 over 16 values: the unbiased variance (divided by n - 1) is 16/15 of it, far outside the tolerance
    bn3 = result.layers[2].batch_var
    np.testing.assert_allclose(manual["bn3.var_unbiased"], manual["bn3.var"] * 16 / 15, rtol=1e-9)
    assert not np.allclose(bn3, manual["bn3.var_unbiased"], rtol=1e-2)
    # the inspected image, normalised with the batch's (biased) statistics; the unbiased ones give other numbers
    np.testing.assert_allclose(result.train_probs, manual["probs"][3], atol=1e-5)
    assert not np.allclose(result.train_probs, unbiased["probs"][3], atol=1e-5)


def test_train_mode_is_pytorchs_own_and_eval_is_the_served_prediction(served, batch) -> None:
    result = bn_lab.run_lab(served.model, batch, inspected=5)
    reference = copy.deepcopy(served.model).train()
    with torch.no_grad():
        torch_probs = torch.softmax(reference(batch), 1)[5].numpy()
    np.testing.assert_array_equal(result.train_probs, torch_probs)
    alone = served.forward(batch[5:6])["probs"][0].numpy()
    np.testing.assert_array_equal(result.eval_probs, alone)
    assert result.notes == [] and result.one_value_layers == []


def test_a_batch_of_one_is_explained_not_refused(served, batch) -> None:
    # what torch does on its own: it refuses bn3 with one value per channel
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        copy.deepcopy(served.model).train()(batch[:1])
    first, second = bn_lab.run_lab(served.model, batch[:1]), bn_lab.run_lab(served.model, batch[1:2])
    assert first.one_value_layers == ["bn3"] and first.batch_size == 1
    bn3 = first.layers[2]
    assert bn3.values_per_channel == 1 and bn3.zero_variance_channels == 500
    assert np.array_equal(bn3.batch_var, np.zeros(500, np.float32))
    # bn3 outputs beta whatever the image, so every image gets the same train-mode answer...
    np.testing.assert_array_equal(first.train_probs, second.train_probs)
    fc2, bn3 = served.model.submodule("fc2"), served.model.submodule("bn3")
    with torch.no_grad():
        expected = torch.softmax(fc2(torch.relu(bn3.bias))[None], 1)[0].numpy()
    np.testing.assert_allclose(first.train_probs, expected, atol=1e-6)
    # ...while bn1/bn2 still have 28 * 28 = 784 and (conv2 pads 2, so its maps stay 14x14) 14 * 14 = 196 values
    # per channel, and eval mode still sees the image
    assert [layer.values_per_channel for layer in first.layers[:2]] == [784, 196]
    assert not np.array_equal(first.eval_probs, second.eval_probs)
    label = int(first.train_probs.argmax())
    assert "Expected more than 1 value per channel" in first.notes[0] and f"the same answer: {label}" in first.notes[0]


def test_sample_ids_are_fixed_mixed_and_nested() -> None:
    ids = bn_lab.sample_ids(64, 10_000)
    assert ids == bn_lab.sample_ids(64, 10_000) and bn_lab.sample_ids(8, 10_000) == ids[:8]
    assert len(set(ids)) == 64 and ids != sorted(ids)
    for bad in (-1, bn_lab.MAX_BATCH + 1):
        with pytest.raises(ValueError, match="samples"):
            bn_lab.sample_ids(bad, 10_000)


def test_run_lab_refuses_a_bad_index_or_a_network_without_batchnorm(served, batch) -> None:
    with pytest.raises(ValueError, match="inspect"):
        bn_lab.run_lab(served.model, batch, inspected=16)
    with pytest.raises(ValueError, match="no BatchNorm"):
        plain = Network(lenet(ModelConfig(batchnorm=False)), served.model.input, served.model.classes)
        bn_lab.run_lab(plain, batch)


# --- the API ---------------------------------------------------------------------------------------------


def lab(client: TestClient, status: int = 200, **kwargs) -> dict:
    response = client.post("/api/batchnorm", **kwargs)
    assert response.status_code == status, response.text
    return response.json()


def test_an_empty_request_uses_64_fixed_test_digits(client: TestClient, served: ServedModel, test_set) -> None:
    body = BatchNormLabResponse.model_validate(lab(client))
    assert body.model == "lenet_bn" and body.batch_size == 64 and body.source == "samples"
    assert body.sample_ids == bn_lab.sample_ids(64, 10_000)
    assert body.sample_labels == [int(test_set.labels[i]) for i in body.sample_ids]
    assert body.inspected == 0 and body.inspected_source == "batch"
    assert [(layer.name, layer.channels) for layer in body.layers] == [("bn1", 20), ("bn2", 50), ("bn3", 500)]
    samples = served.dataset()
    direct = bn_lab.run_lab(served.model, samples.batch(body.sample_ids))
    same_numbers(body.train.probabilities, direct.train_probs)
    same_numbers(body.eval.probabilities, direct.eval_probs)
    same_numbers(body.layers[2].batch_var, direct.layers[2].batch_var)


def test_samples_and_inspect(client: TestClient, served: ServedModel) -> None:
    body = lab(client, data={"samples": "10", "inspect": "4"})
    assert body["batch_size"] == 10 and body["inspected"] == 4
    samples = served.dataset()
    pixels = samples.batch([body["sample_ids"][4]])
    assert body["eval"]["probabilities"] == served.forward(pixels)["probs"][0].tolist()


def test_a_batch_of_one_over_http(client: TestClient) -> None:
    body = BatchNormLabResponse.model_validate(lab(client, data={"samples": "1"}))
    assert body.batch_size == 1 and body.one_value_layers == ["bn3"]
    assert body.layers[2].zero_variance_channels == 500
    assert any("Expected more than 1 value per channel" in note for note in body.notes)


def test_uploaded_files_and_an_inspected_file(client: TestClient, served: ServedModel, test_set) -> None:
    files = [("files", (f"d{i}.png", png_bytes(test_set.images[i]), "image/png")) for i in range(3)]
    files.append(("file", ("mine.png", png_bytes(test_set.images[10]), "image/png")))
    body = lab(client, files=files)
    assert body["batch_size"] == 4 and body["source"] == "files" and body["sample_ids"] is None
    assert body["inspected"] == 0 and body["inspected_source"] == "file"
    batch = torch.stack(
        [torch.from_numpy(preprocess.from_upload(png_bytes(test_set.images[i]))) for i in (10, 0, 1, 2)]
    ).unsqueeze(1)  # (4, 1, 28, 28): the inspected file first
    direct = bn_lab.run_lab(served.model, batch)
    same_numbers(body["train"]["probabilities"], direct.train_probs)
    same_numbers(body["layers"][0]["batch_mean"], direct.layers[0].batch_mean)
    # `file` with samples=0 is a batch of one
    one = lab(client, data={"samples": "0"}, files={"file": ("x.png", png_bytes(test_set.images[3]), "image/png")})
    assert one["batch_size"] == 1 and one["one_value_layers"] == ["bn3"]


@pytest.mark.parametrize(
    ("kwargs", "status", "message"),
    [
        ({"data": {"samples": "257"}}, 422, "The number of test digits must be a whole number of at most 256"),
        ({"data": {"samples": "-3"}}, 422, "The number of test digits must be a whole number of at least 0"),
        ({"data": {"samples": "many"}}, 422, "The number of test digits must be a whole number, not"),
        ({"data": {"samples": "0"}}, 422, "the batch is empty"),
        ({"data": {"samples": "4", "inspect": "4"}}, 422, "The digit to inspect"),
        ({"data": {"samples": "4", "inspect": "x"}}, 422, "The digit to inspect must be a whole number"),
        ({"content": b'{"samples": 4}', "headers": {"Content-Type": "application/json"}}, 415, "multipart"),
    ],
)
def test_bad_requests_are_clear_4xx(client: TestClient, kwargs: dict, status: int, message: str) -> None:
    body = lab(client, status, **kwargs)
    assert message in body["detail"]


def test_bad_files_and_too_many_files(client: TestClient, test_set) -> None:
    good = png_bytes(test_set.images[0])
    files = [("files", ("a.png", good, "image/png")), ("files", ("broken.png", b"\x89PNG not really", "image/png"))]
    response = client.post("/api/batchnorm", files=files)
    assert 400 <= response.status_code < 500 and "files[1] (broken.png)" in response.json()["detail"]
    many = [("files", (f"{i}.png", good, "image/png")) for i in range(bn_lab.MAX_BATCH + 1)]
    assert "at most 256" in lab(client, 413, files=many)["detail"]
    both = [("files", ("a.png", good, "image/png"))]
    assert "not both" in lab(client, 422, files=both, data={"samples": "3"})["detail"]


def test_unknown_and_batchnorm_free_models(client: TestClient) -> None:
    assert "Unknown model" in lab(client, 404, params={"model": "resnet"})["detail"]
    if "lenet" in client.app.state.convlens.registry.models:
        assert "no BatchNorm" in lab(client, 422, params={"model": "lenet"})["detail"]


def test_concurrent_lab_requests_leave_the_served_model_untouched(client: TestClient, served: ServedModel) -> None:
    """A burst of lab requests (train mode, batches of one, uploads) beside plain predictions: every
    parameter, buffer and mode flag of the served model is byte-identical afterwards, and so are the
    served predictions."""
    ids = list(range(12))

    def predict(i: int) -> list[float]:
        response = client.post("/api/activations?layers=probs", data={"sample": str(i)})
        assert response.status_code == 200
        return response.json()["prediction"]["probabilities"]

    before_sums = state_checksum(served.model)
    before = [predict(i) for i in ids]
    requests = [{"samples": str(n)} for n in (1, 2, 64, 256, 1, 7)] * 3

    def one(data: dict) -> int:
        return client.post("/api/batchnorm", data=data).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        labs = [pool.submit(one, data) for data in requests]
        during = [pool.submit(predict, i) for i in ids]
        assert [f.result() for f in labs] == [200] * len(requests)
        assert [f.result() for f in during] == before
    after_sums = state_checksum(served.model)
    assert after_sums.keys() == before_sums.keys()
    assert all(after_sums[k] == before_sums[k] for k in before_sums)
    assert not served.model.training
    assert [predict(i) for i in ids] == before
