"""Elderly wristband (智慧手环): vitals, location, SOS / fall / removal events."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from devices.base import DeviceConfig, DeviceKind, Event, Location, Telemetry
from devices.commands import CommandResult, CommandSpec
from devices.extremes import danger
from devices.words import aliases, stems

KEY = "wristband"


class WristbandDevice(DeviceConfig):
    """Registration of a wristband; `resident_id` names its wearer."""

    kind: Literal["wristband"] = "wristband"


class WristbandTelemetry(Telemetry):
    """Periodic vitals and position; every field is optional, send what was measured."""

    # Past a bound the way `danger` says, a value is kept at the bound, noted as out of range,
    # and judged (devices/extremes.py): 0.8 mmol/L or 290/150 mmHg is the crisis, not a fault
    # (red team round 12: both were refused whole, and no crisis rule saw them).
    heart_rate_bpm: int | None = Field(None, ge=20, le=250, description="Heart rate, beats/min",
                                       json_schema_extra=danger("low"))
    spo2_pct: float | None = Field(None, ge=50, le=100, description="Blood oxygen saturation, %",
                                   json_schema_extra=danger("low"))
    systolic_mmhg: int | None = Field(None, ge=50, le=280, description="Systolic pressure, mmHg",
                                      json_schema_extra=danger("both"))
    diastolic_mmhg: int | None = Field(None, ge=30, le=180,
                                       description="Diastolic pressure, mmHg",
                                       json_schema_extra=danger("high"))
    # A meter shows `LO` below 1.1 mmol/L and `HI` above 33.3.
    glucose_mmol_l: float | None = Field(None, ge=1.0, le=35.0,
                                         description="Blood glucose, mmol/L",
                                         json_schema_extra=danger("both", LO=1.1, HI=33.3))
    body_temp_c: float | None = Field(None, ge=30.0, le=45.0, description="Skin temperature, °C")
    steps: int | None = Field(None, ge=0, le=200_000, description="Steps counted today")
    worn: bool | None = Field(None, description="Whether the band senses skin contact")
    location: Location | None = Field(None, description="Latest position fix")

    @model_validator(mode="after")
    def _blood_pressure_pair(self) -> Self:
        # Either half may come alone (a cuff that sends the systolic first, a half its sensor
        # did not measure): each is judged by its own rule (red team round 12: a lone 230
        # systolic was refused, and 230/0 lost both halves). Together, they must make sense.
        sys_, dia = self.systolic_mmhg, self.diastolic_mmhg
        if sys_ is not None and dia is not None and sys_ <= dia:
            raise PydanticCustomError(
                "out_of_range",
                "systolic_mmhg {sys} must be greater than diastolic_mmhg {dia}",
                {"sys": sys_, "dia": dia},
            )
        return self


class SosEvent(Event):
    """The wearer pressed the SOS button (一键报警)."""

    type: Literal["sos"] = "sos"
    location: Location | None = Field(None, description="Position when pressed")


class FallEvent(Event):
    """The band detected a fall (跌倒)."""

    type: Literal["fall"] = "fall"
    location: Location | None = Field(None, description="Position of the fall")
    confidence: float | None = Field(None, ge=0, le=1, description="Detector confidence")


class FallWarningEvent(Event):
    """A suspected fall (跌倒预警, 疑似跌倒) the band is asking its wearer to confirm: shown,
    paged critical only when neither the wearer's answer nor the band's confirmed `fall`
    follows within a minute."""

    type: Literal["fall_warning"] = "fall_warning"
    location: Location | None = Field(None, description="Position of the suspected fall")
    confidence: float | None = Field(None, ge=0, le=1, description="Detector confidence")


class FallCancelledEvent(Event):
    """The wearer answered that they are fine (跌倒取消: the band's "I'm OK" after a suspected
    or detected fall)."""

    type: Literal["fall_cancelled"] = "fall_cancelled"


class RemovedEvent(Event):
    """The band was taken off (摘除)."""

    type: Literal["removed"] = "removed"


class WornEvent(Event):
    """The band is on the wrist again."""

    type: Literal["worn"] = "worn"


class LowBatteryEvent(Event):
    """Battery fell below the band's own threshold."""

    type: Literal["low_battery"] = "low_battery"
    battery_pct: float = Field(ge=0, le=100, description="Battery charge, percent")


class LocateResult(CommandResult):
    """Where the band is, fixed on request."""

    location: Location | None = Field(None, description="The fresh fix, if one was obtained")


LOCATE_NOW = CommandSpec(
    name="locate_now",
    description="Take a position fix now and report it (also sent as telemetry)",
    result=LocateResult,
    # A position asked for now is worthless in ten minutes.
    ttl_s=120.0, max_ttl_s=600.0,
)


KIND = DeviceKind(
    key=KEY,
    name_zh="智慧手环",
    name_en="Wristband",
    config=WristbandDevice,
    telemetry=WristbandTelemetry,
    events=(SosEvent, FallEvent, FallWarningEvent, FallCancelledEvent, RemovedEvent, WornEvent,
            LowBatteryEvent),
    offline_timeout_s=30 * 60,
    own_timeout_max_s=2 * 3600,
    description="Worn by elderly residents; families see its location and vitals.",
    command_specs=(LOCATE_NOW,),
    urgent=("sos", "fall"),
    urgent_stems=(*stems("sos", strong=("求救", "求助", "呼救", "救命", "紧急呼叫")),
                  *stems("fall", strong=("跌倒", "摔倒", "倒地", "摔跤", "跌落", "fallen"))),
    confirmed=("fall_warning", "fall_cancelled"),
    urgent_aliases=(("emergency", "sos"), ("help", "sos"), ("sos_alarm", "sos"),
                    ("panic", "sos"), ("sos_call", "sos"), ("sos_key", "sos"),
                    ("sos_button", "sos"), ("one_key_alarm", "sos"), ("one_key_sos", "sos"),
                    ("sos求救", "sos"), ("救命", "sos"), ("一键sos", "sos"), ("sos键", "sos"),
                    ("emergency_call", "sos"), ("fall_down", "fall"),
                    ("fall_detected", "fall"), ("fall_alarm", "fall"),
                    ("fall_confirmed", "fall"), ("confirmed_fall", "fall"),
                    ("求救", "sos"), ("求助", "sos"), ("一键呼救", "sos"), ("一键求助", "sos"),
                    ("一键报警", "sos"), ("跌倒", "fall"), ("摔倒", "fall"),
                    # Vendor round 5 (with decorations: `sos_key_alarm`, `摔倒报警` are read).
                    ("紧急", "sos"), ("呼救", "sos"), ("一键求救", "sos"), ("tumble", "fall"),
                    # A fall the band is sure of because its wearer did not answer (red team
                    # round 11: refused, never paged; Chinese puts 确认 after the noun too).
                    *aliases("fall", "跌倒确认", "摔倒确认", "跌倒已确认", "摔倒已确认",
                             "fall_confirm", "fall_no_response", "跌倒无响应", "摔倒无响应",
                             "跌倒未响应", "fall_timeout", "跌倒超时", "跌倒预警超时",
                             "fall_warning_timeout", "fall_not_cancelled", "fall_uncancelled",
                             "跌倒未取消", "fall_unanswered")),
    # Vendor round 7: a band's Chinese words for its other events.
    other_words=(("摘下", "removed"), ("摘除", "removed"), ("手环摘除", "removed"),
                 ("脱落", "removed"), ("佩戴", "worn"), ("戴上", "worn"), ("已佩戴", "worn"),
                 ("低电量", "low_battery"), ("电量低", "low_battery"),
                 ("低电报警", "low_battery"), ("taken_off", "removed"), ("off_wrist", "removed"),
                 ("on_wrist", "worn"), ("battery_low", "low_battery"),
                 # Vendor round 9: a suspected fall the band asks its wearer about is no
                 # confirmed fall (it paged as one), and the wearer's "I'm fine" had no word.
                 ("fall_suspected", "fall_warning"), ("suspected_fall", "fall_warning"),
                 ("fall_pre_alarm", "fall_warning"), ("fall_prealarm", "fall_warning"),
                 ("possible_fall", "fall_warning"), ("fall_alert_pending", "fall_warning"),
                 ("跌倒预警", "fall_warning"), ("疑似跌倒", "fall_warning"),
                 ("跌倒疑似", "fall_warning"), ("摔倒预警", "fall_warning"),
                 ("fall_cancel", "fall_cancelled"), ("fall_canceled", "fall_cancelled"),
                 ("cancel_fall", "fall_cancelled"), ("fall_false_alarm", "fall_cancelled"),
                 ("跌倒取消", "fall_cancelled"), ("取消跌倒", "fall_cancelled"),
                 ("跌倒误报", "fall_cancelled")),
)
