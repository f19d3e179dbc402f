"""Operational series for a control room: alerts, tickets and SLAs, outbox, commands, devices.

Computed when Prometheus scrapes (a custom collector), from the store and the twins, so they
are true after a restart and cost nothing between scrapes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.clock import Clock
from gateway.registry import DeviceRegistry
from gateway.storage.ops_reads import OpsReads
from gateway.twin import TwinTracker


class OperationsCollector(Collector):
    """Collects the operational series on each scrape."""

    def __init__(self, reads: OpsReads, registry: DeviceRegistry, twins: TwinTracker,
                 clock: Clock) -> None:
        self._reads = reads
        self._registry = registry
        self._twins = twins
        self._clock = clock
        # Live-stream clients, counted by the API when it runs (a callable it installs).
        self.live_clients: Callable[[], int] | None = None

    def collect(self) -> Iterator[Metric]:
        """Every operational family, fresh."""
        now = self._clock.time()
        read = self._reads.read
        yield _gauge("scgw_alerts_open", "Alerts not cleared", ["severity", "kind"],
                     read("open_alerts", now))
        yield _gauge("scgw_alert_oldest_open_seconds", "Age of the oldest open alert",
                     ["severity"], read("oldest_open_alert", now))
        yield _counter("scgw_alert_transitions", "Alert lifecycle steps (opened, acknowledged, "
                       "reescalated = ack timed out, cleared, …)", ["action"],
                       read("alert_transitions", now))
        yield _gauge("scgw_tickets", "Tickets by state and priority", ["state", "priority"],
                     read("tickets", now))
        yield _counter("scgw_ticket_sla_breaches", "SLA clocks breached", ["clock"],
                       read("sla_breaches", now))
        yield _counter("scgw_ticket_escalations", "Escalations (by hand or by SLA)", [],
                       read("escalations", now))
        yield _gauge("scgw_outbox_messages", "12345/webhook outbox by state", ["state"],
                     read("outbox", now))
        yield _counter("scgw_outbox_failed_attempts", "Deliveries to the hotline that failed "
                       "and were retried", [], read("outbox_failures", now))
        yield _gauge("scgw_commands", "Device commands by outcome", ["state", "name"],
                     read("commands", now))
        yield _gauge("scgw_dead_letters_stored", "Dead letters kept (retention window) by "
                     "reason and vendor", ["reason", "vendor"], read("dead_letters", now))
        yield from self._devices()
        clients = GaugeMetricFamily("scgw_live_clients", "Open live-stream (WebSocket) clients")
        clients.add_metric([], float(self.live_clients() if self.live_clients else 0))
        yield clients

    def _devices(self) -> Iterator[Metric]:
        total: Counter[tuple[str, str]] = Counter()
        online: Counter[tuple[str, str]] = Counter()
        for device in self._registry.all():
            if device.status != "active":
                continue
            key = (device.kind, device.site)
            total[key] += 1
            twin = self._twins.get(device.id)
            if twin is not None and twin.online:
                online[key] += 1
        ratio = GaugeMetricFamily("scgw_devices_online_ratio",
                                  "Share of active devices online", labels=["kind", "site"])
        count = GaugeMetricFamily("scgw_devices_active", "Active devices",
                                  labels=["kind", "site"])
        for key, n in total.items():
            ratio.add_metric(list(key), online[key] / n)
            count.add_metric(list(key), float(n))
        yield ratio
        yield count


def _gauge(name: str, doc: str, labels: list[str], rows: list[tuple]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for row in rows:
        family.add_metric([str(v) for v in row[:-1]], float(row[-1] or 0))
    return family


def _counter(name: str, doc: str, labels: list[str], rows: list[tuple]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=labels)
    for row in rows:
        family.add_metric([str(v) for v in row[:-1]], float(row[-1] or 0))
    return family
