"""GET /api/samples and /api/samples/{id}.png: the model's test images for the gallery."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from app.routes.deps import Served
from app.schemas.network import Sample
from app.serving.errors import client_errors, error_responses

router = APIRouter(tags=["samples"])


@router.get("/api/samples", response_model=list[Sample], responses=error_responses(404), summary="Sample gallery")
def list_samples(served: Served) -> list[Sample]:
    """A fixed gallery of the model's test images (three of each class and some the model gets wrong), with
    the label and the model's prediction. A model served without its test set has none (404)."""
    with client_errors():
        samples = served.dataset()
    ids = samples.gallery([m["index"] for m in served.card.get("misclassified", [])])
    predicted = served.forward(samples.batch(ids))["probs"].argmax(1)  # (N,)
    names = served.model.classes
    return [
        Sample(id=i, label=int(samples.labels[i]), predicted=int(p), label_name=names[int(samples.labels[i])])
        for i, p in zip(ids, predicted, strict=True)
    ]


@router.get(
    "/api/samples/{id}.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **error_responses(404, 422)},
    summary="A test image as a PNG",
)
def sample_png(served: Served, id: Annotated[int, Path(description="index in the model's test set")]) -> Response:
    with client_errors():
        png = served.dataset().png(id)
    return Response(png, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})
