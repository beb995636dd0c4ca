"""What every route shares: the app's loaded state and a fast JSON response."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from fastapi import Request, Response

from app import preprocess
from app.config import Settings
from app.datasets.samples import SampleStore
from app.serving.errors import client_errors
from app.serving.inference import Registry, ServedModel


@dataclass(frozen=True)
class State:
    settings: Settings
    registry: Registry
    samples: SampleStore

    @property
    def limits(self) -> preprocess.Limits:
        return preprocess.Limits(self.settings.max_upload_bytes, self.settings.max_pixels)


def state(request: Request) -> State:
    return request.app.state.convlens


def served_model(request: Request, name: str | None) -> ServedModel:
    """The model ``name`` (None: the default); 404 naming the models there are."""
    with client_errors():
        return state(request).registry.get(name)


def json_response(payload: Any, status_code: int = 200) -> Response:
    """Serialise with orjson. Used where the body is large (base64 arrays): the route's
    ``response_model`` still documents it, and the API tests validate responses against it."""
    return Response(orjson.dumps(payload), status_code=status_code, media_type="application/json")
