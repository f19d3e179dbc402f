"""Writing a refused message: its dead-letter row, its counter, and the hooks that report it."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from gateway.envelope import RawMessage
from gateway.metrics import GatewayMetrics
from gateway.rejections import RejectError
from gateway.storage.records import DeadLetter
from gateway.storage.tx import StoreTx

log = logging.getLogger(__name__)

# Devices (or topics) counted in one hour at most: past it the count starts again (made-up
# topics must not grow it without bound).
_KEYS_MAX = 100_000


class DeadLetters:
    """Keeps a refused message (its first `keep_bytes`) with its reason, counts it, and tells
    the hooks that have an `on_refused` (the device's `…/errors`, the clock watch)."""

    def __init__(self, keep_bytes: int, metrics: GatewayMetrics, hooks: Sequence[object],
                 payloads_per_hour: int = 0) -> None:
        self._keep = keep_bytes
        self._metrics = metrics
        self._hooks = hooks  # the pipeline's own list: hooks added later are told too
        self._per_hour = payloads_per_hour
        # Payloads kept this hour, per device (or topic when no device is known).
        self._hour = -1
        self._kept: dict[str, int] = {}

    def write(self, tx: StoreTx, raw: RawMessage, rej: RejectError) -> None:
        """Store, count and report one refusal."""
        # Per device and channel: a hundred refused heartbeats used the hour's budget, and the
        # device's next refused alarm kept no payload to investigate (red team round 10).
        channel = "event" if "/event" in raw.topic else "other"
        key = f"{rej.device_id or raw.topic[:200]}|{channel}"
        keep = self._keep if self._payload_kept(key, raw.received_at) else 0
        tx.add_dead_letter(DeadLetter(
            received_at=raw.received_at, topic=raw.topic[:512], reason=rej.reason,
            detail=rej.detail[:1000], device_id=rej.device_id, payload=raw.payload[:keep],
            payload_size=len(raw.payload)))
        self._metrics.rejected.labels(rej.reason).inc()
        for hook in self._hooks:
            on_refused = getattr(hook, "on_refused", None)
            if on_refused is not None:
                on_refused(raw, rej)
        log.info("dead letter",
                 extra={"reason": rej.reason, "topic": raw.topic[:512], "detail": rej.detail[:200]})

    def _payload_kept(self, key: str, at: float) -> bool:
        """Whether this refusal's payload is kept: the first `payloads_per_hour` of a device
        each clock hour (red team round 9: 20 bands wrote 16 MB of dead letters in 3 s)."""
        if not self._per_hour:
            return True
        hour = int(at // 3600)
        if hour != self._hour or len(self._kept) > _KEYS_MAX:
            self._hour, self._kept = hour, {}
        kept = self._kept.get(key, 0)
        if kept >= self._per_hour:
            return False
        self._kept[key] = kept + 1
        return True
