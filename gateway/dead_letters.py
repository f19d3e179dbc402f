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


class DeadLetters:
    """Keeps a refused message (its first `keep_bytes`) with its reason, counts it, and tells
    the hooks that have an `on_refused` (the device's `…/errors`, the clock watch)."""

    def __init__(self, keep_bytes: int, metrics: GatewayMetrics, hooks: Sequence[object]) -> None:
        self._keep = keep_bytes
        self._metrics = metrics
        self._hooks = hooks  # the pipeline's own list: hooks added later are told too

    def write(self, tx: StoreTx, raw: RawMessage, rej: RejectError) -> None:
        """Store, count and report one refusal."""
        tx.add_dead_letter(DeadLetter(
            received_at=raw.received_at, topic=raw.topic[:512], reason=rej.reason,
            detail=rej.detail[:1000], device_id=rej.device_id, payload=raw.payload[:self._keep],
            payload_size=len(raw.payload)))
        self._metrics.rejected.labels(rej.reason).inc()
        for hook in self._hooks:
            on_refused = getattr(hook, "on_refused", None)
            if on_refused is not None:
                on_refused(raw, rej)
        log.info("dead letter",
                 extra={"reason": rej.reason, "topic": raw.topic[:512], "detail": rej.detail[:200]})
