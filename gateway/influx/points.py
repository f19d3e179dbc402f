"""Envelope → InfluxDB line protocol; which fields a kind writes is derived from its model."""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from influxdb_client import Point, WritePrecision
from pydantic import BaseModel

from devices.catalogue import CATALOGUE
from gateway.envelope import Envelope

Scalar = int | float | bool
EVENTS_MEASUREMENT = "events"
GATEWAY_MEASUREMENT = "gateway"
ALERTS_MEASUREMENT = "alerts"
_SKIP = frozenset({"ts", "seq"})  # the point's time and the dedup key are not readings
# Line protocol has no empty tag values, and InfluxDB 3 fixes a table's tag columns when it
# is created; so every point carries every tag key, "-" standing for "not set".
EMPTY_TAG = "-"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One InfluxDB field: its name, where it sits in the payload model, and its line type."""

    name: str
    path: tuple[str, ...]
    type: type[int] | type[float] | type[bool]


def _strip(annotation: Any) -> list[Any]:
    """The non-None members of an annotation, with `Annotated[...]` unwrapped."""
    if get_origin(annotation) is Annotated:
        return _strip(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        members: list[Any] = []
        for arg in get_args(annotation):
            if arg is not type(None):
                members.extend(_strip(arg))
        return members
    return [annotation]


def _specs(model: type[BaseModel], prefix: tuple[str, ...]) -> list[FieldSpec]:
    found: list[FieldSpec] = []
    for name, info in model.model_fields.items():
        if not prefix and name in _SKIP:
            continue
        members = _strip(info.annotation)
        if len(members) != 1:
            continue  # a union of several types has no single InfluxDB field type
        member = members[0]
        if member in (bool, int, float):  # bool first matters only for isinstance, not here
            found.append(FieldSpec(name, (*prefix, name), member))
        elif isinstance(member, type) and issubclass(member, BaseModel):
            found.extend(_specs(member, (*prefix, name)))
    return found


def field_specs(model: type[BaseModel]) -> tuple[FieldSpec, ...]:
    """Numeric and bool fields of `model`, nested models flattened (`location.lat` → `lat`).

    A nested name that collides with another field keeps its parent as prefix, so two
    readings never share one InfluxDB field.
    """
    specs = _specs(model, ())
    counts: dict[str, int] = {}
    for spec in specs:
        counts[spec.name] = counts.get(spec.name, 0) + 1
    return tuple(
        FieldSpec("_".join(s.path), s.path, s.type) if counts[s.name] > 1 else s for s in specs
    )


# One schema per kind, built once from the catalogue (a new kind needs no change here).
TELEMETRY_FIELDS: Mapping[str, tuple[FieldSpec, ...]] = {
    key: field_specs(kind.telemetry) for key, kind in CATALOGUE.kinds.items()
}


def field_values(payload: BaseModel, specs: tuple[FieldSpec, ...]) -> dict[str, Scalar]:
    """The readings present in `payload`, cast to the schema type so a field never flips type."""
    values: dict[str, Scalar] = {}
    for spec in specs:
        value: Any = payload
        for part in spec.path:
            value = getattr(value, part, None)
            if value is None:
                break
        if value is not None:
            values[spec.name] = spec.type(value)
    return values


def _ms(ts: float) -> int:
    return round(ts * 1000)


def _point(measurement: str, tags: Mapping[str, str], fields: Mapping[str, Scalar],
           ts: float) -> str:
    point = Point(measurement)
    for key, value in tags.items():
        point.tag(key, value or EMPTY_TAG)
    for key, value in fields.items():
        point.field(key, value)
    return point.time(_ms(ts), WritePrecision.MS).to_line_protocol()


def _device_tags(env: Envelope) -> dict[str, str]:
    return {"device_id": env.device_id, "site": env.device.site, "building": env.device.building}


def envelope_lines(env: Envelope) -> list[str]:
    """Line-protocol points for an accepted message: telemetry readings and event counts."""
    if env.channel == "telemetry":
        specs = TELEMETRY_FIELDS.get(env.kind)
        if specs is None:
            return []
        fields = field_values(env.payload, specs)
        if not fields:
            return []  # a point needs at least one field; a bare heartbeat has none
        return [_point(env.kind, _device_tags(env), fields, env.ts)]
    if env.channel == "event":
        tags = {**_device_tags(env), "kind": env.kind, "type": env.type}
        return [_point(EVENTS_MEASUREMENT, tags, {"count": 1}, env.ts)]
    return []


def gateway_lines(rows: list[tuple[str, str, int, int]], ts: float) -> list[str]:
    """`gateway` points: devices online and registered per (kind, site)."""
    return [
        _point(GATEWAY_MEASUREMENT, {"kind": kind, "site": site},
               {"devices_online": online, "devices_total": total}, ts)
        for kind, site, online, total in rows
    ]


def alert_line(*, rule: str, severity: str, action: str, site: str, device_id: str,
               ts: float) -> str:
    """An `alerts` point: one alert opened, acknowledged, cleared, … (the rules' vocabulary)."""
    tags = {"rule": rule, "severity": severity, "action": action, "site": site,
            "device_id": device_id}
    return _point(ALERTS_MEASUREMENT, tags, {"count": 1}, ts)
