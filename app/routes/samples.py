"""GET /api/samples and /api/samples/{id}.png: test digits for the gallery."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from app.routes.deps import AppState, Served
from app.schemas.network import Sample
from app.serving.errors import client_errors, error_responses

router = APIRouter(tags=["samples"])


@router.get("/api/samples", response_model=list[Sample], responses=error_responses(404), summary="Sample gallery")
def list_samples(st: AppState, served: Served) -> list[Sample]:
    """A fixed gallery of MNIST test digits (three of each class and some the model gets wrong), with
    the label and the model's prediction."""
    ids = st.samples.gallery([m["index"] for m in served.card.get("misclassified", [])])
    predicted = served.forward(st.samples.batch(ids))["probs"].argmax(1)  # (N,)
    return [
        Sample(id=i, label=int(st.samples.labels[i]), predicted=int(p)) for i, p in zip(ids, predicted, strict=True)
    ]


@router.get(
    "/api/samples/{id}.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, **error_responses(404, 422)},
    summary="A test digit as a 28x28 PNG",
)
def sample_png(st: AppState, id: Annotated[int, Path(description="MNIST test-set index")]) -> Response:
    with client_errors():
        png = st.samples.png(id)
    return Response(png, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})
