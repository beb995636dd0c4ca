"""HTML pages: Jinja2 templates that load one ES module each (no inline scripts: data travels in
``data-`` attributes and through the API)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.config import PROJECT_ROOT
from app.routes.common import state

templates = Jinja2Templates(directory=PROJECT_ROOT / "templates")

router = APIRouter(include_in_schema=False)


def render(request: Request, template: str, page: str, module: str, **context: Any) -> HTMLResponse:
    """Render ``template`` with the navigation's active ``page`` and the page's ES ``module``
    (a file under static/js/)."""
    return templates.TemplateResponse(request, template, {"page": page, "module": module, **context})


@router.get("/", response_class=HTMLResponse)
async def explorer(request: Request) -> HTMLResponse:
    """The explorer: upload, paste or draw a digit and see every layer."""
    return render(
        request,
        "explorer.html",
        page="explorer",
        module="explorer.js",
        max_upload_bytes=state(request).settings.max_upload_bytes,
    )
