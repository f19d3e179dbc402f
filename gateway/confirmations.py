"""Telling devices what became of their messages: urgent events confirmed, refusals explained.

An urgent event (SOS, fall, forced door …) is confirmed on `…/event/ack` once the transaction
that stored it has committed — as alarm receiving centres acknowledge an alarm (SIA DC-09):
the device retries until it sees the confirmation, so an event a crashing broker loses on the
way is sent again, and dedup keeps the retries single. A retry of an event already stored is
confirmed again (the first confirmation may be what was lost). A refused message's reason goes
to the sender's own `…/errors` topic (QoS 0, a few a second at most per device), so a vendor
sees it without asking the operator.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import orjson

from devices import topics
from devices.base import clock_hint
from devices.catalogue import CATALOGUE
from devices.codec import object_members
from gateway.envelope import Envelope, RawMessage
from gateway.rejections import RejectError
from gateway.storage.records import Twin
from gateway.storage.tx import StoreTx
from gateway.urgency import confirmed_event

log = logging.getLogger(__name__)

Publish = Callable[[str, bytes, int], None]  # topic, payload, qos
ERRORS_PER_WINDOW = 10  # refusal reports per device per window; the rest are only counted
ERRORS_WINDOW_S = 10.0
# A confirmation waiting at the broker for a device that went away is dropped after this
# (MQTT 5 message expiry): the device resends the event when it is back and is confirmed
# again, and one device away for weeks cannot pile confirmations up in the broker.
CONFIRMATION_TTL_S = 3600.0


class Confirmations:
    """Pipeline hook: queues confirmations and refusal reports, publishes them after commit."""

    def __init__(self, publish: Publish, clock_limit_s: float = 300.0) -> None:
        self._publish = publish
        # A confirmation says how far off the device clock is beyond this (the skew alert's).
        self.clock_limit_s = clock_limit_s
        self._queued: list[tuple[str, bytes, int]] = []
        self._error_windows: dict[str, tuple[float, int]] = {}
        self.confirmed = 0  # confirmations published (tests, metrics)
        self._mark = 0  # queued before the current message's savepoint (careful batches)

    # -- PipelineHook --------------------------------------------------------------------

    def on_message(self, env: Envelope, twin: Twin, tx: StoreTx) -> None:
        """A stored urgent event: confirm it once its batch commits (a salvaged one is
        confirmed as stored, and what was wrong with it also goes to `…/errors`)."""
        if env.urgent or confirmed_event(env):
            self._confirm(env, "stored")
        if env.salvaged is not None:
            reason, detail = env.salvaged
            self._report(env.raw, env.device_id, env.kind, reason, detail, salvaged=True)

    def on_duplicate(self, env: Envelope, tx: StoreTx) -> None:
        """A retry of something already stored: confirm again (the first one may be lost)."""
        if env.urgent or confirmed_event(env):
            self._confirm(env, "duplicate")

    def on_presence(self, twin: Twin, kind: str, now: float, tx: StoreTx) -> None:
        """Presence needs no confirmation."""

    def on_refused(self, raw: RawMessage, rejection: RejectError) -> None:
        """Tell the sending device why its message was refused (rate-limited per device)."""
        device_id = rejection.device_id
        parts = raw.topic.split("/", 4)
        # Our own topics name the kind; a dialect's own topic (`watch/{imei}/up`) does not,
        # so the decoder passes the registered device's kind along.
        ours = raw.topic.startswith(f"{topics.PREFIX}/")
        kind = (parts[2] if len(parts) >= 4 else None) if ours else rejection.kind
        if not device_id or kind is None or CATALOGUE.get(kind) is None:
            return
        self._report(raw, device_id, kind, rejection.reason, rejection.detail)

    def _report(self, raw: RawMessage, device_id: str, kind: str, reason: str, detail: str,
                *, salvaged: bool = False) -> None:
        """Queue a report on the device's `…/errors` (rate-limited per device)."""
        start, sent = self._error_windows.get(device_id, (raw.received_at, 0))
        if raw.received_at - start >= ERRORS_WINDOW_S:
            start, sent = raw.received_at, 0
        if sent >= ERRORS_PER_WINDOW:
            return
        if len(self._error_windows) > 100_000:
            self._error_windows.clear()  # bounded memory under a flood of invented ids
        self._error_windows[device_id] = (start, sent + 1)
        body: dict[str, object] = {
            "topic": raw.topic[:256], "reason": reason, "detail": detail[:300],
            "seq": _seq_of(raw.payload), "received_at": int(raw.received_at * 1000)}
        if salvaged:
            body["salvaged"] = True  # stored and paged all the same; fix the payload
        self._queued.append((topics.topic(kind, device_id, "errors"), orjson.dumps(body), 0))

    # -- after the transaction ------------------------------------------------------------

    def committed(self) -> None:
        """The batch is durable: send what it earned."""
        queued, self._queued = self._queued, []
        for topic, payload, qos in queued:
            self._publish(topic, payload, qos)
            if qos:
                self.confirmed += 1

    def rolled_back(self) -> None:
        """Nothing of the batch happened: nothing to confirm (it will be processed again)."""
        self._queued.clear()

    def savepoint(self, tx: StoreTx) -> None:
        """A message is about to run in a savepoint of its own (a batch retried with care)."""
        self._mark = len(self._queued)

    def savepoint_failed(self, tx: StoreTx) -> None:
        """That message was rolled back and is dead-lettered: it must not be confirmed as
        stored (the device would stop resending an SOS the database never got)."""
        del self._queued[self._mark:]

    def _confirm(self, env: Envelope, status: str) -> None:
        # The device's own `ts` and `seq` identify the event it sent (an event without `seq`
        # is matched by `ts`).
        # A `ts` stood in for by the time of receipt (a clock plainly unset) is still the
        # device's own in its eyes: echo that, when it could be read at all.
        own = env.received_at + env.skew_s if env.ts_replaced and env.skew_s is not None \
            else env.ts
        body: dict[str, object] = {"seq": env.seq, "type": env.type, "status": status,
                                   "ts": round(own * 1000)}
        if env.salvaged is not None:
            body["salvaged"] = env.salvaged[1][:300]
        if env.skew_s is not None and abs(env.skew_s) > self.clock_limit_s:
            # Paged all the same; the vendor learns at once that the clock (or its zone) is off.
            body["clock_skew_s"] = round(env.skew_s)
            body["clock"] = clock_hint(env.skew_s, maybe_held=True)
        self._queued.append((topics.topic(env.kind, env.device_id, "event/ack"),
                             orjson.dumps(body), 1))


def _seq_of(payload: bytes) -> int | None:
    """The `seq` of a refused payload, when it can be read at all."""
    try:
        obj = orjson.loads(payload)
    except orjson.JSONDecodeError:
        # The lenient reader takes NaN and Infinity, often what was refused.
        members = object_members(payload)
        obj = dict(members) if members is not None else None
    seq = obj.get("seq") if isinstance(obj, dict) else None
    return seq if type(seq) is int else None
