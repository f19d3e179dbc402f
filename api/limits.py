"""Request bodies have a size limit, enforced before the application reads them.

FastAPI reads and parses a JSON body before it checks who is asking, so without a limit
anyone — with no account — could make the gateway hold a body of any size in memory by
posting it to any route. A declared `Content-Length` over the limit is answered 413 at once;
a chunked body is counted as it arrives and cut off at the limit with the same answer.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ANSWERS = {413: b'{"detail":"request body too large"}',
           400: b'{"detail":"malformed Content-Length"}'}


class BodyLimit:
    """ASGI middleware: at most `default` bytes of body, `larger` under `larger_prefix`."""

    def __init__(self, app: ASGIApp, *, default: int, larger: int = 0,
                 larger_prefix: str = "") -> None:
        self.app = app
        self.default = default
        self.larger = larger
        self.larger_prefix = larger_prefix

    def _limit(self, path: str) -> int:
        if self.larger_prefix and path.startswith(self.larger_prefix):
            return max(self.default, self.larger)
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope.get("path", ""))
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _refuse(send, 413 if declared.isdigit() else 400)
            return
        seen = 0
        refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit and not refused:
                    refused = True
                    await _refuse(send, 413)
                if refused:  # the application sees a client that went away
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            if not refused:  # once refused, the application's own answer is dropped
                await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not refused:  # (a refused body ends the application's read with an error)
                raise


async def _refuse(send: Send, code: int) -> None:
    body = ANSWERS[code]
    await send({"type": "http.response.start", "status": code,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
