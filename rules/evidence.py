"""What an open alert keeps of the events that raised and repeated it.

An alert is one per (rule, device), so a door controller's second forced door, a camera's
second throw or a locker's second pried compartment repeat the open alert. Each repeat used
to replace the alert's facts: the first door, the first throw's floor and its picture
vanished from the control room's view (vendor round 4). Now the facts that say *where* add
up, the latest measurements stand, and a picture stays until a newer one replaces it.
"""

from __future__ import annotations

from typing import Any

# Distinct values of one fact kept on an alert (a four-door controller, a cabinet's doors).
MAX_VALUES = 8
# The facts that say where to go: a new value of one is news (another door forced).
WHERE_FACTS = ("door", "zone", "compartment", "floor", "room")


def merge_evidence(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The evidence of an alert repeated by `new` (both as rules/ports.Message.evidence)."""
    merged = dict(old)
    for name, value in new.items():
        if name in ("type", "ts") or isinstance(value, float) or name.endswith("_ref"):
            merged[name] = value  # the latest event, measurement and picture link
            continue
        if name == "snapshot":
            continue  # below: it goes with the time of the event that carried it
        kept = old.get(name)
        if kept is None or kept == value:
            merged[name] = value
            continue
        values = list(kept) if isinstance(kept, list) else [kept]
        if value not in values:
            values = [*values, value][-MAX_VALUES:]
        merged[name] = values
    if new.get("snapshot"):
        merged["snapshot"], merged["snapshot_ts"] = True, new.get("ts")
    elif old.get("snapshot") and "snapshot_ts" not in old:
        merged["snapshot_ts"] = old.get("ts")
    return merged


def new_places(old: dict[str, Any], merged: dict[str, Any]) -> list[str]:
    """The where-facts (`door door-3`) that `merged` names and `old` did not."""
    found = []
    for name in WHERE_FACTS:
        kept = old.get(name)
        before = kept if isinstance(kept, list) else [] if kept is None else [kept]
        now = merged.get(name)
        for value in now if isinstance(now, list) else [] if now is None else [now]:
            if value not in before and before:
                found.append(f"{name} {value}")
    return found
