"""Background flusher: buffered points → InfluxDB v2 write API, with jittered retry."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from influxdb_client import InfluxDBClient, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from urllib3.exceptions import HTTPError

from gateway.clock import Clock
from gateway.retry import Backoff
from gateway.settings import InfluxSettings
from gateway.storage.point_buffer import Pending, PointBuffer, PointBufferError

log = logging.getLogger(__name__)

# The server refuses the content, not the moment: split the batch to isolate the bad points.
_REFUSED = frozenset({400, 413, 422})
_LAG_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 86_400)


class InfluxWriteError(Exception):
    """A write failed for a reason worth retrying: unreachable, throttled, 5xx, auth, no bucket."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def _reason(status: int | None) -> str:
    if status in (401, 403):
        return "auth"
    if status == 404:
        return "not_found"  # no such bucket or org: an operator has to fix the settings
    if status == 429:
        return "throttled"
    if status is not None and status >= 500:
        return "server"
    return "client"


class InfluxMetrics:
    """The InfluxDB writer's Prometheus series, registered on the gateway's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.buffer_points = Gauge(
            "scgw_influx_buffer_points", "Points waiting in the on-disk buffer", registry=r
        )
        self.buffer_capacity = Gauge(
            "scgw_influx_buffer_capacity", "Bound of the on-disk buffer, points", registry=r
        )
        self.write_lag = Gauge(
            "scgw_influx_write_lag_seconds",
            "Age of the oldest point not yet written (0 when the buffer is empty)", registry=r,
        )
        self.delivery = Histogram(
            "scgw_influx_delivery_seconds", "Queued → written, oldest point of each batch",
            buckets=_LAG_BUCKETS, registry=r,
        )
        self.written = Counter(
            "scgw_influx_points_written", "Points InfluxDB accepted", registry=r
        )
        self.dropped = Counter(
            "scgw_influx_points_dropped",
            "Points given up: buffer_full (oldest dropped), rejected (server refused the point), "
            "buffer_error (the buffer file failed)", ["reason"], registry=r,
        )
        self.write_errors = Counter(
            "scgw_influx_write_errors", "Failed write requests, by reason", ["reason"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "scgw_influx_request_seconds", "Duration of successful write requests",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=r,
        )
        for reason in ("buffer_full", "rejected", "buffer_error"):
            self.dropped.labels(reason)


class Flusher:
    """Owns the write thread: peek a batch, write it, remove it; back off while InfluxDB fails."""

    def __init__(
        self,
        buffer: PointBuffer,
        settings: InfluxSettings,
        metrics: InfluxMetrics,
        clock: Clock,
        *,
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        self._buffer = buffer
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._on_tick = on_tick
        token = settings.token.get_secret_value() if settings.token else None
        # retries=False: the client must not retry behind our back; the buffer is our retry.
        self._client = InfluxDBClient(
            url=settings.url, token=token, org=settings.org,
            timeout=int(settings.timeout_s * 1000), retries=False,
        )
        self._write_api = self._client.write_api(write_options=SYNCHRONOUS)
        self._backoff = Backoff(settings.retry_min_s, settings.retry_max_s)
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0
        metrics.buffer_capacity.set(buffer.max_points)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        """Run the write thread."""
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="scgw-influx", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop writing; unsent points stay in the buffer for the next start."""
        if self._thread is not None:
            self._stopping.set()
            self._wake.set()
            self._thread.join(timeout)
            self._thread = None
        self._client.close()

    def wake(self) -> None:
        """Write now instead of at the next interval (a full batch is waiting, or time jumped)."""
        self._wake.set()

    # -- one pass ------------------------------------------------------------------------

    def flush_once(self) -> int:
        """Write up to one batch from the buffer; return how many points left the buffer."""
        batch = self._buffer.peek(self._settings.batch_size)
        if batch:
            self._send(batch)
            self._metrics.delivery.observe(max(0.0, self._clock.time() - batch[0].queued_at))
        self.update_gauges()
        return len(batch)

    def update_gauges(self) -> None:
        """Refresh buffer depth and write lag."""
        self._metrics.buffer_points.set(self._buffer.depth())
        oldest = self._buffer.oldest_queued_at()
        self._metrics.write_lag.set(0.0 if oldest is None else
                                    max(0.0, self._clock.time() - oldest))

    def _send(self, batch: list[Pending]) -> None:
        started = time.monotonic()
        try:
            self._write_api.write(
                bucket=self._settings.bucket, org=self._settings.org,
                record=[p.line for p in batch], write_precision=WritePrecision.MS,
            )
        except ApiException as exc:
            if exc.status in _REFUSED:
                self._split(batch, exc)
                return
            body = (exc.body or b"")[:300]
            raise InfluxWriteError(_reason(exc.status), f"HTTP {exc.status}: {body!r}") from exc
        except (HTTPError, OSError) as exc:
            raise InfluxWriteError("unreachable", f"{self._settings.url}: {exc}") from exc
        self._metrics.request_seconds.observe(time.monotonic() - started)
        self._buffer.remove([p.id for p in batch])
        self._metrics.written.inc(len(batch))

    def _split(self, batch: list[Pending], exc: ApiException) -> None:
        if len(batch) == 1:
            # Retrying a point the server refuses would block every point behind it forever.
            self._buffer.remove([batch[0].id])
            self._metrics.dropped.labels("rejected").inc()
            log.error(
                "influx refused a point; dropped it",
                extra={"status": exc.status, "line": batch[0].line[:500],
                       "body": (exc.body or b"")[:300]},
            )
            return
        middle = len(batch) // 2
        self._send(batch[:middle])
        self._send(batch[middle:])

    # -- the thread ----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                sent = self._pass()
            except InfluxWriteError as exc:
                self._failed(exc.reason, exc)
                continue
            except PointBufferError as exc:
                self._failed("buffer", exc)
                continue
            except Exception as exc:
                # The thread boundary: a bug must not silently end history writes for good.
                log.exception("influx flusher pass failed unexpectedly")
                self._failed("internal", exc)
                continue
            if self._failures:
                log.info("influx writes recovered", extra={"failures": self._failures,
                                                           "waiting": self._buffer.depth()})
                self._failures = 0
                self._backoff.reset()
            if sent < self._settings.batch_size:
                # Drained: let points gather for a batch (a full batch wakes us early).
                self._wake.wait(self._settings.flush_interval_s)
                self._wake.clear()

    def _pass(self) -> int:
        if self._on_tick is not None:
            self._on_tick()
        return self.flush_once()

    def _failed(self, reason: str, exc: Exception) -> None:
        self._failures += 1
        self._metrics.write_errors.labels(reason).inc()
        delay = self._backoff.next()
        try:
            self.update_gauges()
        except PointBufferError:
            log.debug("gauges not refreshed: buffer unreadable")
        log.warning(
            "influx write failed; retrying",
            extra={"reason": reason, "error": str(exc)[:300], "retry_in_s": round(delay, 2),
                   "waiting": self._buffer.depth(), "failures": self._failures},
        )
        self._stopping.wait(delay)
