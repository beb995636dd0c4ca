"""Explanations of one prediction as maps the size of the input: gradient saliency, Grad-CAM, HiResCAM and
occlusion sensitivity.

Grad-CAM weighs each map by its mean gradient; HiResCAM multiplies gradient and map unit by unit before
summing over the maps. After global average pooling the gradient is the same at every unit of a map, so the
two are equal; in front of a fully connected layer (the LeNet's fc1 reads each pool2 unit with its own
weights) the mean hides where the evidence is, and Grad-CAM's sum can be negative everywhere, so its map is
0 (measured in docs/benchmarks.md); HiResCAM's unit-by-unit sum keeps it.

Every function works on a fresh graph (the input is the only tensor that requires grad) or without
gradients at all, in the input's dtype: tests pass a float64 copy of the model for finite differences.
The model itself is never modified.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from app.nets.network import Network
from app.nets.receptive import Field
from app.serving.admission import checkpoint

METHODS = ("saliency", "gradcam", "hirescam", "occlusion")
OCCLUSION_PATCH = 6
OCCLUSION_STRIDE = 2
OCCLUSION_FILL = 0.0  # black: the background of the ink-high digits and clothes
OCCLUSION_BATCH = 256

DESCRIPTIONS = {
    "saliency": "|d logit[target] / d pixel|: how strongly a small change of each input pixel moves the target's"
    " logit (vanilla gradient saliency; the largest over the colour channels)",
    "gradcam": "Grad-CAM on {layer} (the last maps before the classifier, {shape}): relu(sum_k alpha_k A_k) with"
    " alpha_k the mean gradient of the target's logit over map k, each {layer} unit placed at the centre of its"
    " receptive field and interpolated linearly to the input's size",
    "hirescam": "HiResCAM on {layer} (the last maps before the classifier, {shape}): relu(sum_k dlogit/dA_k * A_k)"
    " unit by unit (the gradient is not averaged over the map first, as Grad-CAM does), each {layer} unit placed"
    " at the centre of its receptive field and interpolated linearly to the input's size",
    "occlusion": "occlusion sensitivity: a black patch (0) slides over the image; each pixel holds the mean"
    " drop in the target's probability over the patch positions that cover it (negative: hiding it helps)",
}


@dataclass(frozen=True)
class Explanation:
    method: str
    target: int
    predicted: int
    probability: float  # of the target, for the unchanged image
    probabilities: list[float]
    map: torch.Tensor  # (H, W)
    layer: str | None = None
    patch: int | None = None
    stride: int | None = None


def _image(x: torch.Tensor) -> torch.Tensor:
    """A detached copy of ``x`` (1, C, H, W) that requires grad: the graph's only leaf."""
    return x.detach().clone().requires_grad_(True)


def probabilities(model: Network, x: torch.Tensor) -> torch.Tensor:
    """(N, classes) softmax of the logits for ``x`` (N, 1, H, W), without gradients."""
    with torch.no_grad():
        return torch.softmax(model(x), dim=1)


def input_gradient(model: Network, x: torch.Tensor, target: int) -> torch.Tensor:
    """Signed d logit[target] / d input for ``x`` (1, C, H, W) -> (C, H, W)."""
    with torch.inference_mode(False), torch.enable_grad():
        image = _image(x)
        logit = model(image)[0, target]  # ()
        (grad,) = torch.autograd.grad(logit, image)  # (1, C, H, W)
    return grad[0]


def saliency(model: Network, x: torch.Tensor, target: int) -> torch.Tensor:
    """|d logit[target] / d input|, the largest over the channels: (H, W)."""
    return input_gradient(model, x, target).abs().amax(dim=0)


def placement(size: int, units: int, start: float, jump: float, dtype: torch.dtype) -> torch.Tensor:
    """(size, units) linear interpolation from units centred at ``start + i * jump`` to pixels 0..size-1
    (pixels beyond the first/last centre take that unit's value)."""
    u = ((torch.arange(size, dtype=dtype) - start) / jump).clamp(0, units - 1)  # (size,)
    lo = u.floor().long().clamp(max=units - 1)
    hi = (lo + 1).clamp(max=units - 1)
    frac = u - lo.to(dtype)
    m = torch.zeros(size, units, dtype=dtype)
    rows = torch.arange(size)
    m[rows, lo] += 1 - frac
    m[rows, hi] += frac
    return m


def gradcam_layer(model: Network) -> str:
    """The maps Grad-CAM weighs: the last layer, on the way to the classifier, whose output is a stack of
    maps larger than one pixel (the LeNet's pool2; fashion_vgg's last ReLU before its global pooling)."""
    maps = [layer for layer in model.spatial if layer.kind != "input" and layer.shape[1] * layer.shape[2] > 1]
    if not maps:
        raise ValueError("Grad-CAM needs maps: this network has no spatial layer before its classifier")
    return maps[-1].name


def gradcam(
    model: Network, x: torch.Tensor, target: int, layer: str | None = None, unit_by_unit: bool = False
) -> torch.Tensor:
    """Grad-CAM (``unit_by_unit``: HiResCAM) of ``target`` on ``layer``'s maps (default: ``gradcam_layer``)
    for ``x`` (1, C, H, W) -> (H, W), never negative."""
    layer = layer or gradcam_layer(model)
    field = model.fields[layer]
    if not isinstance(field, Field):
        raise ValueError(f"Grad-CAM cannot place {layer} on the input: {field.reason}")
    with torch.inference_mode(False), torch.enable_grad():
        acts = model.intermediates(_image(x))
        maps = acts[layer]  # (1, C, h, w)
        logits = acts[model.output]  # (1, classes)
        (grad,) = torch.autograd.grad(logits[0, target], maps)  # (1, C, h, w)
    if unit_by_unit:
        cam = torch.relu((grad[0] * maps[0].detach()).sum(0))  # (h, w)
    else:
        alpha = grad[0].mean(dim=(1, 2))  # (C,)
        cam = torch.relu(torch.einsum("c,chw->hw", alpha, maps[0].detach()))  # (h, w)
    size_y, size_x = x.shape[-2:]
    rows = placement(size_y, cam.shape[0], field.rows.start, field.rows.jump, cam.dtype)  # (H, h)
    cols = placement(size_x, cam.shape[1], field.cols.start, field.cols.jump, cam.dtype)  # (W, w)
    return rows @ cam @ cols.T  # (H, W)


def patch_corners(size: int, patch: int, stride: int) -> list[int]:
    """Top (or left) edges of the patches along one axis: from -(patch - 1), so every pixel is covered."""
    return list(range(-(patch - 1), size, stride))


def occluded(x: torch.Tensor, corners: list[tuple[int, int]], patch: int) -> torch.Tensor:
    """Copies of ``x`` (1, C, H, W), one per corner, with a patch x patch square set to the fill value."""
    batch = x.detach().repeat(len(corners), 1, 1, 1)  # (N, C, H, W)
    for i, (ty, tx) in enumerate(corners):
        batch[i, :, max(ty, 0) : max(ty + patch, 0), max(tx, 0) : max(tx + patch, 0)] = OCCLUSION_FILL
    return batch


def occlusion_drops(
    model: Network, x: torch.Tensor, target: int, patch: int, stride: int
) -> tuple[list[tuple[int, int]], torch.Tensor]:
    """``(corners, drops)``: the target's probability for ``x`` minus its probability with each patch
    blanked, (N,)."""
    size_y, size_x = x.shape[-2:]
    corners = [(ty, tx) for ty in patch_corners(size_y, patch, stride) for tx in patch_corners(size_x, patch, stride)]
    base = probabilities(model, x)[0, target]
    drops = []
    for i in range(0, len(corners), OCCLUSION_BATCH):
        checkpoint()  # between chunks: stop when the client has gone or the request's deadline has passed
        chunk = corners[i : i + OCCLUSION_BATCH]
        drops.append(base - probabilities(model, occluded(x, chunk, patch))[:, target])  # (n,)
    return corners, torch.cat(drops)


def occlusion(
    model: Network, x: torch.Tensor, target: int, patch: int = OCCLUSION_PATCH, stride: int = OCCLUSION_STRIDE
) -> torch.Tensor:
    """Per pixel, the mean drop in the target's probability over the patches covering it, (H, W)."""
    if not 1 <= patch <= min(x.shape[-2:]):
        raise ValueError(f"patch: must be between 1 and the image side {min(x.shape[-2:])}, not {patch}")
    if not 1 <= stride <= patch:
        raise ValueError(f"stride: must be between 1 and the patch side {patch}, not {stride} (else pixels go unseen)")
    corners, drops = occlusion_drops(model, x, target, patch, stride)
    total = torch.zeros(x.shape[-2:], dtype=x.dtype)  # (H, W)
    count = torch.zeros_like(total)
    for (ty, tx), drop in zip(corners, drops, strict=True):
        window = (slice(max(ty, 0), max(ty + patch, 0)), slice(max(tx, 0), max(tx + patch, 0)))
        total[window] += drop
        count[window] += 1
    return total / count


def description(model: Network, method: str) -> str:
    """What the map of ``method`` shows, in words, for this network."""
    if method not in ("gradcam", "hirescam"):
        return DESCRIPTIONS[method]
    layer = gradcam_layer(model)
    return DESCRIPTIONS[method].format(layer=layer, shape="x".join(map(str, model.layer(layer).shape)))


def explain(
    model: Network,
    x: torch.Tensor,
    method: str,
    target: int | None = None,
    patch: int = OCCLUSION_PATCH,
    stride: int = OCCLUSION_STRIDE,
) -> Explanation:
    """One explanation of ``x`` (1, C, H, W); ``target`` defaults to the predicted class."""
    if method not in METHODS:
        raise ValueError(f"method: {method!r} is not one of {', '.join(METHODS)}")
    probs = probabilities(model, x)[0]  # (classes,)
    predicted = int(probs.argmax())
    target = predicted if target is None else target
    if not 0 <= target < len(probs):
        raise ValueError(f"target: must be from 0 to {len(probs) - 1}, not {target}")
    extra: dict = {}
    if method == "saliency":
        heat = saliency(model, x, target)
    elif method in ("gradcam", "hirescam"):
        heat = gradcam(model, x, target, unit_by_unit=method == "hirescam")
        extra = {"layer": gradcam_layer(model)}
    else:
        heat, extra = occlusion(model, x, target, patch, stride), {"patch": patch, "stride": stride}
    return Explanation(method, target, predicted, float(probs[target]), probs.tolist(), heat, **extra)
