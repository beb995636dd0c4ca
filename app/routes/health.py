"""GET /healthz: liveness and readiness. The server accepts no request before the app's lifespan has made
everything the routes read (app/main.py: the models, the fold check, the galleries...), so an answer here
means every route answers at once; there is no state in between to report."""

from __future__ import annotations

from fastapi import APIRouter

from app.schemas.common import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness and readiness")
async def healthz() -> Health:
    return Health()
