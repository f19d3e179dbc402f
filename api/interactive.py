"""ASGI middleware telling the gateway's ingest that a person is waiting on a request."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.interactive import InteractiveGate


class InteractiveRequests:
    """Counts each plain HTTP request from its start until its last body byte is sent; a
    live stream (`text/event-stream`) stops counting once its headers are out, since it
    stays open for hours. WebSockets are not counted."""

    def __init__(self, app: ASGIApp, gate: InteractiveGate) -> None:
        self.app = app
        self._gate = gate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self._gate.enabled:
            await self.app(scope, receive, send)
            return
        counted = True
        self._gate.enter()

        async def watch(message: Message) -> None:
            nonlocal counted
            await send(message)
            if not counted:
                return
            if message["type"] == "http.response.start":
                stream = any(n.lower() == b"content-type" and v.startswith(b"text/event-stream")
                             for n, v in message.get("headers", []))
                if stream:
                    counted = False
                    self._gate.leave()
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                counted = False
                self._gate.leave()

        try:
            await self.app(scope, receive, watch)
        finally:
            if counted:
                self._gate.leave()
