"""What an alert's stored `detail` may show: the event's facts, the rule's measure, a problem.

The rules keep, on each alert, what raised it: the event's small fields (`detail.event`: a
floor, a zone, a door, a room's gas level), the value a rule measured (`battery_pct`,
`silent_s`) and, for a salvaged payload, what was wrong with it. People read that here, with
what is personal left out — a location, vitals, a resident named in the event — because the
alert lists are not audited reads (the family page and the audited routes show those).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import orjson

from api.notes import redact_note
from api.personal import PEOPLE, PERSONAL_FIELDS, PERSONAL_READING_KEYS

log = logging.getLogger(__name__)

# A salvaged payload's problem, as long as an alert shows it (a NOTIFY between replicas must
# stay under PostgreSQL's 8000 bytes).
PAYLOAD_PROBLEM_MAX = 500
# The facts shown: as many and as long as a console line holds (and a NOTIFY carries).
FACTS_MAX = 16
FACT_TEXT_MAX = 120
# Never shown on an alert: a person's whereabouts, vitals and identity (routes that show those
# audit the read), and what the alert carries elsewhere.
_WITHHELD = frozenset((*PERSONAL_FIELDS, *PERSONAL_READING_KEYS, *PEOPLE, "fix",
                       "payload_problem", "payload_claim", "event", "snapshot", "snapshot_ts",
                       "ts", "type",
                       "snapshot_ref"))


@dataclass(frozen=True, slots=True)
class AlertDetail:
    """An alert's detail as people read it."""

    facts: dict[str, str | int | float | bool]
    event_type: str | None = None
    event_ts: float | None = None
    snapshot: bool = False
    payload_problem: str | None = None
    snapshot_ts: float | None = None  # the device time of the event that carried the picture
    snapshot_ref: str | None = None  # the link to the picture the camera or NVR keeps


EMPTY = AlertDetail({})


def parse_detail(detail: dict[str, Any] | str | None) -> dict[str, Any]:
    """A stored detail (a mapping, or JSON text as the row holds it) as a mapping."""
    if isinstance(detail, str):
        try:
            detail = orjson.loads(detail)
        except orjson.JSONDecodeError:
            log.warning("an alert's stored detail is not JSON: %.80s", detail)
            return {}
    return detail if isinstance(detail, dict) else {}


def present(detail: dict[str, Any] | str | None) -> AlertDetail:
    """What of an alert's detail is shown, and how."""
    if not detail:
        return EMPTY
    found = parse_detail(detail)
    event = found.get("event")
    event = event if isinstance(event, dict) else {}
    facts: dict[str, str | int | float | bool] = {}
    # The rule's measure first, then what the event said (the same field agrees).
    for source in (found, event):
        for name, value in source.items():
            if len(facts) >= FACTS_MAX or name in _WITHHELD or value is None:
                continue
            if isinstance(value, str):
                facts[name] = value[:FACT_TEXT_MAX]
            elif isinstance(value, bool | int | float):
                facts[name] = value
            elif isinstance(value, list) and value and all(
                    isinstance(v, str | int | float) for v in value):
                # a context the rule found (the lanes blocked in the building, say)
                facts[name] = ", ".join(map(str, value))[:FACT_TEXT_MAX]
    # The gateway's note that the payload named another device comes first (staff only); the
    # repair note names what was repaired, never a position's or a vital's value (red team
    # round 12: `location.lat '35.4123' read as a number`).
    salvaged = found.get("payload_problem")
    problem = "; ".join(str(p) for p in (found.get("payload_claim"),
                                         redact_note(str(salvaged)) if salvaged else None)
                        if p)
    ts = event.get("ts")
    shot_ts = event.get("snapshot_ts", ts)
    ref = event.get("snapshot_ref") or found.get("snapshot_ref")
    return AlertDetail(
        facts=facts,
        event_type=str(event["type"]) if event.get("type") else None,
        event_ts=float(ts) if isinstance(ts, int | float) else None,
        snapshot=event.get("snapshot") is True,
        snapshot_ts=float(shot_ts) if isinstance(shot_ts, int | float) else None,
        payload_problem=str(problem)[:PAYLOAD_PROBLEM_MAX] if problem else None,
        snapshot_ref=ref if isinstance(ref, str) else None)


def payload_problem(detail: dict[str, Any] | str | None) -> str | None:
    """What was wrong with the salvaged payload that raised an alert, or None."""
    if isinstance(detail, str) and "payload_problem" not in detail \
            and "payload_claim" not in detail:
        return None  # most alerts were raised by a sound payload: skip parsing
    return present(detail).payload_problem


def shown(alert_id: int, detail: dict[str, Any] | str | None) -> dict[str, Any]:
    """The fields of an alert's public body that come from its detail."""
    d = present(detail)
    return {"facts": d.facts, "event_type": d.event_type, "event_ts": d.event_ts,
            "snapshot_url": f"/alerts/{alert_id}/snapshot" if d.snapshot else None,
            "payload_problem": d.payload_problem, "snapshot_ref": d.snapshot_ref}
