"""One JSON error shape for every route: ``{"detail": "<what was wrong>"}`` (plus ``errors`` for field
validation).

Errors that carry their status (``StatusError``: forms, the kernel lab's limits; and the upload decoder's
``ImageError``) are answered by one handler wherever they are raised. Core code that raises plain
``ValueError``/``KeyError`` runs inside ``client_errors``, which gives them a status (422, 404).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import StatusError
from app.preprocess import ImageError
from app.schemas.common import ErrorResponse

STATUS_ERRORS = (StatusError, ImageError)  # ImageError carries ``status`` but predates StatusError
ECHO_LIMIT = 200  # characters of one word of echoed input (a name, a value) kept in an error detail
DETAIL_LIMIT = 2000  # characters of a whole detail
_LONG_WORD = re.compile(rf"\S{{{ECHO_LIMIT + 1},}}")


def capped(text: str) -> str:
    """``text`` with every word longer than ``ECHO_LIMIT`` characters cut (echoed input: a 200 KB layer
    name is not sent back whole) and the whole cut at ``DETAIL_LIMIT``; each cut says how long it was."""
    text = _LONG_WORD.sub(lambda m: f"{m.group()[:ECHO_LIMIT]}... ({len(m.group())} characters)", text)
    if len(text) > DETAIL_LIMIT:
        text = f"{text[:DETAIL_LIMIT]}... ({len(text)} characters)"
    return text


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for the given error status codes."""
    text = {
        400: "Bad request: an empty, corrupt or malformed body",
        404: "Unknown layer, sample or model",
        408: "The request body did not arrive in time",
        413: "Too large: body, file, pixel count or the request's estimated memory over the limit",
        415: "Unsupported media type: not an image, or the wrong Content-Type",
        422: "Invalid parameters or values, or the request's estimated CPU time over the limit",
        503: "Busy (the queue for expensive requests is full, or the request waited too long): retry after"
        " the seconds of `Retry-After`; or stopped at its deadline",
    }
    return {code: {"model": ErrorResponse, "description": text.get(code, "Error")} for code in codes}


@contextmanager
def client_errors(field: str | None = None) -> Iterator[None]:
    """Give the core's errors an HTTP status: one they carry wins, else ValueError -> 422 and KeyError ->
    404. ``field`` (the request field the values came from) starts the message: ``"file: ..."``."""
    try:
        yield
    except (*STATUS_ERRORS, ValueError, KeyError) as exc:
        status = getattr(exc, "status", None) or (404 if isinstance(exc, KeyError) else 422)
        message = str(exc.args[0] if exc.args else exc)
        raise StatusError(f"{field}: {message}" if field else message, status) from exc


def field_path(loc: Sequence[int | str], root: str = "") -> str:
    """A pydantic error location as a field path: ``("kernels", 0, 2)`` under ``spec`` -> ``spec.kernels[0][2]``."""
    path = root
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif str(part).isidentifier():
            path += f".{part}" if path else str(part)
        else:
            path += f"[{str(part)!r}]"
    return path


def validation_detail(errors: Sequence[Any], root: str = "", limit: int | None = None) -> str:
    """pydantic's errors as one line, each naming its field (under ``root``): ``spec.kernels[0][2]: ...``.
    Messages from the core already start with their field; they keep it, under ``root``."""
    messages = []
    for error in errors[:limit]:
        loc = tuple(error.get("loc", ()))
        loc = loc[1:] if loc[:1] == ("body",) else loc
        local = field_path(loc)
        msg = str(error.get("msg", "")).removeprefix("Value error, ")
        if local and msg.startswith(local):
            messages.append(f"{root}.{msg}" if root else msg)
        else:
            messages.append(f"{field_path(loc, root) or 'body'}: {msg}")
    return "; ".join(messages) or "invalid request"


async def _status_error(request: Request, exc: Exception) -> JSONResponse:
    headers = getattr(exc, "headers", None)  # e.g. Retry-After on a 503 from the admission control
    return JSONResponse({"detail": capped(str(exc))}, status_code=getattr(exc, "status", 400), headers=headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return JSONResponse({"detail": capped(detail)}, status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": [capped(str(p)) for p in e.get("loc", ())],
            "msg": capped(str(e.get("msg", ""))),
            "type": e.get("type", ""),
        }
        for e in exc.errors()[:20]
    ]
    detail = capped(validation_detail(exc.errors(), limit=20))
    return JSONResponse({"detail": detail, "errors": errors}, status_code=422)


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": "internal server error"}, status_code=500)


def install(app: FastAPI) -> None:
    for error in STATUS_ERRORS:
        app.add_exception_handler(error, _status_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _server_error)
