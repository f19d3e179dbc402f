"""Device commands: publish on `cmd`, track the `cmd/ack`, time out the unanswered."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

import orjson

from devices import topics
from devices.base import CommandAck
from devices.catalogue import CATALOGUE
from gateway.envelope import Envelope
from gateway.storage.records import Twin
from gateway.storage.sqlite import SqliteTx

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes], None]


class CommandError(ValueError):
    """A command the device's kind does not understand."""


class Commands:
    """Sends commands and is the pipeline hook that records their acknowledgements."""

    def __init__(self, publish: Publish, timeout_s: float) -> None:
        self._publish = publish
        self._timeout = timeout_s

    def send(self, tx: SqliteTx, *, device_id: str, kind: str, name: str,
             args: dict[str, Any], actor: str, now: float) -> str:
        """Record and publish a command; returns its id (the device echoes it in its ack)."""
        kind_decl = CATALOGUE.get(kind)
        if kind_decl is None or name not in kind_decl.commands:
            known = kind_decl.commands if kind_decl else ()
            raise CommandError(f"a {kind} understands {list(known)}, not {name!r}")
        command_id = f"cmd-{secrets.token_hex(6)}"
        tx.connection.execute(
            "INSERT INTO commands (id, device_id, name, params, actor, state, created_at, due_at)"
            " VALUES (?, ?, ?, ?, ?, 'sent', ?, ?)",
            (command_id, device_id, name, orjson.dumps(args).decode(), actor, now,
             now + self._timeout),
        )
        body = {"id": command_id, "name": name, "args": args}
        self._publish(topics.command_topic(kind, device_id), orjson.dumps(body))
        return command_id

    # -- PipelineHook --------------------------------------------------------------------

    def on_message(self, env: Envelope, twin: Twin, tx: SqliteTx) -> None:
        """A `cmd/ack` settles its command (late acks after a timeout are recorded too)."""
        if env.channel != "cmd_ack":
            return
        ack = env.payload
        assert isinstance(ack, CommandAck)
        result = {"result": ack.result, "error": ack.error}
        updated = tx.connection.execute(
            "UPDATE commands SET state = ?, done_at = ?, result = ? WHERE id = ? AND device_id = ?",
            ("succeeded" if ack.ok else "failed", env.received_at,
             orjson.dumps(result).decode(), ack.id, env.device_id),
        ).rowcount
        if not updated:
            log.info("ack for an unknown command", extra={"device_id": env.device_id,
                                                          "command": ack.id})

    def on_presence(self, twin: Twin, kind: str, now: float, tx: SqliteTx) -> None:
        """Presence does not concern commands."""

    def expire(self, now: float, tx: SqliteTx) -> None:
        """Scheduled job: commands past their due time without an ack time out."""
        tx.connection.execute(
            "UPDATE commands SET state = 'timeout', done_at = ? WHERE state = 'sent'"
            " AND due_at <= ?", (now, now))
