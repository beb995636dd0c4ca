"""Errors that carry the HTTP status to answer with.

Core code raises ``ValueError``/``KeyError`` for bad values and unknown names, or a ``StatusError`` when
the answer is not a plain 422/404 (a malformed body: 400, too large: 413, the wrong media type: 415).
The server answers every ``StatusError`` the same way (``app.serving.errors``); nothing here knows HTTP.
"""

from __future__ import annotations


class StatusError(ValueError):
    """A request that cannot be served; ``status`` is the HTTP status to answer with."""

    status: int = 400

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
