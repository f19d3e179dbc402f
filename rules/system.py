"""Rules the engine raises itself (broker down, building outage), so inhibitions can name them."""

from __future__ import annotations

from rules.conditions.absence import AbsenceCondition
from rules.model import Names, Rule

BROKER_DOWN = "system.broker_down"
BUILDING_OUTAGE = "system.building_outage"
CLOCK_SKEW = "device.clock_skew"
DEVICE_REFUSED = "device.refused"
UNREGISTERED_ALARM = "device.unregistered_alarm"
GATEWAY_DEVICE = "gateway"

SYSTEM_RULES: dict[str, Rule] = {
    BROKER_DOWN: Rule(
        id=BROKER_DOWN,
        name=Names(zh="网关与消息服务器断开", en="Gateway lost the MQTT broker"),
        kind="*", condition=AbsenceCondition(), severity="major",
        category="device_fault",
    ),
    BUILDING_OUTAGE: Rule(
        id=BUILDING_OUTAGE,
        name=Names(zh="楼栋设备大面积离线", en="Most devices in a building went silent"),
        kind="*", condition=AbsenceCondition(), severity="major",
        category="device_fault",
    ),
    # Maintenance, not an emergency: the device's urgent events still page on receipt.
    CLOCK_SKEW: Rule(
        id=CLOCK_SKEW,
        name=Names(zh="设备时钟偏差过大", en="Device clock is off"),
        kind="*", condition=AbsenceCondition(), severity="info",
        category="device_fault",
    ),
    # Raised with the severity the broken channel deserves (gateway/refusal_watch.py).
    DEVICE_REFUSED: Rule(
        id=DEVICE_REFUSED,
        name=Names(zh="设备消息持续被拒收", en="Device messages keep being refused"),
        kind="*", condition=AbsenceCondition(), severity="major",
        category="device_fault",
    ),
    # A hub's child nobody registered sent an alarm (vendor round 6: a smoke alarm from an
    # unpaired Zigbee sensor was a dead letter). One alert per hub and category: that of the
    # rule the alarm would have met (rules/engine_controls.py).
    UNREGISTERED_ALARM: Rule(
        id=UNREGISTERED_ALARM,
        name=Names(zh="未登记设备报警", en="Alarm from a device nobody registered"),
        kind="*", condition=AbsenceCondition(), severity="critical",
        category="other", options={"auto_clear": False},
    ),
}


def hub_device_id(hub: str, category: str) -> str:
    """The pseudo device an alert about a hub's unregistered children is keyed on: one per
    hub and category, so a child's fire is not folded into another's SOS (red team round 6
    re-check), and a hub inventing children cannot open alerts without end."""
    return f"hub:{hub}/{category}"


def building_device_id(site: str, building: str) -> str:
    """The pseudo device an outage alert is keyed on."""
    return f"building:{site}/{building}"
