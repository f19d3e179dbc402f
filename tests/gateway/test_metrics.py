"""The batched latency histogram exposes what prometheus_client's Histogram would."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from gateway.metrics import BatchHistogram

BUCKETS = (0.001, 0.01, 0.1, 1.0)


def test_batched_observations_render_like_a_plain_histogram():
    values = [0.0005, 0.001, 0.0011, 0.05, 0.1, 0.7, 3.0, 0.02]
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    batched = BatchHistogram("lat_seconds", "latency", BUCKETS, ours)
    plain = Histogram("lat_seconds", "latency", buckets=BUCKETS, registry=theirs)
    batched.observe_many(values[:3])
    batched.observe_many(values[3:])
    for v in values:
        plain.observe(v)

    def samples(registry: CollectorRegistry) -> set[str]:
        return {line for line in generate_latest(registry).decode().splitlines()
                if line.startswith(("lat_seconds_bucket", "lat_seconds_count"))}

    assert samples(ours) == samples(theirs)
    assert ours.get_sample_value("lat_seconds_sum") == pytest.approx(sum(values))
