"""Telemetry history of a device: the embedded store, plus InfluxDB past its retention."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.clock import Clock
from gateway.influx.points import TELEMETRY_FIELDS, FieldSpec, Scalar
from gateway.influx.query import FluxHistory, HistoryUnavailableError
from gateway.settings import Settings
from gateway.storage.base import Store
from gateway.storage.message_reads import MessageReads

__all__ = ["HistoryUnavailableError", "Sample", "TelemetryHistory", "UnknownDeviceError",
           "auto_step"]


class UnknownDeviceError(LookupError):
    """History was asked for a device the registry does not know."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading time (epoch seconds; a window's start when downsampled) and its values."""

    ts: float
    values: dict[str, Scalar] = field(default_factory=dict)
    source: str = "embedded"  # or "influx"


def auto_step(start: float, end: float, max_points: int = 1000,
              floor_s: float = 60.0) -> float | None:
    """A window that keeps a chart under `max_points`; None when raw points are few enough."""
    span = max(0.0, end - start)
    if span <= max_points * floor_s:
        return None
    return float(math.ceil(span / max_points))


class TelemetryHistory:
    """Reads a device's telemetry for [start, end), merging the embedded store and InfluxDB."""

    def __init__(self, store: Store, settings: Settings, clock: Clock,
                 flux: FluxHistory | None = None) -> None:
        self._store = store
        self._clock = clock
        self._retention_s = settings.database.telemetry_retention_days * 86_400
        if flux is None and settings.influx.url and settings.influx.flux_reads:
            flux = FluxHistory(settings.influx)
        self._flux = flux

    def close(self) -> None:
        """Release the InfluxDB client, if any."""
        if self._flux is not None:
            self._flux.close()

    def read(self, device_id: str, start: float, end: float, *,
             fields: Sequence[str] | None = None, step_s: float | None = None) -> list[Sample]:
        """Samples in time order; with `step_s`, means per window (bool readings left out).

        Without InfluxDB the embedded store answers alone (nothing older than its retention).
        With it, the part of the range older than the retention comes from InfluxDB; the
        rest from the embedded store, which has it first and complete.
        """
        device = self._store.get_device(device_id)
        if device is None:
            raise UnknownDeviceError(f"no device {device_id!r}")
        specs = _select(device.kind, fields)
        if end <= start or not specs:
            return []
        cutoff = self._clock.time() - self._retention_s
        if step_s is not None:
            cutoff = math.floor(cutoff / step_s) * step_s  # no window straddles the split
        samples: list[Sample] = []
        embedded_from = start
        if self._flux is not None and start < cutoff:
            old_end = min(end, cutoff)
            rows = self._flux.read(measurement=device.kind, device_id=device_id, start=start,
                                   end=old_end, fields=specs, step_s=step_s)
            samples.extend(Sample(ts, values, "influx") for ts, values in rows if values)
            embedded_from = old_end
        if end > embedded_from:
            samples.extend(self._embedded(device_id, embedded_from, end, specs, step_s))
        return samples

    def _embedded(self, device_id: str, start: float, end: float,
                  specs: tuple[FieldSpec, ...], step_s: float | None) -> list[Sample]:
        samples = []
        for ts, data in MessageReads(self._store).telemetry(device_id, start, end):
            values = _values(data, specs)
            if values:
                samples.append(Sample(ts, values))
        return samples if step_s is None else _downsample(samples, step_s, specs)


def _select(kind: str, fields: Sequence[str] | None) -> tuple[FieldSpec, ...]:
    specs = TELEMETRY_FIELDS.get(kind, ())
    if fields is None:
        return specs
    known = {s.name: s for s in specs}
    unknown = [f for f in fields if f not in known]
    if unknown:
        raise ValueError(f"{kind} has no readings {unknown}; known: {sorted(known)}")
    return tuple(known[f] for f in fields)


def _values(data: Any, specs: tuple[FieldSpec, ...]) -> dict[str, Scalar]:
    """Readings of a stored payload, by the same schema the InfluxDB writer uses."""
    values: dict[str, Scalar] = {}
    for spec in specs:
        value = data
        for part in spec.path:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None or isinstance(value, dict | list | str):
            continue
        values[spec.name] = spec.type(value)
    return values


def _downsample(samples: list[Sample], step_s: float,
                specs: tuple[FieldSpec, ...]) -> list[Sample]:
    """Means per window starting on multiples of `step_s` (as Flux's aggregateWindow does)."""
    numeric = [s.name for s in specs if s.type is not bool]
    windows: dict[float, dict[str, list[float]]] = {}
    for sample in samples:
        start = math.floor(sample.ts / step_s) * step_s
        bucket = windows.setdefault(start, {})
        for name in numeric:
            if name in sample.values:
                bucket.setdefault(name, []).append(float(sample.values[name]))
    return [
        Sample(start, {name: sum(vals) / len(vals) for name, vals in bucket.items()})
        for start, bucket in sorted(windows.items()) if bucket
    ]
