"""Explanations: saliency against finite differences (float64), Grad-CAM against an independent computation
from pool2 (the last maps before the classifier), occlusion against direct forward passes, and
POST /api/explain's contract and errors."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from app.labs import explain
from app.nets.network import Network
from app.schemas.insight import ExplainResponse
from app.serving import encoding
from tests.helpers import png_bytes, state_checksum


@pytest.fixture(scope="module")
def model64(served):
    """A float64 copy of the served model (the served one is never changed)."""
    return Network(copy.deepcopy(served.model.module).double(), served.model.input, served.model.classes)


def digit(test_set, index: int, dtype=torch.float32) -> torch.Tensor:
    return torch.from_numpy(test_set.images[index].astype(np.float64) / 255).reshape(1, 1, 28, 28).to(dtype)


def logit(model, x: torch.Tensor, target: int) -> float:
    with torch.no_grad():
        return float(model(x)[0, target])


@pytest.mark.parametrize(("index", "target"), [(0, 7), (0, 3), (11, 6)])
def test_saliency_matches_finite_differences(model64, test_set, index: int, target: int) -> None:
    x = digit(test_set, index, torch.float64)
    signed = explain.input_gradient(model64, x, target)  # (C, H, W): one channel
    assert signed.dtype == torch.float64 and signed.shape == (1, 28, 28)
    grad = signed[0]  # (28, 28)
    # pixels of the stroke: on the flat background, max pooling meets ties (equal maxima), where the
    # network is not differentiable and one-sided differences disagree
    ink = np.argwhere(test_set.images[index] > 0)
    pixels = [tuple(ink[i]) for i in np.linspace(0, len(ink) - 1, 6).astype(int)]
    eps = 1e-6
    for y, x_ in pixels:
        up, down = x.clone(), x.clone()
        up[0, 0, y, x_] += eps
        down[0, 0, y, x_] -= eps
        numeric = (logit(model64, up, target) - logit(model64, down, target)) / (2 * eps)
        assert float(grad[y, x_]) == pytest.approx(numeric, rel=1e-5, abs=1e-8), (y, x_)
    np.testing.assert_array_equal(explain.saliency(model64, x, target).numpy(), grad.abs().numpy())


def test_placement_puts_units_at_their_receptive_field_centres() -> None:
    m = explain.placement(28, 7, 1.5, 4.0, torch.float64)  # pool2: unit i centred on pixel 1.5 + 4i
    np.testing.assert_allclose(m.sum(1).numpy(), 1.0)
    centres = 1.5 + 4 * torch.arange(7, dtype=torch.float64)
    np.testing.assert_allclose((m @ centres).numpy(), np.clip(np.arange(28), 1.5, 25.5))


def reference_cam(model: Network, x: torch.Tensor, target: int, unit_by_unit: bool = False) -> torch.Tensor:
    """Grad-CAM (``unit_by_unit``: HiResCAM) at pool2's resolution, from the pool2 maps and the tail of the
    network written out."""
    with torch.no_grad():
        maps = model.intermediates(x)["pool2"].clone()  # (1, 50, 7, 7)
    maps.requires_grad_(True)
    fc1, fc2 = model.submodule("fc1"), model.submodule("fc2")
    bn3 = model.submodule("bn3") if "bn3" in model.names else torch.nn.Identity()
    h = torch.relu(bn3(fc1(maps.flatten(1))))  # (1, 500)
    out = fc2(h)[0, target]
    (grad,) = torch.autograd.grad(out, maps)
    if unit_by_unit:
        return torch.relu((grad[0] * maps[0].detach()).sum(0))  # (7, 7)
    weights = grad[0].mean(dim=(1, 2))  # (50,)
    return torch.relu((weights[:, None, None] * maps[0].detach()).sum(0))  # (7, 7)


@pytest.mark.parametrize("method", ["gradcam", "hirescam"])
def test_class_maps_match_a_reference_and_change_with_the_target(model64, test_set, method: str) -> None:
    unit_by_unit = method == "hirescam"
    # Grad-CAM weighs pool2 (the last maps before the classifier): 7x7 units, jump 4, unit (0, 0) centred on
    # 1.5 (conv1 -2..2, pool1 -2..3, conv2 with padding 2 at jump 2 -6..7, pool2 -6..9)
    assert explain.gradcam_layer(model64) == "pool2"
    place = explain.placement(28, 7, 1.5, 4.0, torch.float64)
    # Grad-CAM's mean gradient can leave nothing positive in front of fc1 (then its map is 0): the first
    # test digits whose map is not (HiResCAM's never is on these).
    shown = 0
    for index in range(40):
        x = digit(test_set, index, torch.float64)
        label = int(test_set.labels[index])
        cams = {}
        for target in (label, (label + 1) % 10, (label + 3) % 10):
            cam = explain.gradcam(model64, x, target, unit_by_unit=unit_by_unit)
            assert cam.shape == (28, 28) and (cam >= 0).all()
            want = place @ reference_cam(model64, x, target, unit_by_unit) @ place.T
            np.testing.assert_allclose(cam.numpy(), want.numpy(), rtol=1e-9, atol=1e-12)
            cams[target] = cam.numpy()
        if unit_by_unit:
            assert cams[label].max() > 0, f"HiResCAM of test image {index}'s own class is 0 everywhere"
        if cams[label].max() > 0:
            assert cams[label].std() > 0.05 * cams[label].max(), "the map of the image's class is uniform"
            others = [cams[t] for t in cams if t != label]
            assert not all(np.allclose(cams[label], other) for other in others)
            shown += 1
        if shown == 3:
            break
    assert shown == 3, f"{method}: fewer than 3 of the first 40 test images have a map that is not 0"


def test_occluding_the_whole_digit_lowers_the_probability(served, test_set) -> None:
    x = digit(test_set, 0)
    probs = explain.probabilities(served.model, x)[0]
    target = int(probs.argmax())
    corners, drops = explain.occlusion_drops(served.model, x, target, patch=28, stride=1)
    whole = corners.index((0, 0))  # the patch covering every pixel
    blank = explain.probabilities(served.model, torch.zeros_like(x))[0, target]
    assert float(drops[whole]) == pytest.approx(float(probs[target] - blank), abs=1e-6)
    assert float(drops[whole]) > 0.5


def test_occlusion_map_is_the_mean_drop_of_the_covering_patches(served, test_set) -> None:
    x = digit(test_set, 2)
    target = int(explain.probabilities(served.model, x)[0].argmax())
    heat = explain.occlusion(served.model, x, target, patch=6, stride=3)
    # pixel (14, 14) is covered by the patches with top/left edges 10 and 13 (edges -5, -2, 1, ..., 25)
    base = explain.probabilities(served.model, x)[0, target]
    drops = []
    for ty in (10, 13):
        for tx in (10, 13):
            blanked = x.clone()
            blanked[0, 0, ty : ty + 6, tx : tx + 6] = 0
            drops.append(float(base - explain.probabilities(served.model, blanked)[0, target]))
    assert float(heat[14, 14]) == pytest.approx(np.mean(drops), abs=1e-6)
    ys, xs = np.nonzero(test_set.images[2])
    assert heat[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].max() > 0.05
    assert float(heat[0, 0]) == pytest.approx(0.0, abs=1e-3), "blanking empty background changes little"
    with pytest.raises(ValueError, match="stride"):
        explain.occlusion(served.model, x, target, patch=4, stride=5)


@pytest.mark.parametrize("method", explain.METHODS)
def test_api_explains_each_method_and_leaves_the_model_alone(client, served, test_set, method: str) -> None:
    before = state_checksum(served.model)
    r = client.post(f"/api/explain?method={method}", data={"sample": "0"})
    assert r.status_code == 200, r.text
    body = r.json()
    ExplainResponse.model_validate(body)
    x = digit(test_set, 0)
    probs = explain.probabilities(served.model, x)[0]
    assert body["method"] == method and body["target"] == body["predicted"] == int(probs.argmax()) == 7
    assert body["probability"] == pytest.approx(float(probs[7]), rel=1e-6)
    heat = encoding.decode(body["map"]["data"], body["map"]["shape"], body["map"]["dtype"])
    assert body["map"]["shape"] == [28, 28]
    np.testing.assert_allclose(heat, explain.explain(served.model, x, method).map.numpy(), rtol=1e-5, atol=1e-7)
    other = client.post(f"/api/explain?method={method}&target=3", data={"sample": "0"}).json()
    assert other["target"] == 3 and other["probability"] == pytest.approx(float(probs[3]), rel=1e-5, abs=1e-9)
    other_heat = encoding.decode(other["map"]["data"], [28, 28])
    np.testing.assert_allclose(
        other_heat, explain.explain(served.model, x, method, 3).map.numpy(), rtol=1e-5, atol=1e-7
    )
    if method != "gradcam":  # Grad-CAM may be 0 everywhere for both classes (see test_class_maps_...)
        assert heat.std() > 0 and not np.array_equal(other_heat, heat)
    assert state_checksum(served.model) == before
    assert not any(p.requires_grad for p in served.model.module.parameters())
    assert all(not m._forward_hooks and not m._backward_hooks for m in served.model.module.modules())


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("method=lime", 422, "The method must be"),
        ("", 422, "The method is missing"),
        ("method=saliency&target=10", 422, "The class to explain must be from 0 to 9, not 10."),
        ("method=saliency&target=-1", 422, "The class to explain must be from 0 to 9, not -1."),
        ("method=saliency&target=two", 422, "The class to explain must be a whole number"),
        ("method=occlusion&patch=4&stride=5", 422, "Stride must be between 1 and the patch side 4, not 5"),
        ("method=occlusion&patch=0", 422, "The patch size must be a whole number of at least 1"),
        ("method=gradcam&model=nope", 404, "Unknown model"),
    ],
)
def test_bad_explain_requests_are_clear_client_errors(client, query: str, status: int, words: str) -> None:
    r = client.post(f"/api/explain?{query}", data={"sample": "0"})
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]


def test_explain_takes_a_file_or_drawn_pixels(client, test_set) -> None:
    r = client.post(
        "/api/explain?method=gradcam", files={"file": ("d.png", png_bytes(test_set.images[0]), "image/png")}
    )
    assert r.status_code == 200 and r.json()["predicted"] == 7
    pixels = (test_set.images[0].astype(np.float32) / 255).tolist()
    r = client.post("/api/explain?method=saliency&preprocess=none", json={"pixels": pixels})
    assert r.status_code == 200 and r.json()["predicted"] == 7
    r = client.post("/api/explain?method=saliency", data={"other": "1"})
    assert r.status_code == 422 and "No image" in r.json()["detail"]
