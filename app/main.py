"""The ASGI app: ``app.main:app``, built by ``create_app()``; models load once, in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import torch
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app.config import PROJECT_ROOT, Settings
from app.datasets.samples import Datasets
from app.routes import activations, batchnorm, health, insight, kernels, layers, model, pages, samples, training
from app.routes.deps import State
from app.serving import errors, memory, security
from app.serving.inference import Registry

DESCRIPTION = """Look inside a trained LeNet (with BatchNorm) on MNIST: every layer's activations for your
image, every filter's weights. Layer names (`conv1`, `bn1`, ... `fc2`) are the same in the model, the
URLs and the JSON; arrays travel as base64 of little-endian, C-order bytes."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        torch.set_num_threads(settings.torch_threads)
        memory.limit_malloc_arenas(settings.malloc_arenas)  # before the threadpool's threads start
        app.state.convlens = State(
            settings=settings,
            registry=Registry(settings.model_dirs, settings.default_model, Datasets(settings.data_dir)),
        )
        yield

    app = FastAPI(title="ConvLens", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    errors.install(app)
    security.install(app, settings)
    for router in (
        health.router,
        model.router,
        activations.router,
        layers.router,
        samples.router,
        pages.router,
        kernels.router,
        insight.router,
        batchnorm.router,
        training.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=PROJECT_ROOT / "static"), name="static")
    return app


app = create_app()
