"""Bodies of devices, their twins, commands and registration."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from api.schemas.base import PlacedModel, StrictBody


class TwinPublic(BaseModel):
    """A device's last known state."""

    online: bool
    online_source: str | None
    last_seen: float | None
    battery_pct: float | None
    lat: float | None
    lon: float | None
    accuracy_m: float | None
    location_ts: float | None
    last_telemetry: dict[str, Any] | None


class DeviceSummary(PlacedModel):
    """A registered device, without its live state."""

    id: str
    kind: str
    vendor: str
    model: str
    codec: str
    site: str
    building: str
    unit: str
    grid: str
    resident_id: str | None
    install_date: str | None
    offline_timeout_s: float | None = Field(
        None, description="Its own silence before it is offline, seconds (null: its kind's)")
    status: str
    disabled_by: str = Field(
        "", description="Who disabled it: `vendor`, or the staff role (`operator`, `admin`); "
        "a vendor may enable only what it disabled itself")


class DevicePublic(DeviceSummary):
    """A registered device with its twin (position and readings are personal data)."""

    twin: TwinPublic | None = None


class DeviceCreated(DeviceSummary):
    """A registration's answer: the device's MQTT credentials, shown this once."""

    mqtt_username: str | None = None
    mqtt_password: str | None = None


class CommandCreate(StrictBody):
    """A command for a device (names and arguments are declared per kind)."""

    name: str = Field(min_length=1, max_length=64)
    args: dict[str, Any] = Field(default_factory=dict)
    ttl_s: float | None = Field(
        None, gt=0, description="How long it stays worth doing; default and ceiling per command")


class CommandPublic(BaseModel):
    """A command and what became of it (`late_*`: an ack that came after the end)."""

    id: str
    device_id: str
    name: str
    args: dict[str, Any] = Field(
        default_factory=dict, description="What it was asked with (which door, compartment …)")
    state: str
    created_at: float
    expires_at: float | None = None
    done_at: float | None
    result: dict[str, Any] | None
    late_at: float | None = None
    late_result: dict[str, Any] | None = None


class DeviceCreate(StrictBody):
    """Registration of a device (validated against its kind's model).

    A vendor may send only the hardware fields (id, kind, model, codec, install_date,
    offline_timeout_s); the binding fields (site, building, unit, grid, resident_id) are an
    operator's.
    """

    id: str = Field(max_length=64, description="Device id; also its MQTT username and client id")
    kind: str
    vendor: str = ""
    model: str = ""
    codec: str = "json"
    site: str = ""
    building: str = ""
    unit: str = ""
    grid: str = ""
    resident_id: str | None = None
    install_date: str | None = None
    offline_timeout_s: int | None = Field(
        None, ge=300, le=7 * 86_400,
        description="Silence after which this device is offline, seconds (default: its kind's "
        "`offline_timeout_s` setting) — for a battery sensor that reports on change and "
        "checks in hourly, in a kind whose controllers beat every minute")


class DeviceBinding(StrictBody):
    """Where a device is and whom it serves (operators and admins only)."""

    site: str = Field("", max_length=64)
    building: str = Field("", max_length=64)
    unit: str = Field("", max_length=64)
    grid: str = Field("", max_length=64)
    resident_id: str | None = Field(None, max_length=64)
    offline_timeout_s: int | None = Field(
        None, ge=300, le=7 * 86_400,
        description="The device's own offline timeout, seconds, set by staff (null: its "
        "kind's); left out, the registration's stands. At most what its kind allows")


class DeviceCredentials(BaseModel):
    """A device's new MQTT password, shown this once."""

    mqtt_username: str
    mqtt_password: str


class TelemetryPoint(BaseModel):
    """One reading (or the average of a bucket when downsampled)."""

    ts: float
    values: dict[str, Any]
    samples: int = 1
