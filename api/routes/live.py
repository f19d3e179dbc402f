"""WebSocket `/ws`: the live alert and ticket stream, filtered by the caller's role.

The socket is authenticated once, by an access token; it then lives as long as the sign-in
session does (an access-token refresh does not touch it). The session is re-checked before
every event and every `SESSION_CHECK_S`: logout, password change, account disable or the
session's limits close the socket with code 4401.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status
from fastapi.exceptions import HTTPException

from api.access import linked_residents
from api.deps import authenticate
from api.security import SessionError
from api.stream import Event, Subscriber
from gateway.users import User

router = APIRouter(tags=["live"])

SESSION_CHECK_S = 15.0
SESSION_ENDED = 4401  # application close code: sign in (or refresh) and reconnect


def event_filter(gw: Any, user: User) -> Any:
    """Which events a user may receive."""
    if user.role in ("admin", "operator"):
        return lambda e: True
    if user.role == "grid_worker":
        return lambda e: e["grid"] == user.grid or e.get("assignee") == user.username
    if user.role == "family":
        elders = frozenset(linked_residents(gw, user))
        return lambda e: e["resident_id"] is not None and e["resident_id"] in elders
    return lambda e: False


BEARER = "bearer"


@router.websocket("/ws")
async def live(websocket: WebSocket, token: str = "") -> None:
    """Authenticate, then receive JSON events as they commit. The access token goes in the
    subprotocols (`new WebSocket(url, ["bearer", token])`, as the console does), which keeps
    it out of URLs and so out of proxies' access logs; `?token=` still works for clients
    that cannot set subprotocols."""
    app = websocket.app
    offered = list(websocket.scope.get("subprotocols") or [])
    chosen = None
    if len(offered) == 2 and offered[0] == BEARER:
        token, chosen = offered[1], BEARER
    try:
        user, session = authenticate(token, app.state.tokens, app.state.users,
                                     app.state.sessions)
    except HTTPException:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    await websocket.accept(subprotocol=chosen)
    gw = app.state.gateway
    subscriber = Subscriber(event_filter(gw, user), asyncio.get_running_loop())
    app.state.broadcaster.subscribe(subscriber)
    await websocket.send_json({"type": "hello", "user": user.username, "role": user.role,
                               "session_expires_at": session.expires_at})
    # Read the socket too: a closed tab must end this handler now, not at the next event.
    receiver = asyncio.ensure_future(websocket.receive())
    getter: asyncio.Future[Event] | None = None
    try:
        while True:
            getter = asyncio.ensure_future(subscriber.queue.get())
            done, _ = await asyncio.wait({getter, receiver}, timeout=SESSION_CHECK_S,
                                         return_when=asyncio.FIRST_COMPLETED)
            try:
                app.state.sessions.check(session.id, use=False)
            except SessionError as exc:
                await websocket.close(code=SESSION_ENDED, reason=exc.reason[:120])
                return
            if receiver in done:
                if receiver.result()["type"] == "websocket.disconnect":
                    return
                receiver = asyncio.ensure_future(websocket.receive())  # ignore client chatter
            if getter in done:
                event = getter.result()
                await websocket.send_json({k: v for k, v in event.items()
                                           if k not in ("grid", "assignee", "resident_id")})
            else:
                getter.cancel()
    except WebSocketDisconnect:
        pass
    finally:
        for task in (getter, receiver):
            if task is not None and not task.done():
                task.cancel()
        app.state.broadcaster.unsubscribe(subscriber)
