"""Prometheus metrics of one gateway instance (own registry, so tests can run several)."""

from __future__ import annotations

import collections
import threading
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from devices.catalogue import DECLARED
from gateway.rejections import REJECT_REASONS

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class BatchHistogram(Collector):
    """A histogram fed a batch of observations at a time (one lock per batch, not per value).

    prometheus_client's Histogram takes two locks per `observe()`; the pipeline observes every
    message of every batch.
    """

    def __init__(self, name: str, documentation: str, buckets: tuple[float, ...],
                 registry: CollectorRegistry) -> None:
        self._name = name
        self._doc = documentation
        self._bounds = tuple(sorted(buckets))
        self._counts = [0] * (len(self._bounds) + 1)  # the last one is +Inf
        self._sum = 0.0
        self._lock = threading.Lock()
        registry.register(self)

    def observe_many(self, values: Iterable[float]) -> None:
        """Add observations."""
        bounds = self._bounds
        counts = [0] * len(self._counts)
        total = 0.0
        for value in values:
            counts[bisect_left(bounds, value)] += 1  # bucket "le": value <= bound
            total += value
        with self._lock:
            self._counts = [a + b for a, b in zip(self._counts, counts, strict=True)]
            self._sum += total

    def collect(self) -> Iterator[HistogramMetricFamily]:
        """Cumulative buckets in the exposition format."""
        with self._lock:
            counts, total = list(self._counts), self._sum
        cumulative, running = [], 0
        labels = [*map(floatToGoString, self._bounds), "+Inf"]  # as Histogram writes them
        for bound, count in zip(labels, counts, strict=True):
            running += count
            cumulative.append((bound, running))
        yield HistogramMetricFamily(self._name, self._doc, buckets=cumulative, sum_value=total)


class GatewayMetrics:
    """Counters, gauges and histograms the pipeline and the MQTT client update."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.received = Counter(
            "scgw_messages_received", "MQTT messages received", registry=r
        )
        self.accepted = Counter(
            "scgw_messages_accepted", "Messages decoded, checked and stored",
            ["kind", "channel"], registry=r,
        )
        self.rejected = Counter(
            "scgw_messages_rejected", "Messages dead-lettered, by reason", ["reason"], registry=r
        )
        self.shed = Counter(
            "scgw_messages_shed", "Messages a device sent beyond its ingest budget, acknowledged "
            "and not stored (summarised in `rate_limited` dead letters)", registry=r)
        self.salvaged = Counter(
            "scgw_messages_salvaged", "Urgent events stored and paged although their payload "
            "broke the contract, by the refusal they escaped", ["reason"], registry=r)
        self.duplicates = Counter(
            "scgw_messages_duplicate", "Messages recognised as already processed", ["kind"],
            registry=r,
        )
        self.own_publishes = Counter(
            "scgw_messages_own_publish", "Our own publishes (commands, confirmations) received "
            "back on the device prefix and ignored", registry=r)
        self.ignored = Counter(
            "scgw_messages_ignored", "Messages whose vendor event code the device's dialect "
            "declares it does not map (`event.ignore`)", ["kind"], registry=r)
        self.stale = Counter(
            "scgw_messages_stale", "Accepted messages whose device time is very old", ["kind"],
            registry=r,
        )
        self.latency = BatchHistogram(
            "scgw_processing_seconds", "Receive → committed, per message",
            buckets=_LATENCY_BUCKETS, registry=r,
        )
        self.batch_size = Histogram(
            "scgw_batch_messages", "Messages per database transaction",
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000), registry=r,
        )
        self.queue_depth = Gauge(
            "scgw_queue_depth", "Messages waiting between MQTT and the pipeline", registry=r
        )
        self.online = Gauge("scgw_devices_online", "Devices online", ["kind"], registry=r)
        self.connected = Gauge("scgw_broker_connected", "1 while connected to the broker",
                               registry=r)
        self.reconnects = Counter("scgw_broker_reconnects", "Broker reconnect attempts",
                                  registry=r)
        self.subscriptions_refused = Gauge(
            "scgw_subscriptions_refused", "Dialect topic filters the broker refused the gateway "
            "at its last connect (their devices are not read: run `scgw broker provision`)",
            registry=r)
        self.event_lane_connected = Gauge(
            "scgw_event_lane_connected", "1 while the event lane (the second session, for "
            "devices' events) is connected; 0: events are read on the main session", registry=r)
        self.event_lane_reconnects = Counter(
            "scgw_event_lane_reconnects", "Event lane reconnect attempts", registry=r)
        self.event_copies = Counter(
            "scgw_event_copies_total", "Events received on both sessions whose second copy "
            "was acknowledged and dropped (the first was processed)", registry=r)
        self.client_errors = Counter(
            "scgw_mqtt_client_errors", "Unexpected errors that dropped the broker connection",
            registry=r)
        self.store_errors = Counter("scgw_store_errors", "Failed database transactions",
                                    registry=r)
        self.task_errors = Counter("scgw_task_errors", "Scheduled jobs that raised", ["task"],
                                   registry=r)
        self.replica_reloads = Counter(
            "scgw_replica_reloads", "Devices whose state was reloaded because another replica "
            "changed it", registry=r)
        self.replica_deferred = Counter(
            "scgw_replica_deferred", "Messages put back for the next batch because another "
            "replica's transaction held their device", registry=r)
        self.replica_conflicts = Counter(
            "scgw_replica_conflicts", "Transactions retried because they changed a device "
            "another replica had changed", registry=r)
        self.timer_leader = Gauge(
            "scgw_timer_leader", "1 while this replica holds the timers' lease", registry=r)
        self.clock_offset = Gauge(
            "scgw_replica_clock_offset_seconds", "The database's clock minus this replica's, "
            "measured at each heartbeat (leases use the database's; timers this one's)",
            registry=r)
        self.logins = Counter(
            "scgw_api_logins", "API login attempts by outcome (ok, wrong_password, throttled)",
            ["outcome"], registry=r)
        # Pre-create the labelled series so dashboards show zeros rather than gaps.
        for outcome in ("ok", "wrong_password", "throttled"):
            self.logins.labels(outcome)
        for reason in REJECT_REASONS:
            self.rejected.labels(reason)
        for reason in ("schema_invalid", "out_of_range", "unknown_event_type"):
            self.salvaged.labels(reason)
        for kind in DECLARED:
            self.online.labels(kind.key).set(0)

    def value(self, name: str, **labels: str) -> float:
        """Current value of a sample (for tests and health reports); 0 when absent."""
        found = self.registry.get_sample_value(name, labels)
        return found if found is not None else 0.0

    def render(self) -> bytes:
        """Text exposition format."""
        return generate_latest(self.registry)


@dataclass(slots=True)
class BatchCounts:
    """Per-batch tallies, added to the Prometheus counters once per batch, after the commit."""

    accepted: collections.Counter[tuple[str, str]] = field(default_factory=collections.Counter)
    duplicates: collections.Counter[str] = field(default_factory=collections.Counter)
    stale: collections.Counter[str] = field(default_factory=collections.Counter)
    own: int = 0  # our own publishes seen again (3.1.1 or shared subscriptions)
    ignored: collections.Counter[str] = field(default_factory=collections.Counter)

    def publish(self, metrics: GatewayMetrics) -> None:
        """Add the tallies to the counters."""
        if self.own:
            metrics.own_publishes.inc(self.own)
        for (kind, channel), n in self.accepted.items():
            metrics.accepted.labels(kind, channel).inc(n)
        for kind, n in self.duplicates.items():
            metrics.duplicates.labels(kind).inc(n)
        for kind, n in self.stale.items():
            metrics.stale.labels(kind).inc(n)
        for kind, n in self.ignored.items():
            metrics.ignored.labels(kind).inc(n)
