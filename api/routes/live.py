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
    try:
        while True:
            event: Event = await subscriber.queue.get()
            public = {k: v for k, v in event.items() if k not in ("grid", "assignee",
                                                                 "resident_id")}
            await websocket.send_json(public)
    except WebSocketDisconnect:
        pass
    finally:
        app.state.broadcaster.unsubscribe(subscriber)
