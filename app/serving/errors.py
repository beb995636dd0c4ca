"""One JSON error shape for every route: ``{"detail": "<what was wrong>"}`` (plus ``errors`` for field
validation). Core code raises ValueError/KeyError; ``client_errors`` turns them into 4xx answers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.schemas.common import ErrorResponse


def error_responses(*codes: int) -> dict[int | str, dict]:
    """OpenAPI ``responses`` entries for the given error status codes."""
    text = {
        400: "Bad request: an empty, corrupt or malformed body",
        404: "Unknown layer, sample or model",
        413: "Too large: body, file or pixel count over the limit",
        415: "Unsupported media type: not an image, or the wrong Content-Type",
        422: "Invalid parameters or values",
    }
    return {code: {"model": ErrorResponse, "description": text.get(code, "Error")} for code in codes}


@contextmanager
def client_errors() -> Iterator[None]:
    """Map the core's exceptions to HTTP errors: a ``status`` attribute wins, else ValueError -> 422 and
    KeyError -> 404."""
    try:
        yield
    except HTTPException:
        raise
    except (ValueError, KeyError) as exc:
        status = getattr(exc, "status", None) or (404 if isinstance(exc, KeyError) else 422)
        message = exc.args[0] if exc.args else str(exc)
        raise HTTPException(status_code=status, detail=str(message)) from exc


def _location(loc: tuple) -> str:
    return ".".join(str(part) for part in loc if part != "body") or "body"


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    detail = "; ".join(f"{_location(tuple(e['loc']))}: {e['msg']}" for e in errors) or "invalid request"
    return JSONResponse({"detail": detail, "errors": errors}, status_code=422)


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": "internal server error"}, status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _server_error)
