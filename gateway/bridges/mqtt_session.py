"""A small asyncio MQTT 3.1.1 client: one per bridged device, logged in with its credentials.

The bridge holds thousands of watches; a paho client per watch would be a thread per watch.
This client lives on the bridge's event loop and does what a device does: CONNECT with its
own username, password and client id and an `offline` will, QoS 1 PUBLISH awaiting PUBACK,
one SUBSCRIBE, keep-alive pings, and QoS 1 delivery of what is sent to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from ssl import SSLContext

from mqttwire.codec import (
    CONNACK,
    DISCONNECT_PACKET,
    PINGREQ_PACKET,
    PUBACK,
    SUBACK,
    ConnectOptions,
    ProtocolError,
    RefusedError,
    StreamParser,
    connect_packet,
    parse_connack,
    parse_suback,
    puback_packets,
    publish_packet,
    subscribe_packet,
)

OnMessage = Callable[[str, bytes], None]


class MqttSessionError(Exception):
    """The broker refused, dropped or did not answer this device's session."""


class MqttSession:
    """One device's MQTT connection on the running event loop."""

    def __init__(self, host: str, port: int, *, username: str, password: str | None,
                 client_id: str, on_message: OnMessage, keepalive_s: int = 60,
                 timeout_s: float = 10.0, ssl: SSLContext | None = None) -> None:
        self._host, self._port = host, port
        self._ssl = ssl
        self._opts = (username, password, client_id, keepalive_s)
        self._on_message = on_message
        self._timeout = timeout_s
        self._ids = itertools.cycle(range(1, 65_536))
        self._waiting: dict[int, asyncio.Future[int]] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.closed = asyncio.Event()

    async def connect(self, will: tuple[str, bytes] | None = None) -> None:
        """Log in (clean session) or raise MqttSessionError / RefusedError."""
        username, password, client_id, keepalive = self._opts
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self._host, self._port, ssl=self._ssl), self._timeout)
        except (OSError, TimeoutError) as exc:
            raise MqttSessionError(f"cannot reach the broker: {exc}") from exc
        self._writer.write(connect_packet(ConnectOptions(
            client_id=client_id, keepalive_s=keepalive, v5=False, username=username,
            password=password, clean_start=True, will=will)))
        connack: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting[-CONNACK] = connack
        self._tasks.append(asyncio.create_task(self._read()))
        code = await self._answer(connack, "CONNACK")
        if code != 0:
            await self.close()
            raise RefusedError("login", code)
        self._tasks.append(asyncio.create_task(self._ping(keepalive)))

    async def subscribe(self, filters: list[str]) -> None:
        """QoS 1 subscriptions; a refused one raises RefusedError."""
        pid = next(self._ids)
        done = self._expect(pid)
        self._send(subscribe_packet(pid, filters, False))
        code = await self._answer(done, "SUBACK")
        if code >= 0x80:
            raise RefusedError("subscription", code)

    async def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """QoS 1; returns once the broker acknowledged it."""
        pid = next(self._ids)
        done = self._expect(pid)
        self._send(publish_packet(topic, payload, qos=1, retain=retain, packet_id=pid,
                                  v5=False))
        await self._answer(done, "PUBACK")

    async def close(self) -> None:
        """DISCONNECT (no will) and stop."""
        if self._writer is not None and not self._writer.is_closing():
            with contextlib.suppress(OSError):
                self._writer.write(DISCONNECT_PACKET)
                self._writer.close()
        mine = [t for t in self._tasks if t is not asyncio.current_task()]
        for task in mine:
            task.cancel()
        # Finished here, not when the loop that ran them is closed and collected (their
        # `finally` then ran in a dead loop: an unraisable GeneratorExit in the tests).
        await asyncio.gather(*mine, return_exceptions=True)
        self._fail_waiting()
        self.closed.set()

    # -- internals -----------------------------------------------------------------------

    def _expect(self, pid: int) -> asyncio.Future[int]:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting[pid] = future
        return future

    async def _answer(self, future: asyncio.Future[int], what: str) -> int:
        try:
            return await asyncio.wait_for(future, self._timeout)
        except TimeoutError as exc:
            raise MqttSessionError(f"no {what} from the broker") from exc

    def _send(self, data: bytes) -> None:
        if self._writer is None or self._writer.is_closing():
            raise MqttSessionError("the session is closed")
        self._writer.write(data)

    def _settle(self, key: int, code: int) -> None:
        future = self._waiting.pop(key, None)
        if future is not None and not future.done():
            future.set_result(code)

    def _fail_waiting(self) -> None:
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(MqttSessionError("connection lost"))
        self._waiting.clear()

    async def _read(self) -> None:
        assert self._reader is not None
        parser = StreamParser(v5=False)
        try:
            while data := await self._reader.read(65_536):
                publishes, controls = parser.feed(data)
                acks = []
                for topic, payload, qos, mid, _dup, _retain in publishes:
                    if qos:
                        acks.append(mid)
                    self._on_message(topic.decode("utf-8", "replace"), payload)
                if acks:
                    self._send(puback_packets(acks))
                for ptype, body in controls:
                    if ptype == CONNACK:
                        self._settle(-CONNACK, parse_connack(body, False).code)
                    elif ptype in (PUBACK, SUBACK) and len(body) >= 2:
                        pid = (body[0] << 8) | body[1]
                        code = parse_suback(body, False)[1][0] if ptype == SUBACK else 0
                        self._settle(pid, code)
        except (OSError, ProtocolError, MqttSessionError):
            pass  # the connection is gone either way: the owner sees `closed`
        finally:
            self._fail_waiting()
            self.closed.set()

    async def _ping(self, keepalive: int) -> None:
        while True:
            await asyncio.sleep(keepalive * 0.75)
            try:
                self._send(PINGREQ_PACKET)
            except MqttSessionError:
                return
