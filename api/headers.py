"""Security headers on every answer: no framing, no sniffing, no referrer, pages kept local."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Pages may load only what this server serves: a control room is often offline, and a page
# that cannot reach elsewhere cannot leak there either (Redoc's footer logo on a CDN, an
# injected <img> beacon). Inline script and style stay allowed: Swagger UI and Redoc start
# from inline snippets.
PAGE_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline'; "
               "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
               "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
               "frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'")
_ALWAYS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    # Door-plate and tracking links carry their token in the path: never pass it on.
    (b"referrer-policy", b"no-referrer"),
)


class SecurityHeaders:
    """ASGI middleware (pure, so live streams pass through unbuffered)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [h for h in _ALWAYS if h[0] not in present]
                html = any(n.lower() == b"content-type" and v.startswith(b"text/html")
                           for n, v in headers)
                if html and b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", PAGE_POLICY.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
