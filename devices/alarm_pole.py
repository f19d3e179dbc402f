"""One-button alarm pole (一键报警智能杆柱): a press, the intercom call, tamper and faults."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from devices.base import (
    ANY_CASE,
    DeviceConfig,
    DeviceId,
    DeviceKind,
    Event,
    SignalDbm,
    SnapshotRef,
    Telemetry,
)
from devices.commands import CommandArgs, CommandSpec
from devices.extremes import danger
from devices.words import BUTTON_WORDS, aliases, stems

KEY = "alarm_pole"

# In any case (`4G`, `WiFi`: vendor round 4 saw a heartbeat refused over `"4G"`, and the
# pole then shown offline).
Network = Annotated[Literal["ethernet", "4g", "5g", "wifi"], ANY_CASE]


class AlarmPoleDevice(DeviceConfig):
    """Registration of an alarm pole in a yard, a gate or a square (no resident)."""

    kind: Literal["alarm_pole"] = "alarm_pole"


class AlarmPoleTelemetry(Telemetry):
    """Heartbeat: mains power, the backup battery (`battery_pct`) and the network link; a
    smart lamp pole (智慧灯杆) with the button adds its lamp, tilt and leakage current."""

    mains_v: float | None = Field(
        None, ge=0, le=300, description="Mains voltage, V (0: running on the backup battery)")
    network: Network | None = Field(None, description="Link the pole is using now")
    signal_dbm: SignalDbm | None = None
    lamp_on: bool | None = Field(None, description="A lamp pole's lamp is lit")
    dim_pct: float | None = Field(None, ge=0, le=100, description="The lamp's dimming level, %")
    power_w: float | None = Field(None, ge=0, le=5000, description="The pole's power draw, W")
    tilt_deg: float | None = Field(None, ge=0, le=90, description="Tilt from upright, degrees",
                                   json_schema_extra=danger("high"))
    leakage_ma: float | None = Field(
        None, ge=0, le=10_000, description="Leakage current to the pole's body, mA",
        json_schema_extra=danger("high"))


class ButtonPressedEvent(Event):
    """Someone pressed the alarm button; the pole also rings the control room."""

    type: Literal["button_pressed"] = "button_pressed"
    camera_id: DeviceId | None = Field(
        None, description="Device id of the camera watching the pole, as configured on it")
    snapshot_ref: SnapshotRef | None = Field(
        None, description="Where the picture taken at the press is: an http(s)://, rtsp(s):// or "
        "nvr:// reference")


class SnapshotEvent(Event):
    """The picture of a press, sent on its own a few seconds after it (the pole uploads it
    first) — or just before it: it goes onto the press's alert, and counts as no press."""

    type: Literal["snapshot"] = "snapshot"
    snapshot_ref: SnapshotRef = Field(
        description="Where the picture is: an http(s)://, rtsp(s):// or nvr:// reference")
    ref_seq: int | None = Field(
        None, ge=0, le=2**63 - 1, description="The `seq` of the press it shows")
    camera_id: DeviceId | None = Field(
        None, description="Device id of the camera that took it, as configured on the pole")


class CallConnectedEvent(Event):
    """The control room answered the pole's intercom call."""

    type: Literal["call_connected"] = "call_connected"
    call_id: str = Field(min_length=1, max_length=64, description="Call id, the same at the end")
    answered_by: str | None = Field(None, max_length=64, description="Seat or operator")


class CallEndedEvent(Event):
    """The intercom call ended (answered or not)."""

    type: Literal["call_ended"] = "call_ended"
    call_id: str = Field(min_length=1, max_length=64, description="Call id")
    duration_s: int | None = Field(None, ge=0, le=86_400, description="Talk time, seconds")


class TamperEvent(Event):
    """The pole's door was opened, it was struck or tilted, or its camera was covered."""

    type: Literal["tamper"] = "tamper"
    detail: str | None = Field(None, max_length=200, description="What the sensor saw")


class TiltEvent(Event):
    """The pole leans (struck by a vehicle, its footing gives way): it may fall on people."""

    type: Literal["tilt"] = "tilt"
    tilt_deg: float | None = Field(None, ge=0, le=90, description="Tilt from upright, degrees",
                                   json_schema_extra=danger("high"))


class LeakageEvent(Event):
    """Current leaks to the pole's body: whoever touches it may be shocked."""

    type: Literal["leakage"] = "leakage"
    leakage_ma: float | None = Field(
        None, ge=0, le=10_000, description="Leakage current, mA",
        json_schema_extra=danger("high"))


class LampFailureEvent(Event):
    """A lamp pole's lamp does not light (the alarm button still works)."""

    type: Literal["lamp_failure"] = "lamp_failure"
    detail: str | None = Field(None, max_length=200, description="What is wrong, readable")


class FaultEvent(Event):
    """Something on the pole does not work (button, speaker, light, mains)."""

    type: Literal["fault"] = "fault"
    code: str = Field(min_length=1, max_length=32, description="Vendor fault code")
    detail: str | None = Field(None, max_length=200, description="What is wrong, readable")


class PowerFailureEvent(Event):
    """The pole lost its mains (停电): it runs on its battery (`alarm_pole.on_battery` judges
    how long)."""

    type: Literal["power_failure"] = "power_failure"


class PowerRestoredEvent(Event):
    """The mains came back (来电)."""

    type: Literal["power_restored"] = "power_restored"


class SirenArgs(CommandArgs):
    """How long the siren and strobe run."""

    duration_s: int = Field(30, ge=1, le=300, description="Seconds of siren and strobe")


SOUND_SIREN = CommandSpec(
    acts=True,
    name="sound_siren",
    description="Sound the pole's siren and strobe (to deter, or to guide responders)",
    args=SirenArgs,
    # A siren minutes after the operator asked meets nobody it was meant for.
    ttl_s=30.0, max_ttl_s=120.0,
)


KIND = DeviceKind(
    key=KEY,
    name_zh="一键报警杆",
    name_en="Alarm pole",
    config=AlarmPoleDevice,
    telemetry=AlarmPoleTelemetry,
    events=(ButtonPressedEvent, SnapshotEvent, CallConnectedEvent, CallEndedEvent, TamperEvent,
            FaultEvent, TiltEvent, LeakageEvent, LampFailureEvent, PowerFailureEvent,
            PowerRestoredEvent),
    # Heartbeat every 5 minutes; a pole that cannot be reached is an alarm nobody would hear.
    offline_timeout_s=15 * 60,
    own_timeout_max_s=15 * 60,
    description="One-button alarm poles in yards, squares and at gates.",
    command_specs=(SOUND_SIREN,),
    urgent=("button_pressed",),
    urgent_stems=stems("button_pressed", strong=("求救", "求助", "呼救", "救命", "报警按钮",
                                                 "紧急按钮", "一键报警", "紧急呼叫")),
    other_words=(("倾斜", "tilt"), ("tilted", "tilt"), ("漏电", "leakage"),
                 ("leakage_current", "leakage"), ("lamp_fail", "lamp_failure"),
                 ("灯具故障", "lamp_failure"), ("lamp_fault", "lamp_failure"),
                 # Vendor round 10: a pole's mains words were refused.
                 ("停电", "power_failure"), ("断电", "power_failure"),
                 ("mains_lost", "power_failure"), ("mains_failure", "power_failure"),
                 ("power_off", "power_failure"), ("来电", "power_restored"),
                 ("恢复供电", "power_restored"), ("mains_restored", "power_restored"),
                 ("power_on", "power_restored")),
    urgent_aliases=aliases(
        "button_pressed", *BUTTON_WORDS, "button", "pressed", "one_button_alarm",
        "one_key_alarm", "sos_call", "emergency_call",
        # Vendor round 4: words of pole and intercom firmware.
        "button_press", "press", "panic", "one_key_help", "sos_button", "call_for_help",
        "key_alarm",
        # Vendor round 5 (with decorations: `sos_alarm`, `紧急呼叫` are read).
        "one_key", "一键求救",
        # An elevator car's button registered as a pole before elevators were a kind.
        "trapped", "passenger_trapped", "困人", "电梯困人",
        # Vendor round 12: an intercom pole calling the control room is a press.
        "call_request", "呼叫中心", "call_center", "呼叫值班室"),
)
