"""`scgw bridge watch3g`: an asyncio TCP server for 3G-protocol watches, speaking MQTT as each.

A watch connects and sends frames. Its first frame names it; the id must be a registered,
active wristband with codec `watch3g`, or the connection is closed. The bridge then logs in to
the broker as that watch (its own username, password and client id, an `offline` will), so the
broker ACL, the gateway's dedup, rules and dead letters treat it like any MQTT device. Each
frame becomes our v1 JSON on the watch's own topics; `LK` is answered at once, `AL` once the
gateway has confirmed the alarm on `…/event/ack` (or at once when it carried no alarm bit we
use); a `locate_now` command becomes `CR`, and the fix that follows is its `cmd/ack`.

Bad input never stops the server: junk bytes, a wrong length field, a frame longer than the
limit, an unknown id, a refused login, silence — each closes that one connection, with a
counter and a log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import resource
import ssl as ssl_module
import threading
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import orjson

from devices import topics
from devices.vendors import watch3g
from gateway.bridges.mqtt_session import MqttSession, MqttSessionError
from gateway.clock import Clock
from gateway.settings import BridgeSettings
from gateway.storage.records import DeviceRecord
from mqttwire.codec import RefusedError

log = logging.getLogger(__name__)
Lookup = Callable[[str], DeviceRecord | None]
KIND = "wristband"
CODEC = "watch3g"


@dataclass(eq=False)
class _Conn:
    """One TCP connection, before and after its watch is known."""

    writer: asyncio.StreamWriter
    opened_at: float
    last_at: float
    reader: watch3g.FrameReader
    device_id: str | None = None
    maker: str = "SG"
    mqtt: MqttSession | None = None
    locate: tuple[str, int] | None = None  # (command id, expires_at ms) awaiting a fix
    alarms: dict[int, str] = field(default_factory=dict)  # AL ts ms → maker, until confirmed
    # When each AL body was first received: a watch without a clock resends the same body
    # until answered, and its stand-in time must stay the first one, or every resend is
    # another event. Once answered (on a live TCP connection the answer arrives), the same
    # body again is another press: it gets a time of its own (red team round 3b: a second
    # press was stored as the first one's resend, and answered, and never paged).
    alarm_first_ms: dict[tuple[str, ...], int] = field(default_factory=dict)
    closing: str | None = None  # why the bridge closes it (counted once)
    address: str = ""  # the peer's IP address


class Watch3gBridge:
    """The TCP server and every watch's MQTT session, on one event loop."""

    def __init__(self, settings: BridgeSettings, *, broker_host: str, broker_port: int,
                 lookup: Lookup, credentials: dict[str, str], clock: Clock,
                 ssl: ssl_module.SSLContext | None = None) -> None:
        self._settings = settings
        self._broker = (broker_host, broker_port)
        self._ssl = ssl
        self._lookup = lookup
        self._credentials = credentials
        self._clock = clock
        self.counters: Counter[str] = Counter()
        self._conns: set[_Conn] = set()
        self._watches: dict[str, _Conn] = {}
        self._server: asyncio.base_events.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._sweep_task: asyncio.Task[None] | None = None
        self._networks = [ipaddress.ip_network(n, strict=False)
                          for n in settings.allowed_networks]
        self.capacity = _capacity(settings.max_connections)
        # Connections that have not named their watch yet, oldest first. No cap per address:
        # watches behind a carrier's NAT share one.
        self._unnamed: dict[_Conn, None] = {}

    # -- running -------------------------------------------------------------------------

    async def serve(self, host: str, port: int) -> int:
        """Start listening on the running loop; returns the bound port."""
        self._loop = asyncio.get_running_loop()
        self._server = await asyncio.start_server(self._handle, host, port, limit=65_536,
                                                  backlog=4096)
        self._sweep_task = self._loop.create_task(self._sweeper())
        return int(self._server.sockets[0].getsockname()[1])

    def start(self, host: str, port: int) -> int:
        """Run on an event loop in a thread of its own; returns the bound port."""
        started = threading.Event()
        result: list[int | BaseException] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                result.append(loop.run_until_complete(self.serve(host, port)))
            except OSError as exc:
                result.append(exc)
            started.set()
            if isinstance(result[0], int):
                loop.run_forever()
            # What still runs (a connection's handler, a session's reader) ends here, in a live
            # loop: left to the collector, its `finally` ran in a closed one (an unraisable
            # error in the test suite).
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:  # bounded: a handler's goodbye to a broker that is gone waits no more
                loop.run_until_complete(asyncio.wait(pending, timeout=5))
            loop.close()

        self._thread = threading.Thread(target=main, name="scgw-bridge-3g", daemon=True)
        self._thread.start()
        started.wait(10)
        if not result or isinstance(result[0], BaseException):
            raise OSError(f"bridge cannot listen on {host}:{port}: {result[0] if result else ''}")
        return int(result[0])

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 10.0) -> Any:
        """Run a coroutine on the bridge's loop from another thread (tests, CLI)."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def stop(self) -> None:
        """Close every connection and session, then the loop."""
        if self._loop is None:
            return
        with contextlib.suppress(TimeoutError, RuntimeError):
            self.call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._loop = None

    async def _shutdown(self) -> None:
        if self._sweep_task is not None:
            self._sweep_task.cancel()
        if self._server is not None:
            self._server.close()
        for conn in list(self._conns):
            self._close(conn, "shutdown")
        for conn in list(self._watches.values()):
            await self._end_session(conn)

    @property
    def connections(self) -> int:
        """Open TCP connections."""
        return len(self._conns)

    @property
    def watches(self) -> tuple[str, ...]:
        """Ids of the watches with a live session."""
        return tuple(self._watches)

    # -- silence -------------------------------------------------------------------------

    async def sweep(self) -> int:
        """Close connections silent past their limit (by the injected clock); how many."""
        now = self._clock.time()
        closed = 0
        for conn in list(self._conns):
            limit = self._settings.first_frame_s if conn.device_id is None else \
                self._settings.idle_s
            if now - conn.last_at > limit:
                self._close(conn, "silent" if conn.device_id is None else "idle")
                closed += 1
        return closed

    async def _sweeper(self) -> None:
        every = max(0.05, min(self._settings.first_frame_s, self._settings.idle_s) / 4)
        while True:
            await asyncio.sleep(every)
            await self.sweep()

    def _close(self, conn: _Conn, reason: str) -> None:
        if conn.closing is None:
            conn.closing = reason
            self.counters[f"closed_{reason}"] += 1
            if reason not in ("shutdown", "watch_closed"):
                log.info("3g connection closed", extra={"reason": reason,
                                                        "device_id": conn.device_id})
        conn.writer.close()

    # -- one connection ------------------------------------------------------------------

    def _admit(self, conn: _Conn) -> str | None:
        """Why a new connection is refused, or None. A full bridge sheds the oldest connection
        that has not named its watch yet rather than the newcomer: idle connections held open
        by one address kept every watch out, and their SOS with them (red team, session 31)."""
        if self._networks and not _inside(conn.address, self._networks):
            return "not_allowed"
        if len(self._conns) >= self.capacity:
            if not self._unnamed:
                return "over_capacity"
            oldest = next(iter(self._unnamed))
            self._named(oldest)  # no longer a candidate, even before its task ends
            self._close(oldest, "shed_unnamed")
        return None

    def _named(self, conn: _Conn) -> None:
        self._unnamed.pop(conn, None)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        now = self._clock.time()
        conn = _Conn(writer, now, now, watch3g.FrameReader(self._settings.max_frame_bytes))
        peer = writer.get_extra_info("peername")
        conn.address = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        refusal = self._admit(conn)
        if refusal is not None:
            self._close(conn, refusal)
            return
        self._conns.add(conn)
        self._unnamed[conn] = None
        self.counters["connections"] += 1
        try:
            while conn.closing is None:
                try:
                    data = await reader.read(4096)
                except OSError:
                    data = b""
                if not data:
                    self._close(conn, "watch_closed")
                    break
                conn.last_at = self._clock.time()
                try:
                    frames = conn.reader.feed(data)
                except watch3g.FrameError as exc:
                    self._close(conn, exc.reason)
                    log.info("3g bad frame", extra={"reason": exc.reason, "detail": str(exc)})
                    break
                for frame in frames:
                    if not await self._on_frame(conn, frame):
                        break
        finally:
            self._conns.discard(conn)
            self._named(conn)  # forgotten as unnamed, whichever way it ended
            writer.close()
            await self._end_session(conn)

    async def _on_frame(self, conn: _Conn, frame: watch3g.Frame) -> bool:
        if conn.device_id is None:
            if not await self._authenticate(conn, frame):
                return False
        elif frame.device_id != conn.device_id:
            self._close(conn, "id_changed")
            return False
        self.counters["frames"] += 1
        key = frame.keyword.upper()
        if key == "LK":
            self._reply(conn, "LK")
        elif key == "CR":
            self.counters["locate_answered"] += 1
        now_ms = round(self._clock.time() * 1000)
        if key == "AL":
            if len(conn.alarm_first_ms) >= 64:
                conn.alarm_first_ms.clear()  # bounded: a watch sending ever-new bodies
            now_ms = conn.alarm_first_ms.setdefault(frame.values, now_ms)
        messages = watch3g.to_contract(frame, now_ms)
        if not messages and key not in ("LK", "CR"):
            self.counters["frames_unused"] += 1  # voice, pictures, settings answers …
        events = [b for c, b in messages if c == "event"] if key == "AL" else []
        if events:
            # Before publishing: the confirmation can arrive while a publish is awaited
            # (a resend's comes at once), and an answer found no alarm waiting for it.
            conn.alarms[events[0]["ts"]] = conn.maker  # answered on confirmation
        try:
            for channel, body in messages:
                await self._publish(conn, channel, body)
            if key in ("UD", "UD2", "AL"):
                await self._settle_locate(conn, messages)
        except (MqttSessionError, OSError):
            self._close(conn, "broker_lost")
            return False
        if key == "AL" and not events:
            if watch3g.readable_alarm(frame):
                self._reply(conn, "AL")  # no alarm bit set: nothing to confirm
            else:
                # Unreadable: unanswered, so the watch sends it again (each copy is a dead
                # letter its vendor sees) instead of believing an alarm arrived.
                self.counters["alarms_unreadable"] += 1
        return True

    async def _authenticate(self, conn: _Conn, frame: watch3g.Frame) -> bool:
        device = self._lookup(frame.device_id)
        if (device is None or device.status != "active" or device.kind != KIND
                or device.codec != CODEC):
            self._close(conn, "unknown_device")
            return False
        conn.device_id = frame.device_id
        conn.maker = frame.maker
        self._named(conn)
        old = self._watches.get(frame.device_id)
        if old is not None:  # the watch reconnected: its old connection is stale
            if old.address != conn.address:
                # Also what someone speaking as the watch looks like: the protocol has no
                # secret (keep the port on the private APN: `bridge.allowed_networks`).
                self.counters["replaced_from_another_address"] += 1
                log.warning("3g watch reconnected from another address",
                            extra={"device_id": frame.device_id, "address": conn.address,
                                   "previous": old.address})
            self._close(old, "replaced")
            await self._end_session(old)
        host, port = self._broker
        session = MqttSession(host, port, username=frame.device_id,
                              password=self._credentials.get(frame.device_id),
                              client_id=frame.device_id, ssl=self._ssl,
                              on_message=lambda t, p: self._on_mqtt(conn, t, p))
        status = topics.topic(KIND, frame.device_id, "status")
        try:
            await session.connect(will=(status, b"offline"))
            await session.subscribe([topics.command_topic(KIND, frame.device_id),
                                     topics.topic(KIND, frame.device_id, "event/ack")])
            conn.mqtt = session
            await session.publish(status, b"online", retain=True)
        except (RefusedError, MqttSessionError) as exc:
            await session.close()
            self._close(conn, "mqtt_refused")
            log.warning("3g watch refused by the broker",
                        extra={"device_id": frame.device_id, "detail": str(exc)})
            return False
        self._watches[frame.device_id] = conn
        self.counters["watches_logged_in"] += 1
        return True

    async def _end_session(self, conn: _Conn) -> None:
        session, conn.mqtt = conn.mqtt, None
        if conn.device_id is not None and self._watches.get(conn.device_id) is conn:
            del self._watches[conn.device_id]
        if session is not None:
            with contextlib.suppress(MqttSessionError, OSError):
                await session.publish(topics.topic(KIND, conn.device_id or "", "status"),
                                      b"offline", retain=True)
            await session.close()

    # -- MQTT both ways ------------------------------------------------------------------

    async def _publish(self, conn: _Conn, channel: str, body: dict[str, Any]) -> None:
        if conn.mqtt is None:
            raise MqttSessionError("no session")
        suffix = "cmd/ack" if channel == "cmd_ack" else channel
        await conn.mqtt.publish(topics.topic(KIND, conn.device_id or "", suffix),
                                orjson.dumps(body))
        self.counters["published"] += 1

    def _reply(self, conn: _Conn, content: str, maker: str | None = None) -> None:
        if conn.closing is None and conn.device_id is not None:
            conn.writer.write(watch3g.encode(maker or conn.maker, conn.device_id, content))

    def _on_mqtt(self, conn: _Conn, topic: str, payload: bytes) -> None:
        try:
            body = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return
        if not isinstance(body, dict):
            return
        if topic.endswith("/event/ack"):
            ts = body.get("ts")
            maker = conn.alarms.pop(ts, None)  # type: ignore[arg-type]
            if maker is not None:
                self.counters["alarms_confirmed"] += 1  # before the answer a test may read
                conn.alarm_first_ms = {k: v for k, v in conn.alarm_first_ms.items() if v != ts}
                self._reply(conn, "AL", maker)
        elif topic.endswith("/cmd"):
            asyncio.get_running_loop().create_task(self._command(conn, body))

    async def _command(self, conn: _Conn, body: dict[str, Any]) -> None:
        command_id, name = str(body.get("id", "")), body.get("name")
        expires = body.get("expires_at")
        now_ms = round(self._clock.time() * 1000)
        if isinstance(expires, int) and expires <= now_ms:
            self.counters["commands_expired"] += 1
            return
        if name == "locate_now":
            conn.locate = (command_id, expires if isinstance(expires, int) else now_ms + 120_000)
            self._reply(conn, "CR")
            self.counters["locate_sent"] += 1
            return
        with contextlib.suppress(MqttSessionError, OSError):
            await self._publish(conn, "cmd_ack", {
                "id": command_id, "ok": False, "ts": now_ms,
                "error": f"{name!r} cannot be sent over the 3G watch protocol"})

    async def _settle_locate(self, conn: _Conn, messages: list[tuple[str, dict[str, Any]]],
                             ) -> None:
        """The first fix after a `CR` answers the `locate_now` command."""
        if conn.locate is None:
            return
        fix = next((b["location"] for c, b in messages if c == "telemetry" and "location" in b),
                   None)
        if fix is None:
            return
        command_id, expires = conn.locate
        conn.locate = None
        now_ms = round(self._clock.time() * 1000)
        if now_ms >= expires:
            return
        await self._publish(conn, "cmd_ack", {"id": command_id, "ok": True, "ts": now_ms,
                                              "result": {"location": fix}})
        self.counters["locate_done"] += 1


def _inside(address: str, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def _capacity(configured: int) -> int:
    """Connections the process can hold: each watch takes a TCP connection and an MQTT
    session, and an accept that finds no file descriptor left fails for everyone. The soft
    open-file limit is raised to the hard one first."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or hard > soft):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
    if soft == resource.RLIM_INFINITY:
        return configured
    fits = max(1, (soft - 256) // 2)
    if fits < configured:
        log.warning("bridge.max_connections lowered to what the open-file limit allows",
                    extra={"configured": configured, "allowed": fits, "nofile": soft})
    return min(configured, fits)
