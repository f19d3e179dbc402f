"""Flux reads of one device's telemetry from InfluxDB 2.x (3.x has no Flux)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from influxdb_client import InfluxDBClient
from influxdb_client.rest import ApiException
from urllib3.exceptions import HTTPError

from gateway.influx.points import FieldSpec, Scalar
from gateway.settings import InfluxSettings

Row = tuple[float, dict[str, Scalar]]


class HistoryUnavailableError(Exception):
    """InfluxDB could not answer a history query (down, refused, or bad settings)."""


def flux_string(value: str) -> str:
    """A Flux string literal; `${` would otherwise start an interpolation."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${")
    return f'"{escaped}"'


def flux_time(ts: float) -> str:
    """A Flux time literal (RFC 3339, UTC, milliseconds)."""
    text = datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def flux_query(
    *, bucket: str, measurement: str, device_id: str, start: float, end: float,
    fields: Sequence[FieldSpec], step_s: float | None = None,
) -> str:
    """Flux for `fields` of one device in [start, end), optionally as means per `step_s` window.

    Windowed reads leave bool fields out: `mean` has no meaning for them.
    """
    wanted = [f for f in fields if step_s is None or f.type is not bool]
    field_test = " or ".join(f"r._field == {flux_string(f.name)}" for f in wanted) or "false"
    lines = [
        f"from(bucket: {flux_string(bucket)})",
        f"  |> range(start: {flux_time(start)}, stop: {flux_time(end)})",
        f"  |> filter(fn: (r) => r._measurement == {flux_string(measurement)}"
        f" and r.device_id == {flux_string(device_id)})",
        f"  |> filter(fn: (r) => {field_test})",
    ]
    if step_s is not None:
        every = max(1, round(step_s))
        lines.append(f"  |> aggregateWindow(every: {every}s, fn: mean, createEmpty: false,"
                     ' timeSrc: "_start")')
    lines.append('  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")')
    lines.append('  |> sort(columns: ["_time"])')
    return "\n".join(lines)


class FluxHistory:
    """Runs history queries against the configured InfluxDB bucket."""

    def __init__(self, settings: InfluxSettings) -> None:
        self._settings = settings
        token = settings.token.get_secret_value() if settings.token else None
        self._client = InfluxDBClient(
            url=settings.url, token=token, org=settings.org,
            timeout=int(settings.timeout_s * 1000), retries=False,
        )
        self._query_api = self._client.query_api()

    def close(self) -> None:
        """Release the HTTP pool."""
        self._client.close()

    def read(
        self, *, measurement: str, device_id: str, start: float, end: float,
        fields: Sequence[FieldSpec], step_s: float | None = None,
    ) -> list[Row]:
        """Rows (epoch seconds, {field: value}) in time order; a time split over tables merges."""
        flux = flux_query(bucket=self._settings.bucket, measurement=measurement,
                          device_id=device_id, start=start, end=end, fields=fields,
                          step_s=step_s)
        try:
            tables = self._query_api.query(flux, org=self._settings.org)
        except ApiException as exc:
            raise HistoryUnavailableError(
                f"influx query for {device_id} failed: HTTP {exc.status} {exc.body!r:.300}"
            ) from exc
        except (HTTPError, OSError) as exc:
            raise HistoryUnavailableError(
                f"influx at {self._settings.url} unreachable: {exc}"
            ) from exc
        names = {f.name: f.type for f in fields}
        merged: dict[float, dict[str, Scalar]] = {}
        # A device that moved building has one table per tag set; rows merge on time.
        for table in tables:
            for record in table.records:
                ts = record.get_time().timestamp()
                row = merged.setdefault(ts, {})
                for name, kind in names.items():
                    value = record.values.get(name)
                    if value is not None:
                        row[name] = value if step_s is not None else kind(value)
        return sorted(merged.items())
