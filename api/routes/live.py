"""WebSocket `/ws`: the live alert and ticket stream, filtered by the caller's role.

The socket is authenticated once, by an access token; it then lives as long as the sign-in
session does (an access-token refresh does not touch it). The session is re-checked before
every event and every `SESSION_CHECK_S`: logout, password change, account disable or the
session's limits close the socket with code 4401. The check is shared by the sockets of one
session for `SHARED_CHECK_S`, and an account holds at most `MAX_SOCKETS` of its role at once
(4429 beyond): red team round 4 opened 9,000 sockets with one family login, and each event
of its elder then made 9,000 database reads on the event loop — the API froze for 4 s.
"""

from __future__ import annotations

import asyncio
import time
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
TOO_MANY = 4429  # application close code: this account has its most live sockets open
SHARED_CHECK_S = 1.0
# A control-room PC may keep a console and a wall screen per operator account; a family
# member a phone and a tablet or two.
MAX_SOCKETS = {"admin": 32, "operator": 32}
MAX_SOCKETS_OTHERS = 8


class LiveSockets:
    """Live sockets per account, and each session's latest check (shared by its sockets)."""

    def __init__(self) -> None:
        self.open: dict[str, int] = {}
        self._checks: dict[str, tuple[float, SessionError | None]] = {}

    def admit(self, user: User) -> bool:
        """Count one more socket for the account, unless it has its most."""
        held = self.open.get(user.username, 0)
        if held >= MAX_SOCKETS.get(user.role, MAX_SOCKETS_OTHERS):
            return False
        self.open[user.username] = held + 1
        return True

    def release(self, user: User) -> None:
        """One socket of the account closed."""
        left = self.open.get(user.username, 0) - 1
        if left > 0:
            self.open[user.username] = left
        else:
            self.open.pop(user.username, None)

    def check(self, sessions: Any, session_id: str) -> SessionError | None:
        """Why the session has ended, or None; asked of the store at most every
        SHARED_CHECK_S per session, whatever the number of its sockets."""
        now = time.monotonic()
        hit = self._checks.get(session_id)
        if hit is not None and now - hit[0] < SHARED_CHECK_S:
            return hit[1]
        try:
            sessions.check(session_id, use=False)
            found: SessionError | None = None
        except SessionError as exc:
            found = exc
        if len(self._checks) > 10_000:
            self._checks.clear()
        self._checks[session_id] = (now, found)
        return found


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
    sockets: LiveSockets = app.state.live_sockets
    if not sockets.admit(user):
        # Accepted first: a close before the handshake reaches the client as HTTP 403.
        await websocket.accept(subprotocol=chosen)
        await websocket.close(code=TOO_MANY, reason="too many live connections for this account")
        return
    try:
        await _serve(websocket, app, user, session, chosen)
    finally:
        sockets.release(user)


async def _serve(websocket: WebSocket, app: Any, user: User, session: Any,
                 chosen: str | None) -> None:
    """The accepted socket's life: events out, the session watched."""
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
            ended = app.state.live_sockets.check(app.state.sessions, session.id)
            if ended is not None:
                await websocket.close(code=SESSION_ENDED, reason=ended.reason[:120])
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
