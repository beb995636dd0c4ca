"""The BatchNorm lab (POST /api/batchnorm, GET /api/batchnorm/fold, GET /api/batchnorm/high-lr)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import Prediction, TensorData
from app.schemas.network import CurvePoint, EpochRecord


class BatchNormLayerStats(BaseModel):
    name: str
    channels: int
    values_per_channel: int = Field(description="n: the values each channel's statistics are taken over (N x H x W)")
    batch_mean: list[float] = Field(description="per channel, over the batch (train mode)")
    batch_var: list[float] = Field(
        description="per channel, biased (divided by n): the variance train mode normalises with"
    )
    running_mean: list[float] = Field(description="per channel, the served model's (eval mode)")
    running_var: list[float]
    zero_variance_channels: int = Field(description="channels whose batch variance is exactly 0")


class BatchNormLabResponse(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    model: str
    batch_size: int = Field(description="images in the train-mode batch, the inspected one included")
    source: Literal["samples", "files"]
    sample_ids: list[int] | None = Field(description="the test digits of the batch (after `file`, if sent)")
    sample_labels: list[int] | None = Field(description="their true labels")
    inspected: int = Field(description="index in the batch of the image classified below")
    inspected_source: Literal["file", "batch"]
    layers: list[BatchNormLayerStats]
    eval: Prediction = Field(description="the inspected image with the running statistics (the served model)")
    train: Prediction = Field(description="the inspected image in train mode: normalised with the batch's statistics")
    one_value_layers: list[str] = Field(
        description="layers that see one value per channel (bn3 in a batch of one): PyTorch refuses them in train"
        " mode; the lab evaluates the formula (the output is beta)"
    )
    notes: list[str] = Field(description="what is special about this batch, in words")


class FoldChannels(BaseModel):
    """Per output channel c: the numbers of the folding formula."""

    gamma: list[float]
    beta: list[float]
    running_mean: list[float]
    running_var: list[float]
    scale: list[float] = Field(description="s = gamma / sqrt(running_var + eps)")
    bias: list[float] = Field(description="b: the layer's own bias")
    folded_bias: list[float] = Field(description="b' = s * (b - running_mean) + beta")
    weight: list[float] = Field(description="one weight per channel, W[c, 0, k//2, k//2] (conv) or W[c, 0] (linear)")
    folded_weight: list[float] = Field(description="the same weight folded: s * W")


class FoldedPair(BaseModel):
    layer: str
    batchnorm: str
    kind: Literal["conv", "linear"]
    eps: float
    weight_index: str = Field(description="which weight `channels.weight` shows, e.g. W[c, 0, 2, 2]")
    channels: FoldChannels
    folded: list[TensorData] | None = Field(
        description="`weight` and `bias` of the folded layer (base64); null with weights=false"
    )


class FoldResponse(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    model: str
    pairs: list[FoldedPair]
    images: int = Field(description="test images compared (all of the committed test set)")
    max_abs_logit_diff: float = Field(description="largest |folded - unfolded| logit over every image and class")
    predictions_changed: int = Field(description="images whose predicted digit differs")
    unfolded_ms: float = Field(description="forward time of the network as trained, summed over every batch")
    folded_ms: float
    time_ratio: float = Field(description="folded_ms / unfolded_ms, measured in the same run")
    batch_size: int = Field(description="images per forward pass in that run")
    threads: int = Field(description="torch threads during that run")


class HighLrRun(BaseModel):
    name: str
    batchnorm: bool
    test_accuracy: float
    diverged_at_step: int | None
    wall_time_seconds: float | None = None
    curve: list[CurvePoint]
    history: list[EpochRecord]


class HighLrExperiment(BaseModel):
    """Both networks trained at a high peak learning rate for a few epochs (models/high_lr.json)."""

    description: str
    max_lr: float
    epochs: int
    eval_every: int
    commands: list[str]
    runs: list[HighLrRun]
