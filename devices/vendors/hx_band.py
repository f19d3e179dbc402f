"""Codec for the "HX" wristband family, which speaks its own compact JSON dialect.

HX bands send `{"t": <epoch s>, "n": <seq>, "hr": 72, "bp": "128/82", "pos": [lon, lat, acc]}`
for telemetry and `{"t": ..., "n": ..., "alarm": "SOS" | "FALL" | "OFF" | "ON" | "LOWBAT"}`
for events. This module maps both onto our wristband models, so rules and storage never see the
dialect.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from devices.base import Channel, DeviceKind
from devices.codec import JsonCodec, load_object
from devices.errors import PayloadError

_ALARMS = {"SOS": "sos", "FALL": "fall", "OFF": "removed", "ON": "worn", "LOWBAT": "low_battery"}


class HxBandCodec:
    """Translates HX wristband payloads; status and command acks use our contract unchanged."""

    name = "hx_band"

    def __init__(self) -> None:
        self._json = JsonCodec()

    def decode(self, kind: DeviceKind, channel: Channel, payload: bytes) -> BaseModel:
        """Translate then validate with the wristband models."""
        if kind.key != "wristband":
            raise PayloadError(f"codec hx_band only handles wristbands, not {kind.key!r}")
        if channel in ("status", "cmd_ack"):
            return self._json.decode(kind, channel, payload)
        raw = load_object(payload)
        obj = _common(raw)
        if channel == "telemetry":
            obj.update(_telemetry(raw))
        else:
            alarm = raw.get("alarm")
            if alarm not in _ALARMS:
                raise PayloadError(f"unknown HX alarm {alarm!r}", reason="unknown_event_type")
            obj["type"] = _ALARMS[alarm]
            if obj["type"] == "low_battery":
                obj["battery_pct"] = raw.get("bat")
        return self._json.decode_object(kind, channel, obj)


def _common(raw: dict[str, Any]) -> dict[str, Any]:
    t = raw.get("t")
    if not isinstance(t, int | float) or isinstance(t, bool):
        raise PayloadError("HX payload needs numeric 't' (epoch seconds)")
    obj: dict[str, Any] = {"ts": int(t * 1000)}
    if "n" in raw:
        obj["seq"] = raw["n"]
    return obj


def _telemetry(raw: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "hr" in raw:
        out["heart_rate_bpm"] = raw["hr"]
    if "bat" in raw:
        out["battery_pct"] = raw["bat"]
    bp = raw.get("bp")
    if bp is not None:
        try:
            sys_, dia = (int(v) for v in str(bp).split("/"))
        except ValueError as exc:
            raise PayloadError(f"HX 'bp' {bp!r} is not 'SYS/DIA'") from exc
        out["systolic_mmhg"], out["diastolic_mmhg"] = sys_, dia
    pos = raw.get("pos")
    if pos is not None:
        if not (isinstance(pos, list) and len(pos) == 3):
            raise PayloadError("HX 'pos' must be [lon, lat, accuracy_m]")
        out["location"] = {"lon": pos[0], "lat": pos[1], "accuracy_m": pos[2]}
    return out
