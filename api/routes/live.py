"""WebSocket `/ws`: the live alert and ticket stream, filtered by the caller's role."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status
from fastapi.exceptions import HTTPException

from api.access import linked_residents
from api.deps import user_from_token
from api.stream import Event, Subscriber
from gateway.users import User

router = APIRouter(tags=["live"])


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


@router.websocket("/ws")
async def live(websocket: WebSocket, token: str = "") -> None:
    """Authenticate with `?token=<access token>`, then receive JSON events as they commit."""
    app = websocket.app
    try:
        user = user_from_token(token, app.state.tokens, app.state.users)
    except HTTPException:
        await websocket.close(code=status.WS_1008_POLICY_VIOLATION)
        return
    await websocket.accept()
    gw = app.state.gateway
    subscriber = Subscriber(event_filter(gw, user), asyncio.get_running_loop())
    app.state.broadcaster.subscribe(subscriber)
    await websocket.send_json({"type": "hello", "user": user.username, "role": user.role})
    # Read the socket too: a closed tab must end this handler now, not at the next event.
    receiver = asyncio.ensure_future(websocket.receive())
    getter: asyncio.Future[Event] | None = None
    try:
        while True:
            getter = asyncio.ensure_future(subscriber.queue.get())
            done, _ = await asyncio.wait({getter, receiver},
                                         return_when=asyncio.FIRST_COMPLETED)
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
