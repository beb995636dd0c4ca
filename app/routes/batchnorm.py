"""The BatchNorm lab's API: POST /api/batchnorm, GET /api/batchnorm/fold and GET /api/batchnorm/high-lr."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from torch import nn

from app import uploads
from app.labs import batchnorm as bn_lab
from app.nets import fold
from app.routes import costs as route_costs
from app.routes.deps import AppState, BatchBody, DType, Preprocess, Served, State
from app.routes.inputs import int_field, invert, parse_form, preprocess_mode
from app.schemas.batchnorm import BatchNormLabResponse, FoldResponse, HighLrExperiment
from app.serving import costs, encoding
from app.serving.admission import admitted, checkpoint
from app.serving.costs import Cost
from app.serving.errors import client_errors, error_responses, invalid
from app.serving.forms import FORM_TYPES, Form, media_type
from app.serving.inference import ServedModel

router = APIRouter(tags=["batchnorm lab"])


# --- POST /api/batchnorm -------------------------------------------------------------------------------


async def batchnorm_model(st: AppState, served: Served) -> ServedModel:
    """The ``?model=`` model, which must have BatchNorm layers (422 naming those that do)."""
    if not served.model.of_kind("batchnorm"):
        with_bn = [n for n, s in st.registry.models.items() if s.model.of_kind("batchnorm")]
        raise HTTPException(
            422, f"model {served.name!r} has no BatchNorm layers; models with BatchNorm: {', '.join(with_bn)}"
        )
    return served


WithBatchNorm = Annotated[ServedModel, Depends(batchnorm_model)]


def lab_form(request: Request, body: bytes) -> Form:
    """The multipart (or urlencoded) form; an empty body is an empty form (all defaults)."""
    ctype = media_type(request.headers.get("content-type"))
    if ctype in FORM_TYPES:
        return parse_form(request, body)
    if not body:
        return Form()
    raise HTTPException(415, f"Content-Type {ctype or '(none)'} is not accepted: send multipart/form-data")


def decode_upload(st: State, served: ServedModel, data: bytes, what: str, mode: str) -> np.ndarray:
    """The network's input, (H, W) or (C, H, W), from an uploaded image preprocessed per ``mode`` (``auto``:
    the model's own); the error names the part at fault."""
    with client_errors(what):
        return uploads.from_upload(data, preprocess_mode(mode, served), st.limits, served.input_shape, invert(served))


def file_field(index: int, filename: str | None) -> str:
    return f"files[{index}] ({filename or 'unnamed'})"


def lab_batch(st: State, served: ServedModel, form: Form, mode: str) -> tuple[torch.Tensor, list[int] | None, bool]:
    """The batch (N, C, H, W), its test-set ids (None for uploads) and whether `file` joined it first."""
    files = form.all("files")
    count = int_field(form, "samples")
    inspected = form.get("file")
    if files and count is not None:
        raise HTTPException(422, "send either `files` or `samples`, not both")
    if len(files) > bn_lab.MAX_BATCH:
        raise HTTPException(413, f"files: {len(files)} images; a batch holds at most {bn_lab.MAX_BATCH}")
    images = [] if inspected is None else [decode_upload(st, served, inspected.data, "file", mode)]
    ids = None
    if files:
        for i, p in enumerate(files):
            checkpoint()  # between images: stop when the client has gone or the deadline has passed
            images.append(decode_upload(st, served, p.data, file_field(i, p.filename), mode))
    else:
        count = bn_lab.DEFAULT_SAMPLES if count is None else count
        if count == 0 and inspected is None:
            raise invalid(("body", "samples"), "value_error", count, "is 0 and there is no `file`: the batch is empty")
        if count < 0:
            raise invalid(("body", "samples"), "greater_than_equal", count, ge=0)
        if count > bn_lab.MAX_BATCH:
            raise invalid(("body", "samples"), "less_than_equal", count, le=bn_lab.MAX_BATCH)
        with client_errors("samples"):
            samples = served.dataset()
        ids = bn_lab.sample_ids(count, len(samples))
        images += list(samples.batch(ids)[:, 0].numpy()) if ids else []
    batch = torch.from_numpy(np.stack(images)).reshape(len(images), *served.input_shape)  # (N, C, H, W)
    return batch, ids, inspected is not None


LAB_BODY = {
    "requestBody": {
        "required": False,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": f"the batch: 1 to {bn_lab.MAX_BATCH} images (PNG, JPEG, GIF, WebP, BMP)",
                        },
                        "samples": {
                            "type": "integer",
                            "minimum": 0,
                            "maximum": bn_lab.MAX_BATCH,
                            "default": bn_lab.DEFAULT_SAMPLES,
                            "description": "or: this many MNIST test digits, the same ones on every call",
                        },
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "the image to inspect; it joins the batch as its first image",
                        },
                        "inspect": {
                            "type": "integer",
                            "minimum": 0,
                            "description": "or: the index in the batch of the image to inspect (default 0)",
                        },
                    },
                }
            }
        },
    }
}


def batchnorm_lab_cost(request: Request, st: State, served: ServedModel, body: bytes, preprocess: str) -> Cost:
    """Every upload decoded to a digit (one after another), a deep copy of the network, the batch through
    it in train mode keeping every intermediate, and the inspected image in eval mode."""
    form = route_costs.form_or_none(request, body)
    files = form.all("files") if form is not None else []
    inspected = form.get("file") if form is not None else None
    if len(files) > bn_lab.MAX_BATCH or (files and form is not None and form.get("samples") is not None):
        return Cost()  # the route refuses it
    uploads = [(inspected, "file")] if inspected is not None else []
    uploads += [(p, file_field(i, p.filename)) for i, p in enumerate(files)]
    count = len(files) or min(route_costs.sample_count(form, "samples", bn_lab.DEFAULT_SAMPLES), bn_lab.MAX_BATCH)
    batch = count + (inspected is not None)
    params = served.params * 4
    net = route_costs.net(served)
    return (
        route_costs.digit_batch(st, uploads, preprocess, served)
        .then(costs.copies("batch", batch * route_costs.values(served.shapes["input"]), held=0))
        .then(Cost.of("model copy", params * 2, params * 2 * costs.COPY_NS * costs.NS))
        .then(costs.network(net, batch) + costs.network(net, 1))
        .then(costs.copies("statistics", batch * net.widest, 2))
    )


@router.post(
    "/api/batchnorm",
    response_model=BatchNormLabResponse,
    responses=error_responses(400, 404, 408, 413, 415, 422, 503),
    openapi_extra=LAB_BODY,
    summary="A batch's BatchNorm statistics, and one image in eval and in train mode",
)
@admitted(batchnorm_lab_cost)
def batchnorm_lab(
    request: Request,
    st: AppState,
    served: WithBatchNorm,
    body: BatchBody,
    preprocess: Preprocess = "auto",
) -> Response:
    """Send a batch, as multipart `files` (several images) or `samples=N` (N test digits, default 64), and
    optionally `file`, the image to inspect (it joins the batch as its first image; default: the batch's
    image number `inspect`, 0 if not given). An empty body means 64 test digits.

    Each BatchNorm layer's per-channel batch mean and variance (biased: divided by n, as train mode
    normalises) are returned next to its running mean and variance, and the inspected image is
    classified in eval mode (`eval`: running statistics, what the server always uses) and in train mode
    (`train`: normalised with this batch's statistics). It all runs on a deep copy of the network: the
    served model never changes.

    A batch of one is answered, not refused: bn3 then sees one value per unit, its variance is 0 and it
    outputs beta for any image (see `one_value_layers` and `notes`)."""
    form = lab_form(request, body)
    batch, ids, with_file = lab_batch(st, served, form, preprocess)
    inspect = int_field(form, "inspect")
    if with_file and inspect not in (None, 0):
        raise HTTPException(422, "inspect: `file` is the inspected image (index 0); leave `inspect` out")
    with client_errors():
        result = bn_lab.run_lab(served.model, batch, inspect or 0)
    payload = {
        "model": served.name,
        "batch_size": result.batch_size,
        "source": "samples" if ids is not None else "files",
        "sample_ids": ids,
        "sample_labels": None if ids is None else [int(served.dataset().labels[i]) for i in ids],
        "inspected": result.inspected,
        "inspected_source": "file" if with_file else "batch",
        "layers": [
            {
                "name": layer.name,
                "channels": len(layer.batch_mean),
                "values_per_channel": layer.values_per_channel,
                "batch_mean": layer.batch_mean.tolist(),
                "batch_var": layer.batch_var.tolist(),
                "running_mean": layer.running_mean.tolist(),
                "running_var": layer.running_var.tolist(),
                "zero_variance_channels": layer.zero_variance_channels,
            }
            for layer in result.layers
        ],
        "eval": {"label": int(result.eval_probs.argmax()), "probabilities": result.eval_probs.tolist()},
        "train": {"label": int(result.train_probs.argmax()), "probabilities": result.train_probs.tolist()},
        "one_value_layers": result.one_value_layers,
        "notes": result.notes,
    }
    return encoding.json_response(payload)


# --- GET /api/batchnorm/fold ---------------------------------------------------------------------------


def probe_weight(weight: torch.Tensor) -> tuple[torch.Tensor, str]:
    """One weight per output channel: the centre tap of input channel 0 (conv) or input 0 (linear)."""
    if weight.dim() == 4:
        k = weight.shape[-1] // 2
        return weight[:, 0, k, k], f"W[c, 0, {k}, {k}]"  # (C,)
    return weight[:, 0], "W[c, 0]"  # (C,)


def folded_pair(served: ServedModel, layer_name: str, bn_name: str, weights: bool, dtype: str) -> dict:
    layer = served.model.typed(layer_name, nn.Conv2d | nn.Linear)  # type: ignore[arg-type]
    bn = served.model.typed(bn_name, nn.modules.batchnorm._BatchNorm)
    weight, bias = fold.fold(layer, bn)
    before, index = probe_weight(layer.weight.detach())
    after, _ = probe_weight(weight)
    mean, var = fold.running_stats(bn)
    channels = {
        "gamma": bn.weight,
        "beta": bn.bias,
        "running_mean": mean,
        "running_var": var,
        "scale": fold.scales(bn),
        "bias": layer.bias if layer.bias is not None else torch.zeros_like(mean),
        "folded_bias": bias,
        "weight": before,
        "folded_weight": after,
    }
    folded = None
    if weights:
        folded = [
            {"name": name, "shape": list(t.shape), "dtype": dtype, "data": encoding.encode(t.numpy(), dtype)}
            for name, t in (("weight", weight), ("bias", bias))
        ]
    return {
        "layer": layer_name,
        "batchnorm": bn_name,
        "kind": served.model.layer(layer_name).kind,
        "eps": bn.eps,
        "weight_index": index,
        "channels": {key: t.detach().tolist() for key, t in channels.items()},
        "folded": folded,
    }


def fold_cost(**_: object) -> Cost:
    """The folded weights and one channel's numbers: the check over the test set was made when the model
    was loaded (app/serving/prepared.py), never here."""
    return Cost.of("fold", 256 * 1024, 0.001)


@router.get(
    "/api/batchnorm/fold",
    response_model=FoldResponse,
    responses=error_responses(404, 422, 503),
    summary="BatchNorm folded into the layer before it, checked on the whole test set",
)
@admitted(fold_cost)
def batchnorm_fold(
    request: Request,
    st: AppState,
    served: WithBatchNorm,
    weights: Annotated[bool, Query(description="include the folded weights and biases (base64)")] = True,
    dtype: DType = "float32",
) -> Response:
    """In eval mode BatchNorm is a per-channel affine map, so it folds into the layer before it:
    `W' = gamma / sqrt(var + eps) * W`, `b' = gamma * (b - mean) / sqrt(var + eps) + beta`, for every conv or
    linear layer whose output feeds only a BatchNorm (the LeNet's conv1+bn1, conv2+bn2 and fc1+bn3). The
    folded network (the same network with those BatchNorm layers turned into identities) is compared with
    the trained one on all the model's test images: the largest logit difference, the predictions that
    change, and both forward times measured in that same run (batches of `batch_size`, `threads` torch
    threads). That comparison is made when the model's files are made (`convlens fold`, stored beside the
    weights) or, failing that, when the server starts: never on a request."""
    with client_errors():
        served.dataset()
        eq = served.prepared.fold
        if isinstance(eq, str):
            raise ValueError(eq)
    payload = {
        "model": served.name,
        "pairs": [folded_pair(served, layer, bn, weights, dtype) for layer, bn in fold.fold_pairs(served.model)],
        "images": eq.images,
        "max_abs_logit_diff": eq.max_abs_logit_diff,
        "predictions_changed": eq.predictions_changed,
        "unfolded_ms": eq.unfolded_ms,
        "folded_ms": eq.folded_ms,
        "time_ratio": eq.time_ratio,
        "batch_size": eq.chunk,
        "threads": eq.threads,
    }
    return encoding.json_response(payload)


# --- GET /api/batchnorm/high-lr ------------------------------------------------------------------------

HIGH_LR_FILE = "high_lr.json"


def load_high_lr(model_dir: Path) -> HighLrExperiment | None:
    """``models/high_lr.json``, read (and checked) once, at start-up; None when it is missing."""
    path = model_dir / HIGH_LR_FILE
    return HighLrExperiment.model_validate(json.loads(path.read_text())) if path.is_file() else None


@router.get(
    "/api/batchnorm/high-lr",
    response_model=HighLrExperiment,
    responses=error_responses(404),
    summary="BN against no BN at a high learning rate",
)
def high_lr(st: AppState) -> HighLrExperiment:
    """Both networks trained for a few epochs at a high peak learning rate: their test-accuracy curves,
    where the plain one diverged (if it did), and the exact commands (from `models/high_lr.json`)."""
    if st.high_lr is None:
        raise HTTPException(404, f"no high-learning-rate experiment recorded ({HIGH_LR_FILE} is missing)")
    return st.high_lr
