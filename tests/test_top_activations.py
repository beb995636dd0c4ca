"""Top-activating test digits: the committed file against an independent recomputation, the endpoint,
stale and missing files, and the `convlens top` command."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from app import cli
from app.config import Settings
from app.labs import top as top_activations
from app.nets.receptive import unit_box
from app.schemas.insight import TopResponse

CHANNELS = {"conv1": 20, "bn1": 20, "relu1": 20, "pool1": 20, "conv2": 50, "bn2": 50, "relu2": 50, "pool2": 50}


@pytest.fixture(scope="module")
def content(served) -> dict:
    return top_activations.load_for(served.model, Settings().model_dir, served.name)


@pytest.fixture(scope="module")
def maxima(test_set_outputs) -> dict[str, np.ndarray]:
    """Per layer (10000, C): each channel's largest value per test digit, from the served model's maps."""
    return {name: test_set_outputs[name] for name in CHANNELS}


def test_file_has_nine_digits_for_every_channel(content) -> None:
    assert content["per_channel"] == 9
    assert {name: entry["channels"] for name, entry in content["layers"].items()} == CHANNELS
    for entry in content["layers"].values():
        for key in ("index", "activation", "y", "x"):
            assert len(entry[key]) == entry["channels"] and all(len(row) == 9 for row in entry[key])
    path = top_activations.path_for(Settings().model_dir, "lenet_bn")
    assert path.stat().st_size < 200_000, "the file should stay small"


@pytest.mark.parametrize(("layer", "channels"), [("conv1", range(20)), ("conv2", range(50)), ("relu2", [17])])
def test_recomputed_top_nine_match_the_file(content, maxima, layer: str, channels) -> None:
    entry = content["layers"][layer]
    for c in channels:
        scores = maxima[layer][:, c]
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))[:9]
        assert entry["index"][c] == order, (layer, c)
        np.testing.assert_allclose(entry["activation"][c], scores[order], rtol=1e-6)


def test_misclassified_digits_are_recorded(content, served, test_set, maxima) -> None:
    wrong = content["misclassified"]
    assert wrong and all(test_set.labels[m["index"]] == m["label"] != m["predicted"] for m in wrong)
    if "misclassified" in served.card:
        assert wrong == served.card["misclassified"]


def test_endpoint_serves_the_examples_with_their_units(client, served, test_set, content) -> None:
    r = client.get("/api/layers/conv2/channels/7/top")
    assert r.status_code == 200, r.text
    body = TopResponse.model_validate(r.json())
    assert (body.layer, body.channel, len(body.examples)) == ("conv2", 7, 9)
    assert [e.index for e in body.examples] == content["layers"]["conv2"]["index"][7]
    activations = [e.activation for e in body.examples]
    assert activations == sorted(activations, reverse=True)
    field = served.model.fields["conv2"]
    for e in body.examples:
        assert e.label == test_set.labels[e.index]
        x = torch.from_numpy(test_set.images[e.index : e.index + 1, None].astype(np.float32) / 255)
        maps = served.forward(x)["conv2"][0, 7]  # (14, 14)
        assert float(maps[e.y, e.x]) == pytest.approx(e.activation, rel=1e-6) == float(maps.max())
        assert e.box.model_dump() == unit_box(field, e.y, e.x).clip(28, 28).as_dict()
        assert e.box.y1 - e.box.y0 + 1 <= 14 and e.box.x1 - e.box.x0 + 1 <= 14
    r = client.get("/api/layers/pool1/channels/0/top?model=lenet_bn")
    assert r.status_code == 200 and len(r.json()["examples"]) == 9


@pytest.mark.parametrize(
    ("url", "status", "words"),
    [
        ("/api/layers/nope/channels/0/top", 404, "Unknown layer"),
        ("/api/layers/fc1/channels/0/top", 404, "no top-activating images"),
        ("/api/layers/input/channels/0/top", 404, "no top-activating images"),
        ("/api/layers/conv2/channels/50/top", 404, "No channel 50"),
        ("/api/layers/conv1/channels/-1/top", 404, "No channel -1"),
        ("/api/layers/conv1/channels/one/top", 422, "Channel must be a whole number"),
        ("/api/layers/conv1/channels/0/top?model=nope", 404, "Unknown model"),
    ],
)
def test_bad_top_requests_are_clear_client_errors(client, url: str, status: int, words: str) -> None:
    r = client.get(url)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]


def test_a_stale_or_missing_file_is_refused(served, content, tmp_path) -> None:
    with pytest.raises(KeyError, match="convlens top --model lenet_bn"):
        top_activations.load_for(served.model, tmp_path, "lenet_bn")
    stale = {**content, "weights_sha256": "0" * 64}
    top_activations.write(stale, top_activations.path_for(tmp_path, "lenet_bn"))
    with pytest.raises(KeyError, match="other weights"):
        top_activations.load_for(served.model, tmp_path, "lenet_bn")


@pytest.mark.slow
def test_the_command_writes_the_file(tmp_path, capsys, content) -> None:
    for suffix in (".pt", ".json"):  # the card names the model's test set
        shutil.copy(Settings().model_dir / f"lenet_bn{suffix}", tmp_path / f"lenet_bn{suffix}")
    assert cli.main(["top", "--model-dir", str(tmp_path), "--model", "lenet_bn", "--per-channel", "3"]) == 0
    assert "lenet_bn: 280 channels" in capsys.readouterr().out
    written = json.loads(top_activations.path_for(tmp_path, "lenet_bn").read_text())
    assert written["weights_sha256"] == content["weights_sha256"] and written["per_channel"] == 3
    for name, entry in written["layers"].items():
        assert entry["index"] == [row[:3] for row in content["layers"][name]["index"]]
    assert cli.main(["top", "--model-dir", str(tmp_path), "--model", "missing"]) == 1
