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
    the label and the model's prediction (made when the model was loaded). A model served without its test
    set has none (404)."""
    with client_errors():
        served.dataset()
    names = served.model.classes
    return [
        Sample(id=item.id, label=item.label, predicted=item.predicted, label_name=names[item.label])
        for item in served.prepared.gallery or ()
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
