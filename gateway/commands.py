"""Device commands: validated against the kind's catalogue, sent after commit, expiring.

A command is recorded, and published only once its transaction has committed. It carries
`expires_at` (in the payload, and as the MQTT 5 message-expiry interval so a broker never
delivers it late); it ends `succeeded` or `failed` by the device's `cmd/ack`, `failed` at once
when the broker refuses the publish (PUBACK reason code), or `timeout` when it expires. An
ack that comes after the end is recorded as late and never changes the outcome.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any, Protocol

import orjson
from pydantic import ValidationError

from devices import topics
from devices.base import CommandAck
from devices.catalogue import CATALOGUE
from gateway.envelope import Envelope
from gateway.storage.records import Twin
from gateway.storage.tx import StoreTx

log = logging.getLogger(__name__)

REFUSED = 0x80  # PUBACK reason codes from here up are refusals
_REASONS = {0x80: "unspecified error", 0x83: "implementation specific error",
            0x87: "not authorized", 0x90: "topic name invalid", 0x91: "packet id in use",
            0x97: "quota exceeded", 0x99: "payload format invalid"}


class Publisher(Protocol):
    """Publishes a QoS 1 message that must not be delivered after `expires_at`."""

    def __call__(self, topic: str, payload: bytes, *, expires_at: float,
                 on_result: Callable[[int], None]) -> None:
        """Send it; `on_result(code)` gets the broker's PUBACK reason (-1: expired unsent)."""
        ...


RunTask = Callable[[str, Callable[[float, StoreTx], None]], None]


class CommandError(ValueError):
    """A command its kind does not declare, or arguments its model refuses."""


class CommandPendingError(CommandError):
    """The same command is still on its way to the device (its answer or expiry comes first)."""


class Commands:
    """Sends commands and is the pipeline hook that records their acknowledgements."""

    def __init__(self, publish: Publisher, run_task: RunTask) -> None:
        self._publish = publish
        self._run_task = run_task  # a job on the pipeline thread, in its own transaction
        self._queued: list[tuple[str, str, bytes, float]] = []

    def send(self, tx: StoreTx, *, device_id: str, kind: str, name: str,
             args: dict[str, Any], actor: str, now: float,
             ttl_s: float | None = None) -> str:
        """Validate and record a command; it is published once `tx` commits. Returns its id."""
        kind_decl = CATALOGUE.get(kind)
        spec = kind_decl.command(name) if kind_decl else None
        if spec is None:
            known = kind_decl.commands if kind_decl else ()
            article = "an" if kind[:1] in "aeiou" else "a"
            raise CommandError(f"{article} {kind} understands {list(known)}, not {name!r}")
        try:
            checked = spec.args.model_validate(args).model_dump(mode="json")
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'args'}: {e['msg']}"
                                 for e in exc.errors(include_url=False))
            raise CommandError(f"{name}: {problems}") from exc
        ttl = spec.ttl_s if ttl_s is None else ttl_s
        if not 0 < ttl <= spec.max_ttl_s:
            raise CommandError(f"{name}: ttl_s must be in (0, {spec.max_ttl_s:g}] seconds")
        # One at a time per device and command (and per compartment or door, for those that
        # name one): fifty `locate_now` in 0.3 s let a vendor follow a band live (red team,
        # session 31), and a device gains nothing from them.
        for waiting, sent in tx.commands.pending(device_id, name, now):
            if spec.per is None or sent.get(spec.per) == checked.get(spec.per):
                what = f" for {spec.per} {checked[spec.per]!r}" if spec.per else ""
                raise CommandPendingError(f"{name} {waiting}{what} is still on its way to "
                                          f"{device_id}: wait for its answer or its expiry")
        command_id = f"cmd-{secrets.token_hex(6)}"
        expires_at = now + ttl
        tx.commands.record(command_id=command_id, device_id=device_id, name=name, args=checked,
                           actor=actor, now=now, expires_at=expires_at)
        body = {"id": command_id, "name": name, "args": checked,
                "expires_at": round(expires_at * 1000)}
        self._queued.append((command_id, topics.command_topic(kind, device_id),
                             orjson.dumps(body), expires_at))
        return command_id

    # -- after the transaction ------------------------------------------------------------

    def committed(self) -> None:
        """The commands are recorded: send them."""
        queued, self._queued = self._queued, []
        for command_id, topic, payload, expires_at in queued:
            self._publish(topic, payload, expires_at=expires_at,
                          on_result=self._on_result(command_id))

    def rolled_back(self) -> None:
        """Nothing was recorded: nothing is sent."""
        self._queued.clear()

    def _on_result(self, command_id: str) -> Callable[[int], None]:
        def result(code: int) -> None:  # on the MQTT network thread
            if code < 0:
                self._run_task("command_expired", lambda now, tx: _finish(
                    tx, command_id, "timeout", now, {"error": "expired before it was sent"}))
            elif code >= REFUSED:
                why = f"broker refused it: {_REASONS.get(code, 'refused')} (0x{code:02x})"
                self._run_task("command_refused", lambda now, tx: _finish(
                    tx, command_id, "failed", now, {"error": why}))
        return result

    # -- PipelineHook --------------------------------------------------------------------

    def on_message(self, env: Envelope, twin: Twin, tx: StoreTx) -> None:
        """A `cmd/ack` settles its command; one after the end is kept as late."""
        if env.channel != "cmd_ack":
            return
        ack = env.payload
        assert isinstance(ack, CommandAck)
        result = {"result": ack.result, "error": ack.error}
        if tx.commands.settle(ack.id, env.device_id, ok=ack.ok, at=env.received_at,
                              result=result):
            return
        late = tx.commands.late(ack.id, env.device_id, at=env.received_at, result=result)
        log.info("late ack" if late else "ack for an unknown command",
                 extra={"device_id": env.device_id, "command": ack.id})

    def on_presence(self, twin: Twin, kind: str, now: float, tx: StoreTx) -> None:
        """Presence does not concern commands."""

    def expire(self, now: float, tx: StoreTx) -> None:
        """Scheduled job: commands past their expiry without an ack time out."""
        tx.commands.expire(now)


def _finish(tx: StoreTx, command_id: str, state: str, now: float,
            result: dict[str, Any]) -> None:
    tx.commands.finish(command_id, state, now, result)
