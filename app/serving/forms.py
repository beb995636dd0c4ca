"""Request bodies, read with a size limit and parsed entirely in memory.

Starlette's form parser spools large files to a temporary file; uploads here never touch the disk, so
multipart bodies are parsed from the (already size-limited) bytes with python-multipart's parser.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header

from app.errors import StatusError

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

MAX_PARTS = 300  # the BatchNorm lab sends up to 256 files
MAX_FIELD_BYTES = 256 * 1024
MAX_BOUNDARY = 70  # characters of a multipart boundary (RFC 2046)
FORM_TYPES = (
    "multipart/form-data",
    "application/x-www-form-urlencoded",
)  # a text field (a JSON spec) beyond this is not a sensible request


class FormError(StatusError):
    """A malformed or unacceptable request body (400 unless the message says otherwise)."""


@dataclass
class Part:
    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None


@dataclass
class Form:
    """Parsed multipart fields; a name may repeat (several ``files``)."""

    parts: list[Part] = field(default_factory=list)

    def get(self, name: str) -> Part | None:
        for part in self.parts:
            if part.name == name:
                return part
        return None

    def all(self, name: str) -> list[Part]:
        return [part for part in self.parts if part.name == name]

    def text(self, name: str) -> str | None:
        part = self.get(name)
        if part is None:
            return None
        if len(part.data) > MAX_FIELD_BYTES:
            raise FormError(f"form field {name!r} is {len(part.data)} bytes; the limit is {MAX_FIELD_BYTES}", 413)
        try:
            return part.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise FormError(f"form field {name!r} is not UTF-8 text", 400) from exc


def media_type(content_type: str | None) -> str:
    ctype, _ = parse_options_header(content_type or "")
    return ctype.decode("latin-1")


def parse_urlencoded(body: bytes) -> Form:
    """application/x-www-form-urlencoded (``curl -d sample=7``): text fields only."""
    try:
        pairs = parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=False, max_num_fields=MAX_PARTS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormError(f"malformed form body: {exc}", 400) from exc
    return Form([Part(name=k, data=v.encode("utf-8")) for k, v in pairs])


def parse_form(body: bytes, content_type: str | None) -> Form:
    """A multipart or urlencoded body -> ``Form``."""
    if media_type(content_type) == "application/x-www-form-urlencoded":
        return parse_urlencoded(body)
    return parse_multipart(body, content_type)


def parse_multipart(body: bytes, content_type: str | None) -> Form:
    """multipart/form-data bytes -> ``Form``; raises ``FormError`` on anything malformed."""
    ctype, options = parse_options_header(content_type or "")
    if ctype != b"multipart/form-data":
        raise FormError("expected a multipart/form-data body", 415)
    boundary = options.get(b"boundary")
    if not boundary:
        raise FormError("the multipart Content-Type has no boundary", 400)
    if len(boundary) > MAX_BOUNDARY:
        raise FormError(
            f"the multipart boundary is {len(boundary)} characters long; RFC 2046 allows at most {MAX_BOUNDARY}", 400
        )

    form = Form()
    state: dict = {}

    def on_part_begin() -> None:
        if len(form.parts) >= MAX_PARTS:
            raise FormError(f"more than {MAX_PARTS} form parts", 413)
        state.update(headers={}, header_field=b"", header_value=b"", chunks=[])

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["header_field"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["header_value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["header_field"].lower()] = state["header_value"]
        state["header_field"], state["header_value"] = b"", b""

    def on_part_data(data: bytes, start: int, end: int) -> None:
        state["chunks"].append(data[start:end])

    def on_part_end() -> None:
        disposition, params = parse_options_header(state["headers"].get(b"content-disposition"))
        if disposition != b"form-data" or b"name" not in params:
            raise FormError("a multipart part has no Content-Disposition form-data name", 400)
        filename = params.get(b"filename")
        part_type = state["headers"].get(b"content-type")
        form.parts.append(
            Part(
                name=params[b"name"].decode("utf-8", "replace"),
                data=b"".join(state["chunks"]),
                filename=filename.decode("utf-8", "replace") if filename is not None else None,
                content_type=part_type.decode("latin-1") if part_type else None,
            )
        )

    callbacks: MultipartCallbacks = {
        "on_part_begin": on_part_begin,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    }
    try:
        parser = MultipartParser(boundary, callbacks)
        parser.write(body)
        parser.finalize()
    except FormError:
        raise
    except Exception as exc:  # python-multipart raises its own errors for malformed bodies
        raise FormError(f"malformed multipart body: {exc}", 400) from exc
    if parser.state != MultipartState.END:  # no closing boundary: a truncated (or empty) body
        raise FormError("incomplete multipart body: it ends before the closing boundary", 400)
    return form
