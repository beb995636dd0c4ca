"""HEAD answered wherever GET is: load balancers and uptime checks probe with ``HEAD /healthz`` or ``HEAD /``.

FastAPI registers only the methods a route declares, so without this a HEAD is a 405. ``HeadAsGet`` (plain
ASGI) runs a HEAD request as the GET it stands for and sends the status and headers of that answer
(``Content-Length`` included, as HTTP asks) without its body. A path with no GET route stays a 405.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # drop the chunk; the last one ends the (empty) body
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)
