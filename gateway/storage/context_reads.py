"""What surrounded an alert or ticket, read back from the stored messages: was the band
worn, where was the wearer, who are the people named by id. Reads only (the API and the
workflow share them)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from gateway.storage.dialect import Dialect


class Reader(Protocol):
    """Anything with the store's read-only `query` and its SQL dialect."""

    dialect: Dialect

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        """Rows as dicts."""
        ...


@dataclass(frozen=True, slots=True)
class Wear:
    """Whether a band was on the wrist at a moment, and since when (as far as it reported)."""

    worn: bool | None
    since: float | None = None


# Reports the band made before the moment but received up to this long after it count too:
# its readings come on the main session and may be applied after an SOS that came on the
# event lane (gateway/event_lane.py).
LATE_S = 120.0


def _known_by() -> str:
    """SQL: the report was received by the moment, or made (band time) before it and
    received within LATE_S; parameters (at, at + LATE_S, at)."""
    return "(received_at <= ? OR (received_at <= ? AND ts <= ?))"


def wear_at(db: Reader, device_id: str, at: float) -> Wear:
    """The band's wear state at gateway time `at`: the later (by the band's own clock) of its
    last `worn` reading and its last removed/worn event received by then; unknown when it
    never said. `since` is in the band's time too, like the readings it is compared with."""
    worn_field = db.dialect.json_number("data", "worn")
    by = (at, at + LATE_S, at)
    reading = db.query(
        f"SELECT ts AS t, {worn_field} AS worn FROM telemetry"
        f" WHERE device_id = ? AND {_known_by()} AND {worn_field} IS NOT NULL"
        " ORDER BY ts DESC LIMIT 1", (device_id, *by))
    event = db.query(
        f"SELECT ts AS t, type FROM events WHERE device_id = ? AND {_known_by()}"
        " AND type IN ('removed', 'worn') ORDER BY ts DESC LIMIT 1", (device_id, *by))
    found = [(r["t"], bool(r["worn"])) for r in reading]
    found += [(r["t"], r["type"] == "worn") for r in event]
    if not found:
        return Wear(None)
    t, worn = max(found)
    # Since when: just after the last report saying the opposite (or the report itself).
    other = "removed" if worn else "worn"
    flip = db.query(
        f"SELECT max(ts) AS t FROM telemetry WHERE device_id = ? AND {_known_by()}"
        f" AND {worn_field} = ?", (device_id, *by, int(not worn)))
    flip += db.query(f"SELECT max(ts) AS t FROM events WHERE device_id = ?"
                     f" AND {_known_by()} AND type = ?", (device_id, *by, other))
    last_other = max((r["t"] for r in flip if r["t"] is not None), default=None)
    if last_other is None:
        return Wear(worn, t)
    after = db.query(
        f"SELECT min(ts) AS t FROM telemetry WHERE device_id = ? AND ts > ? AND {_known_by()}"
        f" AND {worn_field} = ?", (device_id, last_other, *by, int(worn)))
    after += db.query(f"SELECT min(ts) AS t FROM events WHERE device_id = ? AND ts > ?"
                      f" AND {_known_by()} AND type = ?",
                      (device_id, last_other, *by, "worn" if worn else "removed"))
    return Wear(worn, min((r["t"] for r in after if r["t"] is not None), default=t))


WORN_CHUNK = 200  # asked moments per statement (three parameters each)


def worn_at_many(db: Reader, asked: list[tuple[int, str, float]]) -> dict[int, bool | None]:
    """`wear_at(...).worn` for many (key, device_id, at) in one statement per chunk: a console
    list shows hundreds of alerts, and a query or two each made every list wait on them."""
    worn_field = db.dialect.json_number("t.data", "worn")
    found: dict[int, bool | None] = {}
    for start in range(0, len(asked), WORN_CHUNK):
        part = asked[start:start + WORN_CHUNK]
        values = ", ".join("(CAST(? AS BIGINT), ?, CAST(? AS DOUBLE PRECISION))" for _ in part)
        late = f"CAST({LATE_S} AS DOUBLE PRECISION)"
        reading = (f"FROM telemetry t WHERE t.device_id = a.d AND (t.received_at <= a.at OR"
                   f" (t.received_at <= a.at + {late} AND t.ts <= a.at))"
                   f" AND {worn_field} IS NOT NULL ORDER BY t.ts DESC LIMIT 1")
        event = (f"FROM events e WHERE e.device_id = a.d AND (e.received_at <= a.at OR"
                 f" (e.received_at <= a.at + {late} AND e.ts <= a.at))"
                 " AND e.type IN ('removed', 'worn') ORDER BY e.ts DESC LIMIT 1")
        rows = db.query(
            f"WITH a(k, d, at) AS (VALUES {values}) SELECT a.k AS k,"
            f" (SELECT t.ts {reading}) AS rt, (SELECT {worn_field} {reading}) AS rw,"
            f" (SELECT e.ts {event}) AS et, (SELECT e.type {event}) AS ew FROM a",
            tuple(x for row in part for x in row))
        for r in rows:
            # As wear_at: the later report wins (by the band's clock); on a tie, "worn".
            candidates = [(r["rt"], bool(r["rw"]))] if r["rt"] is not None else []
            if r["et"] is not None:
                candidates.append((r["et"], r["ew"] == "worn"))
            found[int(r["k"])] = max(candidates)[1] if candidates else None
    return found


def fix_near(db: Reader, device_id: str, at: float, within_s: float = 600.0) -> tuple[
        float, float] | None:
    """(lat, lon) of the band when an alert opened: the SOS/fall event's own fix, else the
    last telemetry fix received in the `within_s` before (or made before it and received
    within LATE_S after: readings and events come on two sessions)."""
    rows = db.query(
        "SELECT data FROM events WHERE device_id = ? AND type IN ('sos', 'fall')"
        " AND received_at BETWEEN ? AND ? ORDER BY received_at DESC LIMIT 1",
        (device_id, at - 5, at + 5))
    rows += db.query(
        "SELECT data FROM telemetry WHERE device_id = ? AND (received_at BETWEEN ? AND ?"
        " OR (received_at BETWEEN ? AND ? AND ts <= ?))"
        f" AND {db.dialect.json_present('data', 'location')} ORDER BY ts DESC LIMIT 1",
        (device_id, at - within_s, at + 5, at, at + LATE_S, at))
    for row in rows:
        loc = orjson.loads(row["data"]).get("location")
        if isinstance(loc, dict) and "lat" in loc and "lon" in loc:
            return float(loc["lat"]), float(loc["lon"])
    return None


def names(db: Reader, table: str, ids: set[str]) -> dict[str, str]:
    """Display names of residents (`residents`) or accounts (`users`) by id."""
    ids = {i for i in ids if i}
    if not ids:
        return {}
    key, name = {"residents": ("id", "name"), "users": ("username", "display_name")}[table]
    marks = ", ".join("?" for _ in ids)
    rows = db.query(f"SELECT {key} AS k, {name} AS n FROM {table} WHERE {key} IN ({marks})",
                    tuple(ids))
    return {r["k"]: r["n"] or r["k"] for r in rows}
