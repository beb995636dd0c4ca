"""GET /healthz: liveness (the model is loaded before the app accepts requests)."""

from __future__ import annotations

from fastapi import APIRouter

from app.schemas.common import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness")
async def healthz() -> Health:
    return Health()
