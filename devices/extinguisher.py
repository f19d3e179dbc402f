"""Smart fire extinguisher (智能灭火器): its pressure, its bracket, its expiry date (到期提醒).

A sensor cap on the cylinder reads the gauge pressure and whether the extinguisher hangs on
its bracket; its expiry date (the cylinder's or the powder's) rides on every heartbeat, and
the gateway keeps it as an asset with a reminder ticket before the date — the communities'
"fire-extinguisher expiry smart reminders" (灭火器过期智能提醒). A discharge means someone is
fighting a fire, or the extinguisher is being emptied: it pages like a smoke alarm.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from devices.base import DeviceConfig, DeviceKind, Event, SignalDbm, Telemetry

KEY = "extinguisher"

PRESSURE = Field(None, ge=0, le=10, description="Gauge pressure, MPa (a charged dry-powder "
                 "extinguisher reads about 1.2; its gauge's green band is about 1.0 to 1.4)")


class ExtinguisherDevice(DeviceConfig):
    """Registration of a smart extinguisher (its place: where it hangs)."""

    kind: Literal["extinguisher"] = "extinguisher"


# Expiry dates an extinguisher can carry: outside them the date is a firmware fault (an unset
# RTC's 0001-01-01 broke the reminders' date arithmetic: red team round 4).
EXPIRY_MIN = date(2000, 1, 1)
EXPIRY_MAX = date(2099, 12, 31)


# Where the caps are: an expiry sent as epoch time names a date of China's calendar (vendor
# round 10: 2027-03-15 00:00 Beijing time, as epoch ms, was read as the UTC date, 03-14).
_CHINA = timezone(timedelta(hours=8))
_EPOCH = re.compile(r"^\d{9,13}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _epoch_as_date(value: object) -> object:
    """An epoch (seconds or ms, as a number or digits) as its date in China time; a
    `YYYY-MM-DD` text as its date (what the strict model would read)."""
    text = str(value).strip() if type(value) is int or isinstance(value, str) else ""
    if _EPOCH.match(text):
        number = int(text)
        seconds = number / 1000 if number > 10**11 else number
        return datetime.fromtimestamp(seconds, _CHINA).date()
    if _ISO_DATE.match(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            return value
    return value


ExpiryDate = Annotated[date, BeforeValidator(_epoch_as_date)]


class ExtinguisherTelemetry(Telemetry):
    """Heartbeat: pressure, whether it hangs on its bracket, and when it expires."""

    pressure_mpa: float | None = PRESSURE
    in_place: bool | None = Field(None, description="Whether it hangs on its bracket")
    expires_on: ExpiryDate | None = Field(
        None, ge=EXPIRY_MIN, le=EXPIRY_MAX,
        description="The date it expires (YYYY-MM-DD, 2000-01-01 … 2099-12-31): the gateway "
        "opens a reminder ticket before it (workflow.reminder_days, 30 by default)")
    signal_dbm: SignalDbm | None = None


class LowPressureEvent(Event):
    """The pressure fell below the green band: it may not work when needed."""

    type: Literal["low_pressure"] = "low_pressure"
    pressure_mpa: float | None = PRESSURE


class HighPressureEvent(Event):
    """The pressure rose above the green band (a cylinder in the sun, or near a fire)."""

    type: Literal["high_pressure"] = "high_pressure"
    pressure_mpa: float | None = PRESSURE


class ExtinguisherFaultEvent(Event):
    """A fault of the sensor cap."""

    type: Literal["fault"] = "fault"
    detail: str | None = Field(None, max_length=200, description="What is wrong, readable")


class RemovedEvent(Event):
    """Taken off its bracket (to a fire, or away: the spot is unprotected)."""

    type: Literal["removed"] = "removed"


class ReplacedEvent(Event):
    """Hung back on its bracket."""

    type: Literal["replaced"] = "replaced"


class DischargedEvent(Event):
    """The cylinder is being emptied: someone is fighting a fire (or playing with it)."""

    type: Literal["discharged"] = "discharged"
    pressure_mpa: float | None = PRESSURE


class LowBatteryEvent(Event):
    """The sensor cap's battery fell below its own threshold."""

    type: Literal["low_battery"] = "low_battery"
    battery_pct: float = Field(ge=0, le=100, description="Battery charge, percent")


KIND = DeviceKind(
    key=KEY,
    name_zh="智能灭火器",
    name_en="Smart fire extinguisher",
    config=ExtinguisherDevice,
    telemetry=ExtinguisherTelemetry,
    events=(LowPressureEvent, HighPressureEvent, RemovedEvent, ReplacedEvent, DischargedEvent,
            LowBatteryEvent, ExtinguisherFaultEvent),
    # NB-IoT caps send one heartbeat a day: a day and an hour of silence is offline.
    offline_timeout_s=25 * 3600,
    description="Extinguishers with a sensor cap: pressure, bracket, expiry reminders.",
    urgent=("discharged",),
    # Other words of caps' firmware for the other events (vendor round 5 re-check).
    other_words=(("pressure_drop", "low_pressure"), ("pressure_loss", "low_pressure"),
                 ("pressure_low", "low_pressure"), ("under_pressure", "low_pressure"),
                 ("empty", "low_pressure"), ("欠压", "low_pressure"), ("压力低", "low_pressure"),
                 ("压力不足", "low_pressure"), ("off_bracket", "removed"), ("离位", "removed"),
                 ("on_bracket", "replaced"), ("归位", "replaced"),
                 # Vendor round 10.
                 ("低压", "low_pressure"), ("over_pressure", "high_pressure"),
                 ("overpressure", "high_pressure"), ("pressure_high", "high_pressure"),
                 ("超压", "high_pressure"), ("压力过高", "high_pressure"),
                 ("sensor_fault", "fault"), ("故障", "fault")),
    urgent_aliases=(("discharge", "discharged"), ("used", "discharged"),
                    ("in_use", "discharged"), ("spraying", "discharged"),
                    # Vendor round 5: caps say the agent was sprayed or released.
                    ("spray", "discharged"), ("sprayed", "discharged"),
                    ("release", "discharged"), ("released", "discharged"),
                    ("喷射", "discharged"), ("释放", "discharged"), ("使用", "discharged")),
)
