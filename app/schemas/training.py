"""The training timeline's API: GET /api/training and GET /api/training/drift."""

from __future__ import annotations

from pydantic import BaseModel, Field


class CheckpointInfo(BaseModel):
    step: int = Field(description="optimizer steps taken (0: the initialisation)")
    epoch: float = Field(description="epochs of training data seen, fractional")
    images_seen: int
    train_loss: float | None = Field(description="mean training loss since the previous checkpoint (none at step 0)")
    test_accuracy: float = Field(description="accuracy on the test set at this step")
    full: bool = Field(description="every layer is kept (else the conv and BatchNorm layers only)")


class TrainingResponse(BaseModel):
    model: str
    checkpoints: list[CheckpointInfo] = Field(description="in training order; the last is the served network")


class ChannelStats(BaseModel):
    mean: list[float] = Field(description="per channel")
    std: list[float] = Field(description="per channel (biased)")


class DriftPoint(BaseModel):
    step: int
    output: ChannelStats = Field(description="the layer's output, before any BatchNorm")
    after: ChannelStats | None = Field(description="the output of the BatchNorm right after it (none without one)")


class DriftResponse(BaseModel):
    model: str
    layer: str
    batchnorm: str | None = Field(description="the BatchNorm layer that follows it, if any")
    images: int = Field(description="the fixed batch of test digits the statistics are over")
    description: str
    checkpoints: list[DriftPoint]
