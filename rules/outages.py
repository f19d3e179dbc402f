"""Building outages: most watched devices of one building silent at once is one alert for the
building (a power or network cut), not one per device."""

from __future__ import annotations

from collections.abc import Iterable

from rules.alerts import AlertBook
from rules.conditions import Evaluator
from rules.ports import DeviceDirectory, Subject, Tx
from rules.system import BUILDING_OUTAGE, SYSTEM_RULES
from rules.system import building_device_id as _building_device

Building = tuple[str, str]  # (site, building)


def by_building(evaluators: Iterable[Evaluator], devices: DeviceDirectory,
                ) -> tuple[dict[Building, set[str]], dict[Building, set[str]]]:
    """Devices watched for silence per building, and those of them silent now."""
    seen: dict[Building, set[str]] = {}
    absent: dict[Building, set[str]] = {}
    for ev in evaluators:
        for device_id, st in ev.states.items():
            subject = devices.subject(device_id)
            if subject is None or not subject.building:
                continue
            key = (subject.site, subject.building)
            seen.setdefault(key, set()).add(device_id)
            if st.data.get("on"):
                absent.setdefault(key, set()).add(device_id)
    return seen, absent


def suspects(evaluators: Iterable[Evaluator], devices: DeviceDirectory) -> set[str]:
    """The watched devices of every building where one looks silent (replicas revalidate
    them before an outage is judged on what another replica may have heard since)."""
    seen, absent = by_building(evaluators, devices)
    return set().union(*(seen[key] for key in absent))


def judge(evaluators: Iterable[Evaluator], devices: DeviceDirectory, book: AlertBook,
          tx: Tx, now: float, *, min_devices: int, fraction: float) -> None:
    """Raise the outage alert of each building that is out; resolve the others'."""
    seen, absent = by_building(evaluators, devices)
    rule = SYSTEM_RULES[BUILDING_OUTAGE]
    out = {key for key, devs in absent.items()
           if len(devs) >= min_devices and len(devs) / len(seen[key]) >= fraction}
    for (site, building) in out:
        device_id = _building_device(site, building)
        if (rule.id, device_id) not in book.open:
            subject = Subject(device_id, "building", site=site, building=building)
            book.raise_alert(tx, rule, subject, now, severity=rule.severity, resident_id=None,
                             stale=False, detail={"silent": len(absent[(site, building)]),
                                                  "devices": len(seen[(site, building)])})
    for device_id, alert in list(book.open_by_rule.get(rule.id, {}).items()):
        if (alert.site, alert.building) not in out:
            book.resolve(tx, rule.id, device_id, now, "devices heard from again")
