"""The ASGI app: ``app.main:app``, built by ``create_app()``.

Everything a request reads is made in the lifespan, before the server accepts any request (uvicorn opens
its socket only once the lifespan's start-up has finished): the models and their test sets, what takes work
to find about each (app/serving/prepared.py: the BatchNorm fold check, the gallery's predictions, the
top-activation files, the cost model's numbers), the high-learning-rate record, the OpenAPI schema and the
compiled page templates. So GET /healthz answering means the server is ready, and no request does cold work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import torch
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from app.config import PROJECT_ROOT, Settings
from app.datasets.samples import Datasets
from app.routes import (
    activations,
    batchnorm,
    conv_layer,
    health,
    insight,
    kernels,
    lane,
    layers,
    model,
    pages,
    perturb,
    samples,
    signal,
    training,
)
from app.routes.deps import State
from app.serving import errors, memory, metrics, root_path, security
from app.serving.admission import Admission, Budgets
from app.serving.head import HeadAsGet
from app.serving.inference import Registry

DESCRIPTION = """Look inside a trained LeNet (with BatchNorm) on MNIST: every layer's activations for your
image, every filter's weights. Layer names (`conv1`, `bn1`, ... `fc2`) are the same in the model, the
URLs and the JSON; arrays travel as base64 of little-endian, C-order bytes."""
# The API documentation: Swagger UI, its script and style served by the app (fastapi-offline). No ReDoc:
# its page shows a logo from its vendor's CDN.
DOCS_URL = "/docs"
DOCS_ASSETS_URL = "/static-docs"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        torch.set_num_threads(settings.torch_threads)
        observed.torch_threads.set(torch.get_num_threads())
        memory.limit_malloc_arenas(settings.malloc_arenas)  # before the threadpool's threads start
        app.state.convlens = State(
            settings=settings,
            registry=Registry(
                settings.model_dirs, settings.default_model, Datasets(settings.data_dir), observed.observe_forward
            ),
            high_lr=batchnorm.load_high_lr(settings.bundled_dir),
        )
        app.state.admission = Admission(Budgets.from_settings(settings))
        app.openapi()  # the schema, built once (GET /openapi.json and /docs read it)
        pages.compile_templates()
        yield
        app.state.admission.close()

    app = FastAPIOffline(
        title="ConvLens",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=DOCS_URL,
        redoc_url=None,
        static_url=DOCS_ASSETS_URL,
        swagger_ui_parameters={"validatorUrl": None},  # no badge fetched from the swagger.io validator
    )
    errors.install(app)
    observed = metrics.install(app)
    app.add_middleware(HeadAsGet)
    docs_pages = [p for p in (DOCS_URL, app.swagger_ui_oauth2_redirect_url) if p]
    # the draw pad's requests skip the layers FastAPI builds: activations.activations is the admitted endpoint
    lane.install(app, activations.activations, observed.http, cors=bool(settings.cors_origins))
    security.install(app, settings, docs_pages)
    root_path.install(app, settings.root_path)  # outermost: every layer sees the prefix
    for router in (
        health.router,
        model.router,
        activations.router,
        layers.router,
        samples.router,
        pages.router,
        kernels.router,
        conv_layer.router,
        signal.router,
        insight.router,
        perturb.router,
        batchnorm.router,
        training.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=PROJECT_ROOT / "static"), name="static")
    return app


app = create_app()
