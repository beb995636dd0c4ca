"""The committed weights: the accuracy target, recomputed on the committed test set, and a card that
tells the truth about them."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from app.config import Settings
from app.nets.checkpoint import load_module


@pytest.fixture(scope="module")
def predictions(test_set_outputs) -> np.ndarray:
    """The default model's label for every test image."""
    return test_set_outputs["probs"].argmax(1)


def test_committed_weights_reach_the_accuracy_target(predictions, test_set) -> None:
    accuracy = float((predictions == test_set.labels).mean())
    assert accuracy >= 0.996, f"test accuracy {accuracy:.4f} is below 99.6%"


def test_the_model_card_matches_the_weights(predictions, test_set, served) -> None:
    card = served.card
    assert card["test_accuracy"] == pytest.approx(float((predictions == test_set.labels).mean()), abs=1e-6)
    matrix = np.zeros((10, 10), int)
    np.add.at(matrix, (test_set.labels, predictions), 1)
    assert card["confusion_matrix"] == matrix.tolist()
    assert card["per_class_accuracy"] == pytest.approx((matrix.diagonal() / matrix.sum(1)).tolist())
    assert [m["index"] for m in card["misclassified"]] == np.flatnonzero(predictions != test_set.labels).tolist()
    # The run's own CPU time: its wall time on a shared machine measures the other jobs too (both recorded).
    assert card["cpu_time_seconds"] <= 600, "a full training run must cost at most 10 minutes of CPU"
    assert card["wall_time_seconds"] >= card["cpu_time_seconds"] / card["threads"] * 0.9
    assert card["torch_version"].startswith("2.13.0")
    assert len(card["history"]) == card["epochs"]
    assert set(card["data_sha256"]) >= {"t10k-images-idx3-ubyte.gz", "train-images-idx3-ubyte.gz"}


def test_the_plain_models_card_matches_its_weights(client, test_set) -> None:
    """models/lenet (no BatchNorm): the accuracy and confusion matrix its card reports, recomputed."""
    plain = client.app.state.convlens.registry.get("lenet")
    x = torch.from_numpy(test_set.images.astype(np.float32) / 255).unsqueeze(1)  # (10000, 1, 28, 28)
    predicted = np.concatenate(
        [plain.forward(x[i : i + 2000])["probs"].argmax(1).numpy() for i in range(0, 10_000, 2000)]
    )
    matrix = np.zeros((10, 10), int)
    np.add.at(matrix, (test_set.labels, predicted), 1)
    assert plain.card["test_accuracy"] == pytest.approx(float((predicted == test_set.labels).mean()), abs=1e-6)
    assert plain.card["confusion_matrix"] == matrix.tolist()


def test_checkpoint_is_a_plain_state_dict_with_its_config() -> None:
    path = Settings().model_dir / "lenet_bn.pt"
    payload = torch.load(path, map_location="cpu", weights_only=True)
    # "arch" names the architecture; checkpoints from before there was a choice have none and are LeNets
    assert set(payload) - {"arch"} == {"config", "state_dict"} and payload.get("arch", "lenet") == "lenet"
    assert payload["config"]["batchnorm"] is True
    model, arch, cfg = load_module(path)
    assert (arch, cfg.batchnorm) == ("lenet", True)
    assert not model.training and not any(p.requires_grad for p in model.parameters())
    assert json.loads(path.with_suffix(".json").read_text())["name"] == "lenet_bn"


@pytest.mark.parametrize("name", ["lenet", "lenet_bn_norelu"])
def test_the_other_lenets_cards_match_their_weights(client, test_set, name: str) -> None:
    """The numbers the pages compare (BatchNorm or not, ReLU or not) are the committed weights' own."""
    served = client.app.state.convlens.registry.get(name)
    x = torch.from_numpy(test_set.images.astype(np.float32) / 255).unsqueeze(1)  # (10000, 1, 28, 28)
    predicted = torch.cat([served.model(x[i : i + 1000]).argmax(1) for i in range(0, len(x), 1000)]).numpy()
    accuracy = float((predicted == test_set.labels).mean())
    assert served.card["test_accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert accuracy >= 0.995
