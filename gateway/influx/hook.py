"""The pipeline hook that copies telemetry to InfluxDB through the on-disk buffer."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from gateway.clock import Clock
from gateway.envelope import Envelope
from gateway.influx.points import alert_line, envelope_lines, gateway_lines
from gateway.influx.writer import Flusher, InfluxMetrics
from gateway.metrics import GatewayMetrics
from gateway.settings import Settings
from gateway.storage.migrate import StoreError
from gateway.storage.point_buffer import PointBuffer, PointBufferError
from gateway.storage.records import Twin
from gateway.storage.tx import StoreTx
from rules.ports import Tx
from rules.records import AlertChange

log = logging.getLogger(__name__)

# Devices online and registered per (kind, site): [(kind, site, online, total)].
OnlineCounts = Callable[[], list[tuple[str, str, int, int]]]


def _resolve(path: Path, base: Path) -> Path:
    full = path if path.is_absolute() else base / path
    return full if full.is_absolute() else Path.cwd() / full


class InfluxHook:
    """PipelineHook: queues points on the pipeline thread; a flusher thread writes them."""

    def __init__(self, settings: Settings, metrics: InfluxMetrics, clock: Clock,
                 online_counts: OnlineCounts | None = None) -> None:
        influx = settings.influx
        self._online_counts = online_counts
        self._clock = clock
        self.metrics = metrics
        self.buffer = PointBuffer(
            _resolve(influx.buffer_file, settings.data_dir), influx.buffer_max_points
        )
        self._batch_size = influx.batch_size
        self._stats_interval = influx.stats_interval_s
        self._next_stats: float | None = None
        self.flusher = Flusher(self.buffer, influx, metrics, clock, on_tick=self._stats_tick)
        self._stopped = False
        self._pending: list[str] = []  # this batch's points, written once at its end
        clock.on_change(self.flusher.wake)  # a manual clock jumping may make stats due

    # -- PipelineHook --------------------------------------------------------------------

    def on_message(self, env: Envelope, twin: Twin, tx: StoreTx) -> None:
        """Collect the message's points; `on_batch_end` writes the batch's in one commit."""
        self._pending += envelope_lines(env)

    def on_batch_end(self, tx: StoreTx) -> None:
        """Buffer the batch's points durably before the pipeline commits and acks the batch."""
        if self._pending:
            lines, self._pending = self._pending, []
            self.enqueue(lines)

    def on_presence(self, twin: Twin, kind: str, now: float, tx: StoreTx) -> None:
        """Presence reaches InfluxDB as the periodic `gateway` counts, not per change."""

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Start the flusher; points buffered before a restart are sent first."""
        self._stopped = False
        self.flusher.update_gauges()
        self.flusher.start()

    def stop(self) -> None:
        """Stop the flusher and close the buffer; unsent points wait on disk."""
        if self._stopped:
            return
        self._stopped = True
        self.flusher.stop()
        self.buffer.close()

    # -- producers -----------------------------------------------------------------------

    def enqueue(self, lines: list[str]) -> None:
        """Append points to the buffer; an unwritable buffer costs InfluxDB points, not ingest."""
        try:
            dropped = self.buffer.append(lines, self._clock.time())
        except PointBufferError:
            # The message itself is safe in the embedded store; raising here would dead-letter it.
            self.metrics.dropped.labels("buffer_error").inc(len(lines))
            log.exception("influx buffer append failed; %d points lost", len(lines))
            return
        if dropped:
            self.metrics.dropped.labels("buffer_full").inc(dropped)
            log.warning("influx buffer full; dropped the oldest points",
                        extra={"dropped": dropped, "capacity": self.buffer.max_points})
        if self.buffer.depth() >= self._batch_size:
            self.flusher.wake()

    def on_alert_change(self, change: AlertChange, tx: Tx) -> None:
        """AlertBook listener: every alert change becomes an `alerts` point (alerts per hour)."""
        alert = change.alert
        self.enqueue([alert_line(rule=alert.rule_id, severity=alert.severity,
                                 action=change.action, site=alert.site,
                                 device_id=alert.device_id, ts=change.at)])

    def record_gateway_stats(self, now: float) -> int:
        """Queue `gateway` points with devices online/registered per kind and site."""
        if self._online_counts is None:
            return 0
        try:
            rows = self._online_counts()
        except StoreError as exc:
            # The database is busy or gone: the next interval tries again.
            log.warning("devices-online counts not read", extra={"error": str(exc)})
            return 0
        lines = gateway_lines(rows, now)
        self.enqueue(lines)
        return len(lines)

    def _stats_tick(self) -> None:
        now = self._clock.time()
        if self._next_stats is None:
            self._next_stats = now  # first counts right after start
        if now >= self._next_stats:
            self.record_gateway_stats(now)
            self._next_stats = now + self._stats_interval


def build_influx_hook(
    settings: Settings, metrics: GatewayMetrics, clock: Clock,
    online_counts: OnlineCounts | None = None,
) -> InfluxHook | None:
    """The InfluxDB hook when `influx.url` is set, else None (the feature is off)."""
    if not settings.influx.url:
        return None
    return InfluxHook(settings, InfluxMetrics(metrics.registry), clock, online_counts)
