"""HTML pages: Jinja2 templates that load one ES module each (no inline scripts: data travels in
``data-`` attributes and through the API)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.config import PROJECT_ROOT
from app.labs.batchnorm import DEFAULT_SAMPLES, MAX_BATCH
from app.routes.deps import state

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


@router.get("/model", response_class=HTMLResponse)
async def model_page(request: Request) -> HTMLResponse:
    """The model: architecture arithmetic, the model card, every conv filter and a 1x1 convolution demo."""
    return render(request, "model.html", page="model", module="model-page.js")


@router.get("/kernels", response_class=HTMLResponse)
async def kernels_page(request: Request) -> HTMLResponse:
    """The kernel lab: draw kernels, slide them over any image, step through a pixel, pool, try them in the network."""
    return render(
        request,
        "kernels.html",
        page="kernels",
        module="kernels.js",
        max_upload_bytes=state(request).settings.max_upload_bytes,
    )


@router.get("/batchnorm", response_class=HTMLResponse)
async def batchnorm_page(request: Request) -> HTMLResponse:
    """The BatchNorm lab: per-channel statistics, train against eval mode, folding, BN against no BN."""
    return render(
        request,
        "batchnorm.html",
        page="batchnorm",
        module="batchnorm.js",
        max_batch=MAX_BATCH,
        default_samples=DEFAULT_SAMPLES,
    )
