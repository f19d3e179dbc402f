"""Presence beyond messages: devices silent past their kind's timeout go offline (a scheduled
job), and the online gauges follow every change."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from devices.catalogue import CATALOGUE
from gateway.coherence import DeviceCoherence
from gateway.metrics import GatewayMetrics
from gateway.pipeline_hook import PipelineHook
from gateway.storage.records import StoredMessage
from gateway.storage.tx import StoreTx
from gateway.twin import TwinTracker

log = logging.getLogger(__name__)

_TIMEOUT_DATA = '{"state":"offline","source":"timeout"}'


class PresenceSweep:
    """Marks silent devices offline and publishes how many of each kind are online."""

    def __init__(self, twins: TwinTracker, metrics: GatewayMetrics,
                 hooks: Sequence[PipelineHook], coherence: DeviceCoherence | None) -> None:
        self._twins = twins
        self._metrics = metrics
        self._hooks = hooks  # the pipeline's own list: hooks added later are seen
        self._coherence = coherence

    def sweep(self, now: float, tx: StoreTx) -> None:
        """Mark devices silent past their kind's timeout offline (a scheduled job)."""
        if self._coherence is not None:
            # What this replica holds may be older than the table (another replica heard the
            # device since), and a device only ever heard elsewhere is not held here at all.
            shortest = min(self._twins.timeouts.values(), default=0.0)
            self._coherence.claim(tx, set(self._twins.overdue(now))
                                  | set(tx.online_silent_since(now - shortest)))
        changed = self._twins.sweep(now)
        for twin in changed:
            tx.save_twin(twin)
            kind = self._twins.kind_of(twin.device_id)
            tx.add_message(StoredMessage(
                device_id=twin.device_id, kind=kind, channel="status", type="offline",
                ts=now, received_at=now, seq=None, stale=False, data=_TIMEOUT_DATA))
            for hook in self._hooks:
                hook.on_presence(twin, kind, now, tx)
        if changed:
            log.info("devices offline by timeout", extra={"count": len(changed)})
            self.publish_counts()

    def publish_counts(self) -> None:
        """Set the online gauge of every kind."""
        counts = self._twins.online_counts()
        for kind in CATALOGUE.kinds:
            self._metrics.online.labels(kind).set(counts.get(kind, 0))
