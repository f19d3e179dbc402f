"""A repaired message's note (`salvaged.detail`) names the fields the gateway repaired and how
it read them, never the values of a resident's fields, wherever someone who must not see them
reads it: the vendor of a device that serves someone or is installed (its message view, the
telemetry series, the device's event list), and everyone on the unaudited views (the device's
event list, the alerts). Red team round 12 (R12-6): the vendor followed an elder's heart rate,
oxygen, glucose, blood pressure, breathing in bed and GPS fix through the note.

The fields are every field of every kind's readings and events that api/personal.py withholds
from a vendor (`WITHHELD_VALUES`), each sent in the commonest firmware slip (a number or a
flag as text, a word in capitals, an id as a number) with two different values: what the
vendor reads must be the same for both.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from pydantic import BaseModel

from api.notes import VALUE_WITHHELD, redact_note
from api.personal import WITHHELD_VALUES
from devices.catalogue import CATALOGUE
from tests.api.conftest import Api
from tests.conftest import T0
from tests.support.clients import Publisher

LOW, HIGH = 0.4137, 0.5863  # where in a field's range the two values sent lie
MID = 0.52  # where the other withheld fields' valid values lie (off 0, 0: no GPS fix)


@dataclass(frozen=True)
class Case:
    """One withheld field of one model of a kind, sent repaired with two values."""

    kind: str
    channel: str
    model: type[BaseModel]
    field: str


def _schema(model: type[BaseModel]) -> tuple[dict[str, Any], dict[str, Any]]:
    schema = model.model_json_schema()
    return schema, schema.get("$defs", {})


def _resolved(prop: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """A property's schema without `null` and references."""
    options = [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"]
    found = options[0] if options else prop
    if "$ref" in found:
        return defs[found["$ref"].rsplit("/", 1)[-1]]
    return found


def _value(prop: dict[str, Any], defs: dict[str, Any], at: float) -> Any:
    """A valid value `at` the fraction of the property's range."""
    prop = _resolved(prop, defs)
    if "const" in prop:
        return prop["const"]
    if "enum" in prop:
        return prop["enum"][min(int(at * len(prop["enum"])), len(prop["enum"]) - 1)]
    kind = prop.get("type")
    if kind in ("integer", "number"):
        lo, hi = prop.get("minimum", 0), prop.get("maximum", 100)
        value = lo + (hi - lo) * at
        return round(value) if kind == "integer" else round(value, 3)
    if kind == "boolean":
        return at >= MID
    if kind == "object":
        required = prop.get("required", [])
        return {name: _value(sub, defs, at) for name, sub in prop["properties"].items()
                if name in required}
    return f"v{round(at * 10_000)}"


def _slip(prop: dict[str, Any], defs: dict[str, Any], at: float) -> Any:
    """A valid value in the form firmware gets wrong: a number as text, a flag as a word, a
    word in capitals, an id as a number, a fix of numbers as text."""
    resolved = _resolved(prop, defs)
    value = _value(prop, defs, at)
    if resolved.get("type") == "object":
        return {k: str(v) if isinstance(v, int | float) else v for k, v in value.items()}
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    if "enum" in resolved:
        return f" {value.upper()} "
    return round(at * 10_000)  # an id sent as a number


def cases() -> Iterator[Case]:
    """Every withheld field of every kind's readings and events (from the catalogue and
    api/personal.py's declaration, not a list kept here)."""
    for kind in CATALOGUE.kinds.values():
        for channel, models in (("telemetry", (kind.telemetry,)), ("event", kind.events)):
            for model in models:
                for name in model.model_fields:
                    if name in WITHHELD_VALUES:
                        yield Case(kind.key, channel, model, name)


def _payload(case: Case, seq: int, at: float) -> dict[str, Any]:
    """The case's message: its required fields and the model's other withheld fields valid,
    the case's field slipped at `at`."""
    schema, defs = _schema(case.model)
    props = schema["properties"]
    body: dict[str, Any] = {"ts": int(T0 * 1000) - 600_000 + seq * 1000, "seq": seq}
    for name in schema.get("required", []):
        if name != "ts":
            body[name] = _value(props[name], defs, MID)
    for name in props:
        if name in WITHHELD_VALUES:
            body[name] = _value(props[name], defs, MID)
    body[case.field] = _slip(props[case.field], defs, at)
    return body


def _quoted(value: Any) -> list[str]:
    """How a note would quote a slipped value."""
    if isinstance(value, dict):
        return [q for v in value.values() for q in _quoted(v)]
    return [repr(str(value)), f" {value} read as"]


KINDS = sorted({c.kind for c in cases()})


def _register(api: Api, kind: str, resident: bool) -> str:
    device_id = f"NOTE-{kind[:6].upper()}-{'R' if resident else 'P'}"
    r = api.client.post("/devices", json={"id": device_id, "kind": kind},
                        headers=api.headers("vendor"))
    assert r.status_code == 201, r.text
    place = {"site": "jining-renmin", "grid": "G-01", "building": "3", "unit": "1"}
    r = api.client.put(f"/devices/{device_id}/binding", headers=api.headers("operator"),
                       json={**place, "resident_id": "R-yang"} if resident else place)
    assert r.status_code == 200, r.text
    return device_id


def _notes(found: Any) -> Iterator[tuple[int | float | None, str]]:
    """(seq or ts, note) of every salvaged note in an API answer."""
    rows = found if isinstance(found, list) else [found]
    for row in rows:
        data = row.get("data") or row.get("fields") or row.get("values") or {}
        note = data.get("salvaged")
        if isinstance(note, dict):
            yield row.get("seq", row.get("ts")), note["detail"]


@pytest.mark.parametrize("resident", [True, False], ids=["bound-to-resident", "installed"])
@pytest.mark.parametrize("kind", KINDS)
def test_no_vendor_view_quotes_a_withheld_value_a_repair_note_names(
        api: Api, publisher: Publisher, kind: str, resident: bool):
    c = api.client
    vendor, operator = api.headers("vendor"), api.headers("operator")
    device_id = _register(api, kind, resident)
    sent: dict[Case, dict[int, dict[str, Any]]] = {}
    seq = 0
    for case in (c for c in cases() if c.kind == kind):
        for at in (LOW, HIGH):
            seq += 1
            body = _payload(case, seq, at)
            sent.setdefault(case, {})[seq] = body
            before = api.gateway.pipeline.processed
            publisher.publish(f"scgw/v1/{kind}/{device_id}/{case.channel}", orjson.dumps(body))
            assert api.gateway.pipeline.wait_processed(before + 1, 10)
    ts_of = {body["ts"] / 1000: s for bodies in sent.values() for s, body in bodies.items()}
    window = f"start={T0 - 3600}&end={T0 + 60}"
    views = {
        "messages": c.get(f"/vendor/devices/{device_id}/messages?limit=1000", headers=vendor),
        "events": c.get(f"/devices/{device_id}/events?limit=500", headers=vendor),
        "telemetry": c.get(f"/devices/{device_id}/telemetry?{window}", headers=vendor),
        "dead-letters": c.get(f"/vendor/dead-letters?device_id={device_id}", headers=vendor),
    }
    staff = c.get(f"/vendor/devices/{device_id}/messages?limit=1000", headers=operator).json()
    stored = {m["seq"]: m["data"]["salvaged"]["detail"] for m in staff
              if "salvaged" in m["data"]}
    for name, r in views.items():
        assert r.status_code == 200, (name, r.text)
    seen: dict[str, dict[int, str]] = {}
    for name in ("messages", "events", "telemetry"):
        for key, note in _notes(views[name].json()):
            number = key if name != "telemetry" else ts_of.get(key)
            if number is not None:
                seen.setdefault(name, {})[int(number)] = note
    for case, bodies in sent.items():
        low, high = sorted(bodies)
        # Both were kept, repaired, and the stored notes quote what was sent (staff read them,
        # audited): the two differ.
        assert low in stored and high in stored, (case, staff)
        assert stored[low] != stored[high], (case, stored[low])
        places = ["messages", "telemetry"] if case.channel == "telemetry" else [
            "messages", "events"]
        for place in places:
            notes = seen.get(place, {})
            if case.channel == "event" and resident:
                # When someone fell or pressed SOS is theirs: no event at all.
                assert low not in notes and high not in notes, (place, case)
                continue
            assert low in notes and high in notes, (place, case, views[place].text)
            # The vendor learns which field its firmware got wrong and how it was read ...
            assert case.field in notes[low] and VALUE_WITHHELD in notes[low], (
                place, case, notes[low])
            # ... and nothing of the value: the two notes are the same.
            assert notes[low] == notes[high], (place, case, notes[low], notes[high])
        for place, r in views.items():
            for body in bodies.values():
                for quoted in _quoted(body[case.field]):
                    assert quoted not in r.text, (place, case, quoted)


def test_the_red_team_s_band_and_bed_radar_of_a_lone_elder(api: Api, publisher: Publisher):
    # R12-6 as reported: the band and bed radar serve Mr. Yang; their readings' numbers come as
    # text; the vendor reads neither the values nor a note quoting them.
    c = api.client
    vendor = api.headers("vendor")
    band, radar = _register(api, "wristband", True), _register(api, "radar", True)
    messages = [
        (band, {"heart_rate_bpm": "131", "spo2_pct": "87.5"}),
        (band, {"glucose_mmol_l": "2.7"}),
        (band, {"location": {"lat": "35.4123", "lon": "116.5877", "accuracy_m": 8}}),
        (band, {"systolic_mmhg": 231, "diastolic_mmhg": 0}),
        (radar, {"breath_rpm": "4", "in_bed": "true", "presence": "1"}),
        (radar, {"heart_rate_bpm": "38", "posture": "lying"}),
    ]
    before = api.gateway.pipeline.processed
    for seq, (device_id, body) in enumerate(messages, 1):
        kind = "wristband" if device_id == band else "radar"
        publisher.publish(f"scgw/v1/{kind}/{device_id}/telemetry", orjson.dumps(
            {"seq": seq, "ts": int(T0 * 1000) - 60_000 + seq, **body}))
    assert api.gateway.pipeline.wait_processed(before + len(messages), 10)
    window = f"start={T0 - 3600}&end={T0 + 60}"
    for device_id in (band, radar):
        for path in (f"/vendor/devices/{device_id}/messages", f"/devices/{device_id}/telemetry"
                     f"?{window}", f"/devices/{device_id}/events", f"/devices/{device_id}"):
            r = c.get(path, headers=vendor)
            assert r.status_code == 200, (path, r.text)
            notes = " | ".join(note for _, note in _notes(r.json()))
            for secret in ("131", "87.5", "2.7", "35.4123", "116.5877", "231", "'4'", "'38'",
                           "'true'", "'1'", "read as true"):
                assert secret not in notes, (path, secret, notes)
    said = c.get(f"/vendor/devices/{band}/messages", headers=vendor).json()
    notes = [note for _, note in _notes(said)]
    assert "heart_rate_bpm (value withheld) read as a number" in notes[-1], notes
    # (230/0: only the 0 half is "not measured" since R12-5; the 231 is the reading's.)
    assert any("diastolic_mmhg (value withheld) read as not measured" in n for n in notes), notes
    said = c.get(f"/vendor/devices/{radar}/messages", headers=vendor).json()
    assert any("in_bed (value withheld) read as a boolean" in n
               for _, n in _notes(said)), said
    # Staff read the notes whole on the audited views; the reading whose only trace of the
    # pressure is the note is audited too.
    staff = c.get(f"/vendor/devices/{band}/messages", headers=api.headers("operator"))
    assert "diastolic_mmhg 0 read as not measured" in staff.text
    audited = api.gateway.store.query(
        "SELECT COUNT(*) AS n FROM access_audit WHERE action = 'device_messages' "
        "AND device_id = ?", (band,))
    assert audited[0]["n"] == 1


def test_a_note_that_only_says_a_pressure_makes_the_staff_read_audited(
        api: Api, publisher: Publisher):
    # A pressure the staff read (231 of 231/0, kept since R12-5; before, only the note said
    # it) makes the read audited.
    band = _register(api, "wristband", True)
    before = api.gateway.pipeline.processed
    publisher.publish(f"scgw/v1/wristband/{band}/telemetry", orjson.dumps(
        {"seq": 1, "ts": int(T0 * 1000) - 1000, "systolic_mmhg": 231, "diastolic_mmhg": 0,
         "battery_pct": 70}))
    assert api.gateway.pipeline.wait_processed(before + 1, 10)
    r = api.client.get(f"/vendor/devices/{band}/messages", headers=api.headers("operator"))
    assert "231" in r.text
    assert api.gateway.store.query(
        "SELECT resident_id FROM access_audit WHERE action = 'device_messages' "
        "AND device_id = ?", (band,)) == [{"resident_id": "R-yang"}]


def test_an_alert_s_payload_problem_names_the_repaired_fix_without_it(
        api: Api, publisher: Publisher):
    # An SOS whose fix came as text: the operator's and the grid worker's alert (an unaudited
    # read, where no position is shown) and the live stream say what was repaired, not where.
    c = api.client
    band = _register(api, "wristband", True)
    with c.websocket_connect(f"/ws?token={api.tokens['operator']}") as ws:
        assert ws.receive_json()["type"] == "hello"
        publisher.publish(f"scgw/v1/wristband/{band}/event", orjson.dumps(
            {"seq": 9, "ts": int(T0 * 1000), "type": "sos",
             "location": {"lat": "35.4123", "lon": "116.5877", "accuracy_m": "8"}}))
        live = ws.receive_json()
        while live["type"] != "alert" or live["alert"]["device_id"] != band:
            live = ws.receive_json()
    problems = [live["alert"]["payload_problem"]]
    for role in ("operator", "grid_worker"):
        listed = c.get("/alerts", params={"device_id": band}, headers=api.headers(role)).json()
        problems += [a["payload_problem"] for a in listed if a["device_id"] == band]
        one = c.get(f"/alerts/{listed[0]['id']}", headers=api.headers(role)).json()
        problems.append(one["payload_problem"])
    assert len(problems) == 5, problems
    for problem in problems:
        assert problem and "location.lat" in problem and VALUE_WITHHELD in problem, problem
        for secret in ("35.4123", "116.5877", "'8'"):
            assert secret not in problem, (secret, problem)


@pytest.mark.parametrize("note, shown", [
    ("heart_rate_bpm: Input should be a valid integer (+1 more); heart_rate_bpm '131' read as "
     "a number; spo2_pct '87.5' read as a number, the rest kept",
     "heart_rate_bpm: Input should be a valid integer (+1 more); heart_rate_bpm (value "
     "withheld) read as a number; spo2_pct (value withheld) read as a number, the rest kept"),
    ("systolic_mmhg 231 read as not measured; diastolic_mmhg 0 read as not measured",
     "systolic_mmhg (value withheld) read as not measured; diastolic_mmhg (value withheld) "
     "read as not measured"),
    # A value holding the separator is one value.
    ("location.source 'gps; 35.41' read as 'gps'",
     "location.source (value withheld) read as one of the contract's words"),
    # A unit hint quotes the value; pydantic's words do not.
    ("location.lat: Input should be less than or equal to 90 (looks like NMEA ddmm.mmmm: "
     "35°24.7′ is 35.411667 degrees) (+1 more)",
     "location.lat: Input should be less than or equal to 90 (the rest withheld: it quotes a "
     "value) (+1 more)"),
    ("payload: systolic_mmhg 120 must be greater than diastolic_mmhg 130",
     "payload: not valid (systolic_mmhg, diastolic_mmhg: the rest withheld: it quotes a "
     "value)"),
    ("location dropped (lat 'x' is no datum the gateway converts: send WGS-84, or say gcj02)",
     "location dropped (the rest withheld: it quotes a value)"),
    ("resident_id 1203 read as text; zone 2 read as text; type 'FALL' read as 'fall'",
     "resident_id (value withheld) read as text; zone 2 read as text; type 'FALL' read as "
     "'fall'"),
    ("sos.location.accuracy_m: Field required; location dropped (location.accuracy_m: Field "
     "required)", None),
    ("70000 bytes > limit 65536: location dropped (300 bytes)", None),
    ("in_bed something 12 unheard of", "in_bed: (value withheld)"),
])
def test_a_note_keeps_what_was_repaired_and_loses_the_values(note: str, shown: str | None):
    assert redact_note(note) == (note if shown is None else shown)
