"""One JSON error shape for every route: ``{"detail": "<what was wrong>"}`` (plus ``errors`` for field
validation).

Errors that carry their status (``StatusError``: forms, the kernel lab's limits; and the upload decoder's
``ImageError``) are answered by one handler wherever they are raised. Core code that raises plain
``ValueError``/``KeyError`` runs inside ``client_errors``, which gives them a status (422, 404).
"""

from __future__ import annotations

import math
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
ERRORS_LIMIT = 20  # entries of a validation error's ``errors`` list (784 wrong pixels are said in the detail)
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
    404. The message is said like a validation error's, starting with the field (``field``: the request
    field the values came from, or the one the message names first): "The image file: ..."."""
    try:
        yield
    except (*STATUS_ERRORS, ValueError, KeyError) as exc:
        status = getattr(exc, "status", None) or (404 if isinstance(exc, KeyError) else 422)
        message = str(exc.args[0] if exc.args else exc)
        error = {"loc": (field,) if field else (), "type": "value_error", "msg": message}
        raise StatusError(validation_detail([error]), status) from exc


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


# --- validation errors in words ------------------------------------------------------------------------
# Where a field arrived (FastAPI's first location part) says nothing to a reader; the field's name does.
SOURCES = frozenset({"body", "query", "path", "header", "cookie"})
ROOTS = frozenset({"spec"})  # a JSON text inside a form field: its fields are named on their own
# Field names -> what a student calls them (the sentence starts with it). Unknown names are quoted.
WORDS = {
    "stride": "Stride",
    "padding": "Padding",
    "padding_mode": "The padding mode",
    "size": "The window size",
    "op": "The pooling operation",
    "mode": "The mode",
    "color": "The colour",
    "combine": "Combine",
    "patch": "The patch size",
    "target": "The class to explain",
    "method": "The method",
    "channel": "Channel",
    "layer": "The layer",
    "name": "The layer name",
    "y": "Row y",
    "x": "Column x",
    "id": "The test digit id",
    "sample": "The test digit id",
    "samples": "The number of test digits",
    "inspect": "The digit to inspect",
    "dtype": "dtype",
    "preprocess": "preprocess",
    "png": "The PNG compression level",
    "weights": "Weights",
    "include": "The parts to include",
    "spec": "The spec",
    "kernels": "The kernels",
    "pixels": "The pixels",
    "matrix": "The matrix",
    "layers": "The layers",
    "bias": "The bias",
    "file": "The image file",
    "files": "The image files",
    "conv1_override": "The conv1 override",
    "kernel": "The kernel",
    "weight": "The weight",
    "photo": "The photo",
    "unit": "The unit",
    "rounding": "Rounding",
    "source": "The source",
    "shift": "The shift",
    "rotate": "The rotation",
    "signal": "The signal",
    "c_in": "C_in",
    "c_mid": "C_mid",
    "c_out": "C_out",
}
PLURAL = frozenset({"kernels", "pixels"})
# Per list field, what its items are at each depth (kernels: kernels, then rows, then values).
ITEMS = {
    "kernels": ("kernels", "rows", "values"),
    "pixels": ("rows", "values"),
    "matrix": ("rows", "values"),
    "weight": ("filters", "kernels", "rows", "values"),
    "bias": ("values",),
}
NUMBERS = frozenset({"kernels", "pixels"})  # fields of real numbers; the others are whole numbers


def _number(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else "infinity" if value > 0 else "minus infinity"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _numeric(value: Any) -> Any:
    """A query or form value that spells a number (``"0"``, ``"1.5"``) as that number; anything else as is."""
    if isinstance(value, str):
        for kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                pass
    return value


def _shown(value: Any, typed: bool = False) -> str:
    """The value a client sent, as it would read it: strings in quotes, numbers as numbers (``typed``: the
    type itself was wrong, so a string that spells a number stays a string)."""
    value = value if typed else _numeric(value)
    if isinstance(value, str):
        return f"\u201c{value[:40]}\u201d"
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, int | float):
        return _number(value)
    return "a list" if isinstance(value, list) else "an object" if isinstance(value, dict) else str(value)[:40]


def _letter(i: int) -> str:
    return chr(ord("A") + i) if 0 <= i < 26 else str(i + 1)


def _label(loc: Sequence[int | str]) -> tuple[str, bool]:
    """(the words for a location, whether they are plural): ``("kernels", 0, 2, 1)`` -> "Kernel A, row 3,
    column 2"; ``("pixels", 4)`` -> "Pixel row 5"; ``("stride",)`` -> "Stride"."""
    if not loc:
        return "The request", False
    head, rest = str(loc[0]), list(loc[1:])
    indices = [i for i in rest if isinstance(i, int)]
    if head == "kernels" and indices:
        words = f"Kernel {_letter(indices[0])}"
        words += "".join(f", {axis} {i + 1}" for axis, i in zip(("row", "column"), indices[1:], strict=False))
        return words, False
    if head == "weight" and indices:  # Cout x Cin x K x K
        axes = ("filter", "input channel", "row", "column")
        words = ", ".join(f"{axis} {i + 1}" for axis, i in zip(axes, indices, strict=False))
        return f"{words.capitalize()} of the weight", False
    if head == "pixels" and indices:
        if len(indices) == 1:
            return f"Pixel row {indices[0] + 1}", False
        return f"The pixel in row {indices[0] + 1}, column {indices[1] + 1}", False
    if rest:  # a nested field: "The conv1 override's channel", "Row 2 of the matrix"
        last = rest[-1]
        owner = WORDS.get(head, f"\u201c{head}\u201d")
        if isinstance(last, str):
            inner = WORDS.get(last, last).removeprefix("The ")
            return f"{owner}\u2019s {inner[:1].lower() + inner[1:]}", False
        if len(indices) > 1:  # deep in a nested list: the JSON indices say where ("weight" at [0][0][1])
            return f"{owner} at {''.join(f'[{i}]' for i in indices)}", False
        return f"{ITEMS.get(head, ('item',))[0].removesuffix('s').capitalize()} {last + 1} of {owner.lower()}", False
    return WORDS.get(head, f"\u201c{head}\u201d"), head in PLURAL


def _items(loc: Sequence[int | str]) -> str:
    head = str(loc[0]) if loc else ""
    depth = sum(isinstance(i, int) for i in loc[1:])
    names = ITEMS.get(head, ())
    return names[depth] if depth < len(names) else "items"


PATH = re.compile(r"^([a-z_]\w*(?:\[\d+\]|\.[A-Za-z_]\w*)*): (.+)$", re.DOTALL)


def _parse_path(path: str) -> tuple[int | str, ...]:
    """``"kernels[0]"`` -> ``("kernels", 0)``; ``"conv1_override.channel"`` -> ``("conv1_override", "channel")``."""
    return tuple(int(p) if p.isdigit() else p for p in re.findall(r"\w+", path))


def _sentence(error: dict[str, Any]) -> tuple[str, str]:
    """One pydantic error -> (a sentence, the key that groups it with others like it)."""
    loc = tuple(error.get("loc", ()))
    while len(loc) > 1 and loc[0] in SOURCES | ROOTS:
        loc = loc[1:]
    kind = str(error.get("type", ""))
    if kind == "value_error":  # the core's message may name a field further in: "kernels[0]: ..."
        found = PATH.match(str(error.get("msg", "")).removeprefix("Value error, "))
        if found:
            inner = _parse_path(found.group(1))
            if loc and loc[0] in SOURCES:
                loc = loc[1:]
            loc = (*loc[:-1], *inner) if loc and inner[0] == loc[-1] else (*loc, *inner)
            error = {**error, "msg": found.group(2)}
    if loc and loc[0] in SOURCES:
        loc = ()
    ctx = error.get("ctx") or {}
    given = error.get("input")
    number = _numeric(given)
    label, plural = _label(loc)
    be = "are" if plural else "is"
    must = f"{label} must be"
    whole = not (loc and loc[0] in NUMBERS) and (isinstance(number, int) or kind.startswith("int"))
    noun = "a whole number" if whole else "a number"
    bound = {
        "greater_than_equal": ("of at least", "ge"),
        "greater_than": ("greater than", "gt"),
        "less_than_equal": ("of at most" if whole else "at most", "le"),
        "less_than": ("less than", "lt"),
    }
    if kind in bound:
        words, key = bound[kind]
        limit = _number(ctx.get(key))
        text = f"{must} {noun} {words} {limit}" if whole else f"{must} {words.removeprefix('of ')} {limit}"
        text += f", not {_shown(given)}" if given is not None else ""
    elif kind in {"int_parsing", "int_type", "int_from_float"}:
        text = f"{must} a whole number, not {_shown(given, kind == 'int_type')}"
    elif kind in {"float_parsing", "float_type", "decimal_parsing", "decimal_type"}:
        text = f"{must} a number, not {_shown(given, kind.endswith('_type'))}"
    elif kind == "finite_number":
        text = f"{must} a finite number, not {_shown(given)}"
    elif kind in {"bool_parsing", "bool_type"}:
        text = f"{must} true or false, not {_shown(given)}"
    elif kind in {"string_type", "string_unicode"}:
        text = f"{must} text, not {_shown(given)}"
    elif kind in {"literal_error", "enum"}:
        text = f"{must} {ctx.get('expected', 'one of the listed values')}, not {_shown(given)}"
    elif kind == "missing":
        hint = str(error.get("msg", ""))
        text = f"{label} {be} missing" + (f": {hint}" if hint not in {"", "Field required", "missing"} else "")
    elif kind == "extra_forbidden":
        name = loc[-1] if loc else "?"
        text = f"\u201c{name}\u201d is not a setting here: check its spelling"
    elif kind in {"too_short", "too_long"}:
        side = "at least" if kind == "too_short" else "at most"
        count = ctx.get("min_length" if kind == "too_short" else "max_length")
        items = _items(loc)
        items = items.removesuffix("s") if count == 1 else items
        text = f"{label} must have {side} {_number(count)} {items}, not {_number(ctx.get('actual_length'))}"
    elif kind in {"list_type", "tuple_type", "iterable_type"}:
        text = f"{must} a list (a JSON array), not {_shown(given)}"
    elif kind in {"dict_type", "model_type", "model_attributes_type"}:
        text = f"{must} a JSON object, not {_shown(given)}"
    elif kind == "json_invalid":
        reason = str(ctx.get("error") or error.get("msg", "")).removeprefix("Invalid JSON: ")
        text = f"{label} {be} not valid JSON: {reason}"
    else:  # the core's own words (a ValueError in a validator): they follow the field's name
        msg = str(error.get("msg", "")).removeprefix("Value error, ")
        joined = msg.split(" ", 1)[0] in {"must", "is", "are", "has", "needs"}
        text = (f"{label} {msg}" if joined else f"{label}: {msg}") if loc else msg[:1].upper() + msg[1:]
    group = (kind, str(loc[0]) if loc else "", repr(sorted(ctx.items(), key=str)))
    return text, repr(group)


def validation_detail(errors: Sequence[Any], limit: int = 3) -> str:
    """pydantic's (or FastAPI's) validation errors as sentences a student understands: "Stride must be a
    whole number of at least 1, not 0." Errors of the same kind on one list (784 pixels over 1) are said
    once, with how many more there are; at most ``limit`` sentences."""
    said: dict[str, list[str]] = {}
    for error in errors:
        text, group = _sentence(dict(error))
        said.setdefault(group, []).append(text)
    sentences = []
    for texts in said.values():
        more = len(texts) - 1
        first = texts[0].rstrip(".")
        sentences.append(first + (f" (and {more} more like it)" if more else "") + ".")
    if len(sentences) > limit:
        sentences = [*sentences[:limit], f"{len(sentences) - limit} more problems."]
    return " ".join(sentences) or "The request is not valid."


def invalid(
    loc: Sequence[int | str], kind: str, given: Any = None, msg: str = "", **ctx: Any
) -> RequestValidationError:
    """A validation error found by hand (a form field, a JSON text inside one), answered like pydantic's:
    ``raise invalid(("body", "sample"), "int_parsing", text)``."""
    error = {"loc": tuple(loc), "type": kind, "msg": msg or kind, "input": given}
    if ctx:
        error["ctx"] = ctx
    return RequestValidationError([error])


def nested(exc: Any, *prefix: int | str) -> RequestValidationError:
    """A pydantic ``ValidationError`` of a value that arrived inside a field (the kernel lab's ``spec``)
    as the request's validation error, its locations under ``prefix``."""
    return RequestValidationError([{**e, "loc": (*prefix, *e.get("loc", ()))} for e in exc.errors()])


def sentence(message: str) -> str:
    """A hand-written error message said like a validation error: "include: unknown part" -> "The parts to
    include: unknown part." (a message that is already a sentence stays as it is)."""
    return validation_detail([{"loc": (), "type": "value_error", "msg": message}])


async def _status_error(request: Request, exc: Exception) -> JSONResponse:
    headers = getattr(exc, "headers", None)  # e.g. Retry-After on a 503 from the admission control
    detail = capped(sentence(str(exc)))
    return JSONResponse({"detail": detail}, status_code=getattr(exc, "status", 400), headers=headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    detail = capped(sentence(detail) if exc.status_code < 500 else detail)
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": [capped(str(p)) for p in e.get("loc", ())],
            "msg": capped(str(e.get("msg", ""))),
            "type": e.get("type", ""),
            "message": capped(validation_detail([e])),
        }
        for e in exc.errors()[:ERRORS_LIMIT]
    ]
    detail = capped(validation_detail(exc.errors()))
    return JSONResponse({"detail": detail, "errors": errors}, status_code=422)


async def _server_error(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": "internal server error"}, status_code=500)


def install(app: FastAPI) -> None:
    for error in STATUS_ERRORS:
        app.add_exception_handler(error, _status_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _server_error)
