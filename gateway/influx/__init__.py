"""Optional InfluxDB telemetry history: pipeline hook, on-disk buffer, flusher, Flux reads."""

from gateway.influx.hook import InfluxHook, build_influx_hook

__all__ = ["InfluxHook", "build_influx_hook"]
