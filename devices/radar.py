"""Fall and presence radar (毫米波跌倒检测雷达) in an elder's bathroom or bedroom: a fall, a
stay too long (如厕滞留), and who is in the room, breathing, without anything to wear.

A 60 GHz radar on the ceiling of a lone elder's bathroom sees a fall where a wristband is
taken off (the shower), and a long stay where no fall was seen (a collapse on the toilet).
Registered to the householder (`resident_id`); the room is on each alarm.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from devices.base import ANY_CASE, DeviceConfig, DeviceKind, Event, SignalDbm, Telemetry
from devices.words import stems

KEY = "radar"

ROOM = Field(None, max_length=32, description="The room it watches, as set at installation "
             "(bathroom, bedroom)")
STAY = Field(None, ge=0, le=7 * 86_400, description="Seconds the person has been in the room")
Posture = Annotated[Literal["standing", "sitting", "lying", "unknown"], ANY_CASE]


class RadarDevice(DeviceConfig):
    """Registration of a radar; `resident_id` names the householder it watches over."""

    kind: Literal["radar"] = "radar"


class RadarTelemetry(Telemetry):
    """Heartbeat: whether someone is in the room, for how long, and their breathing."""

    presence: bool | None = Field(None, description="Someone is in the room")
    target_count: int | None = Field(None, ge=0, le=20, description="People it sees")
    stay_s: int | None = STAY
    posture: Posture | None = Field(None, description="The person's posture")
    in_bed: bool | None = Field(None, description="Someone in bed (bed-exit pads)")
    breath_rpm: float | None = Field(None, ge=0, le=80, description="Breaths per minute")
    heart_rate_bpm: float | None = Field(
        None, ge=0, le=250, description="Heart rate seen by the radar, per minute (not a "
        "medical measurement: no vital-sign rule judges it)")
    signal_dbm: SignalDbm | None = None


class FallEvent(Event):
    """The radar saw a person fall and stay down."""

    type: Literal["fall"] = "fall"
    room: str | None = ROOM
    confidence: float | None = Field(None, ge=0, le=1, description="How sure, 0–1")
    posture: Posture | None = Field(None, description="Posture after the fall")


class LongStayEvent(Event):
    """Someone has stayed in the room longer than the radar allows (如厕滞留), or lies still."""

    type: Literal["long_stay"] = "long_stay"
    room: str | None = ROOM
    stay_s: int | None = STAY
    posture: Posture | None = Field(None, description="The person's posture now")


class MotionEvent(Event):
    """Movement seen in the room (a PIR sensor's trigger, a radar's): stored, no alert — a
    lone elder's sign of life for `radar.lone_elder_inactive` (vendor round 9: a PIR's
    `motion` was refused)."""

    type: Literal["motion"] = "motion"
    room: str | None = ROOM


class LeftEvent(Event):
    """The person left the room (or got up): a long stay is over."""

    type: Literal["left"] = "left"
    room: str | None = ROOM


class OutOfBedEvent(Event):
    """Out of bed and not back within the device's own time (离床未归): a bed-exit pad under
    the mattress, or a radar over the bed. At night, for an elder who lives alone, they may
    be lying somewhere else (vendor round 8: a mattress pad had no word for it)."""

    type: Literal["out_of_bed"] = "out_of_bed"
    room: str | None = ROOM
    away_s: int | None = Field(
        None, ge=0, le=7 * 86_400, description="Seconds since the person left the bed")


class BackInBedEvent(Event):
    """Back in bed: an out-of-bed alarm is over."""

    type: Literal["back_in_bed"] = "back_in_bed"
    room: str | None = ROOM


class FaultEvent(Event):
    """The radar does not work (blocked, misaligned, a hardware fault)."""

    type: Literal["fault"] = "fault"
    code: str = Field(min_length=1, max_length=32, description="Vendor fault code")
    detail: str | None = Field(None, max_length=200, description="What is wrong, readable")


KIND = DeviceKind(
    key=KEY,
    name_zh="跌倒检测雷达",
    name_en="Fall and presence radar",
    config=RadarDevice,
    telemetry=RadarTelemetry,
    events=(FallEvent, LongStayEvent, LeftEvent, OutOfBedEvent, BackInBedEvent, MotionEvent,
            FaultEvent),
    # Mains powered, a heartbeat a minute or so: ten minutes of silence is offline.
    offline_timeout_s=10 * 60,
    # A vendor's own timeout at most an hour (a bed-exit pad on batteries checks in less often
    # than a ceiling radar; red team round 11: 26 h hid a lone elder's dead fall radar).
    own_timeout_max_s=3600,
    description="Ceiling radars in elders' bathrooms and bedrooms (falls, long stays) and "
                "bed-exit pads (out of bed and not back).",
    urgent=("fall",),
    urgent_stems=stems("fall", strong=("跌倒", "摔倒", "倒地", "躺地", "坠床", "跌落", "摔跤",
                                       "掉床", "fallen"),
                       weak=("躺卧", "lying")),
    urgent_aliases=(("fall_down", "fall"), ("fall_detected", "fall"), ("跌倒", "fall"),
                    ("fall_confirmed", "fall"), ("confirmed_fall", "fall"),
                    ("摔倒", "fall"), ("tumble", "fall"), ("fall_alarm", "fall"),
                    ("倒地", "fall"),
                    # A fall out of bed, or on getting up from it: what bed devices exist to
                    # catch (vendor round 11: each refused, never paged).
                    ("坠床", "fall"), ("fall_from_bed", "fall"), ("bed_fall", "fall"),
                    ("跌落床下", "fall"), ("掉床", "fall"), ("床边跌倒", "fall"),
                    ("离床跌倒", "fall"), ("fell_out_of_bed", "fall"),
                    # Vendor round 12: a bathroom radar's word for someone down.
                    ("lying_on_floor", "fall"), ("lying_on_the_floor", "fall"),
                    ("person_lying", "fall")),
    other_words=(("stay_too_long", "long_stay"), ("long_stay_alarm", "long_stay"),
                 ("stay_timeout", "long_stay"), ("滞留", "long_stay"),
                 ("如厕滞留", "long_stay"), ("如厕超时", "long_stay"), ("滞留报警", "long_stay"),
                 ("no_motion", "long_stay"), ("inactivity", "long_stay"),
                 ("长时间未动", "long_stay"), ("久滞", "long_stay"),
                 # A welfare kit's own "nobody has moved for hours" (vendor round 11: refused,
                 # and three read as a "device fault" at a lone elder's).
                 ("no_activity", "long_stay"), ("长时间无活动", "long_stay"),
                 ("无人活动", "long_stay"), ("长时间未活动", "long_stay"),
                 ("长时间未活动报警", "long_stay"), ("inactive_alarm", "long_stay"),
                 ("activity_abnormal", "long_stay"), ("no_activity_alarm", "long_stay"),
                 ("leave", "left"), ("person_left", "left"), ("离开", "left"),
                 ("got_up", "left"), ("起身", "left"),
                 ("bed_exit", "out_of_bed"), ("leave_bed", "out_of_bed"),
                 ("离床", "out_of_bed"), ("离床未归", "out_of_bed"), ("离床报警", "out_of_bed"),
                 ("离床超时", "out_of_bed"), ("bed_exit_timeout", "out_of_bed"),
                 ("in_bed", "back_in_bed"), ("上床", "back_in_bed"), ("回床", "back_in_bed")),
)
