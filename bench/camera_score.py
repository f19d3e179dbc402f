"""Scoring for the camera benchmark: match events to truth, attribute false alarms, tabulate.

Falling objects: a detection within ±1.5 s of a release is a hit (nearest first); every other
detection is a false alarm, attributed to the distractor whose path passes closest to its track.
Fire lanes: every occupation of a zone longer than the dwell that holds a stay longer than the
dwell needs one `fire_lane_blocked` in its zone between arrival + dwell − 10 s and departure, no
`fire_lane_cleared` before the last object left, and then a `fire_lane_cleared` whose time (the
departure it reports) is within 7 s of the real one. An occupation is a stay together with
whatever stood in the zone right before or after it — people pausing there, another object
arriving before the lane was free for `clear_s` (see `lane_episodes`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

FALL_TOLERANCE_S = 1.5
BLOCK_EARLY_S = 10.0
CLEAR_WITHIN_S = 7.0


@dataclass
class Tally:
    """Counts for one slice of the set (a condition value, or everything)."""

    falls: int = 0
    fall_tp: int = 0
    fall_fp: int = 0
    floor_exact: int = 0
    floor_within1: int = 0
    facade_s: float = 0.0
    stays: int = 0
    block_tp: int = 0
    dwell_errors: list[float] = field(default_factory=list)
    held: int = 0
    clears_ok: int = 0
    clears_due: int = 0
    clear_errors: list[float] = field(default_factory=list)
    false_blocks: int = 0
    lane_s: float = 0.0
    frames: int = 0
    cpu_s: float = 0.0

    def add(self, o: Tally) -> None:
        """Merge another tally into this one."""
        for k, v in vars(o).items():
            if isinstance(v, list):
                getattr(self, k).extend(v)
            else:
                setattr(self, k, getattr(self, k) + v)

    def figures(self) -> dict[str, Any]:
        """The headline numbers of this slice (None where there is nothing to measure)."""

        def ratio(a: float, b: float) -> float | None:
            return round(a / b, 4) if b else None

        out: dict[str, Any] = {}
        if self.falls or self.fall_fp or self.facade_s:
            out |= {
                "throws": self.falls,
                "recall": ratio(self.fall_tp, self.falls),
                "precision": ratio(self.fall_tp, self.fall_tp + self.fall_fp),
                "false_alarms": self.fall_fp,
                "false_alarms_per_hour": round(self.fall_fp * 3600 / self.facade_s, 2)
                if self.facade_s
                else None,
                "floor_exact": ratio(self.floor_exact, self.fall_tp),
                "floor_within_1": ratio(self.floor_within1, self.fall_tp),
            }
        if self.stays or self.false_blocks or self.lane_s:
            errs = sorted(self.dwell_errors)
            clr = sorted(abs(e) for e in self.clear_errors)
            out |= {
                "stays_over_dwell": self.stays,
                "blocked_recall": ratio(self.block_tp, self.stays),
                "held_until_departure": ratio(self.held, self.block_tp),
                "dwell_error_s_median": _pct(errs, 0.5),
                "dwell_error_s_max": round(max(errs), 2) if errs else None,
                "false_blocks": self.false_blocks,
                "cleared_within_7s": ratio(self.clears_ok, self.clears_due),
                "cleared_error_s_median": _pct(clr, 0.5),
                "cleared_error_s_max": round(max(clr), 2) if clr else None,
            }
        if self.frames and self.cpu_s:
            out["fps_per_cpu_second"] = round(self.frames / self.cpu_s, 1)
        return out


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return round(values[min(len(values) - 1, int(q * len(values)))], 2)


def _track_of(det: dict[str, Any]) -> list[tuple[float, float, float]]:
    return [tuple(p) for p in det.get("track", [])]


def _attribute(det: dict[str, Any], truth: dict[str, Any]) -> str:
    """Which distractor (or thrown object) passes closest to a false alarm's track."""
    track = _track_of(det)
    if not track:
        return "unknown"
    best, best_d = "unexplained", max(40.0, 1.5 * truth.get("storey_px", 30))
    for d in truth.get("distractors", []):
        path = d["path"]
        if not path or path[-1][0] < track[0][0] - 0.5 or path[0][0] > track[-1][0] + 0.5:
            continue
        for t, x, y in track[:: max(1, len(track) // 8)]:
            p = min(path, key=lambda q, t=t: abs(q[0] - t))
            if abs(p[0] - t) > 1.0 and len(path) > 2:
                continue
            dist = math.hypot(p[1] - x, p[2] - y)
            if dist < best_d:
                best, best_d = d["kind"], dist
    for e in truth.get("events", []):
        if (
            abs(e["t"] - track[0][0]) < 4
            and math.hypot(e["x"] - track[0][1], e["y"] - track[0][2]) < best_d
        ):
            best = "throw-duplicate"
    return best


def _on_path(g: dict[str, Any], det: dict[str, Any], reach: float) -> bool:
    """Whether most of a detection's track lies on the thrown object's true path."""
    path = g.get("path") or []
    track = _track_of(det)
    if len(path) < 2 or not track:
        return False
    ts = [p[0] for p in path]
    near = 0
    for t, x, y in track:
        if not ts[0] <= t <= ts[-1]:
            continue
        i = max(1, min(len(ts) - 1, next((k for k, v in enumerate(ts) if v >= t), len(ts) - 1)))
        (t0, x0, y0), (t1, x1, y1) = path[i - 1], path[i]
        f = (t - t0) / ((t1 - t0) or 1.0)
        near += math.hypot(x0 + f * (x1 - x0) - x, y0 + f * (y1 - y0) - y) <= reach
    return near >= 0.6 * len(track)


def score_facade(truth: dict[str, Any], dets: list[dict[str, Any]]) -> tuple[list, list]:
    """(per-throw rows, per-false-alarm rows) for one facade clip.

    A detection belongs to a throw if it starts within ±1.5 s of the release, or if most of
    its track lies on the throw's path (a track that only picked the object up late, after it
    was lost in a shake, is that throw seen late, not a false alarm).
    """
    events = truth["events"]
    falls = [d for d in dets if d["type"] == "falling_object"]
    reach = max(15.0, 0.5 * truth.get("storey_px", 30.0))
    pairs = sorted(
        (abs(d["t"] - g["t"]) > FALL_TOLERANCE_S, abs(d["t"] - g["t"]), gi, di)
        for gi, g in enumerate(events)
        for di, d in enumerate(falls)
        if abs(d["t"] - g["t"]) <= FALL_TOLERANCE_S or _on_path(g, d, reach + g["size_px"])
    )
    hit: dict[int, int] = {}
    used: set[int] = set()
    for _, _, gi, di in pairs:
        if gi in hit or di in used:
            continue
        hit[gi] = di
        used.add(di)
    rows = []
    for gi, g in enumerate(events):
        det = falls[hit[gi]] if gi in hit else None
        rows.append(
            {
                "t": g["t"],
                "floor": g["floor"],
                "size_band": g["size_band"],
                "contrast": g.get("contrast"),
                "hit": det is not None,
                "det_floor": det["floor"] if det else None,
                "confidence": det["confidence"] if det else None,
            }
        )
    fas = [
        {
            "t": d["t"],
            "confidence": d["confidence"],
            "cause": _attribute(d, truth),
            "points": len(d.get("track", [])),
        }
        for di, d in enumerate(falls)
        if di not in used
    ]
    return rows, fas


# The analyzer restarts an unblocked zone's clock after a dropout this long.
GAP_S = 2.0


def lane_episodes(truth: dict[str, Any]) -> list[dict[str, Any]]:
    """Per zone, the spans it was occupied without a break: a stay, and whatever stood in the
    zone right before or after it — a person pausing there, another object arriving before the
    lane was free for `clear_s` (or within 2 s, before a block). An object occupies it from
    when it starts to come in (`t_enter`): a tricycle driving in as a person walks off leaves
    the zone no time free.

    The analyzer measures image physics: a person standing in a zone stands there as much as a
    pile of boxes does, and it cannot confirm the lane free while anything stands in it (a
    clear dated at the car's departure while a box or a person stands there would report a
    lane free that is not). So the lane is blocked from when it was first occupied and free
    when the last thing standing in it left, and that is what the bench scores.
    """
    dwell, clear = truth["dwell_s"], truth.get("clear_s", 10.0)
    spans: dict[str, list[tuple[float, float, dict[str, Any] | None]]] = defaultdict(list)
    for g in truth["events"]:
        # An object is in the zone's picture from when it starts to come in.
        spans[g["zone"]].append((g.get("t_enter", g["t_arrive"]), g["t_leave"], g))
    for p in truth.get("pauses", []):
        spans[p["zone"]].append((p["t_start"], p["t_end"], None))
    out = []
    for zone, items in spans.items():
        items.sort(key=lambda x: x[0])
        cur: dict[str, Any] | None = None
        for a, b, g in items:
            if cur is not None:
                gap = a - cur["end"]
                blocked = cur["end"] - cur["start"] >= dwell
                if gap <= GAP_S or (blocked and gap < clear):
                    cur["end"] = max(cur["end"], b)
                    if g is not None:
                        cur["stays"].append(g)
                    continue
                out.append(cur)
            cur = {"zone": zone, "start": a, "end": b, "stays": [g] if g is not None else []}
        if cur is not None:
            out.append(cur)
    return sorted(out, key=lambda e: (e["start"], e["zone"]))


def score_lane(truth: dict[str, Any], dets: list[dict[str, Any]]) -> tuple[list, int]:
    """(one row per occupation that held a stay longer than the dwell, false blocks) for one
    lane clip; see `lane_episodes` for what counts as one occupation."""
    dwell = truth["dwell_s"]
    blocks = [d for d in dets if d["type"] == "fire_lane_blocked"]
    clears = [d for d in dets if d["type"] == "fire_lane_cleared"]
    used: set[int] = set()
    rows = []
    for ep in lane_episodes(truth):
        if not ep["stays"] or ep["end"] - ep["start"] < dwell:
            continue
        long = [g for g in ep["stays"] if g["blocking"]]
        g = long[0] if long else None
        # The last object's departure: a clear before it reports a blocked lane free. The
        # lane is really free at the episode's end (a person may still stand there, which a
        # near zone's threshold may or may not count): a clear near either is on time.
        last_leave = max(s["t_leave"] for s in ep["stays"])
        row: dict[str, Any] = {
            "zone": ep["zone"],
            "kind": (g or ep["stays"][0])["kind"],
            "distance": (g or ep["stays"][0])["distance"],
            "stay_s": round(ep["end"] - ep["start"], 1),
            "stays_merged": len(ep["stays"]),
            "blocked": False,
        }
        for i, d in enumerate(blocks):
            if i in used or d["zone"] != ep["zone"]:
                continue
            if ep["start"] + dwell - BLOCK_EARLY_S <= d["t"] <= ep["end"]:
                used.add(i)
                arrival = d["t"] - (d.get("dwell_s") or dwell)
                later = [c for c in clears if c["zone"] == ep["zone"] and c["t"] > d["t"] - 1e-6]
                first = min(later, key=lambda c: c["t"], default=None)
                early = first is not None and first["t"] < last_leave - CLEAR_WITHIN_S
                err = None
                if first is not None:
                    err = min((first["t"] - ep["end"], first["t"] - last_leave), key=abs)
                starts = [ep["start"]] + [s["t_arrive"] for s in ep["stays"]]
                # A clear is due only if the lane was free for clear_s before the clip ended.
                due = ep["end"] + truth.get("clear_s", 10.0) <= truth.get("duration_s", 1e12)
                row |= {
                    "blocked": True,
                    "dwell_error_s": round(min(abs(arrival - a) for a in starts), 2),
                    "held": not early,
                    "cleared_error_s": None if err is None else round(err, 2),
                    "clear_due": due or first is not None,
                    "cleared_ok": err is not None and abs(err) <= CLEAR_WITHIN_S,
                    "confirmation_delay_s": first.get("confirmation_delay_s") if first else None,
                }
                break
        if g is not None:
            rows.append(row)
    # A block outside every occupation longer than the dwell, or a second block, is false.
    return rows, len(blocks) - len(used)


def contrast_band(value: float | None) -> str:
    """low (< 30 grey levels in the most different channel), fair (30–60) or high."""
    if value is None:
        return "unknown"
    return "low" if value < 30 else "fair" if value < 60 else "high"


def tally_facade(rows: list, fas: list, seconds: float) -> Tally:
    """Tally of one facade clip."""
    t = Tally(falls=len(rows), facade_s=seconds, fall_fp=len(fas))
    for r in rows:
        if r["hit"]:
            t.fall_tp += 1
            f = r["det_floor"]
            t.floor_exact += f == r["floor"]
            t.floor_within1 += f is not None and abs(f - r["floor"]) <= 1
    return t


def tally_lane(rows: list, false_blocks: int, seconds: float) -> Tally:
    """Tally of one lane clip."""
    t = Tally(stays=len(rows), false_blocks=false_blocks, lane_s=seconds)
    for r in rows:
        if r["blocked"]:
            t.block_tp += 1
            t.dwell_errors.append(r["dwell_error_s"])
            t.held += r["held"]
            t.clears_ok += r["cleared_ok"]
            t.clears_due += r.get("clear_due", True)
            if r["cleared_error_s"] is not None:
                t.clear_errors.append(r["cleared_error_s"])
    return t


def by_condition(clips: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Figures per condition value: style, scale band, day/night, weather, density, size, …"""
    slices: dict[str, Tally] = defaultdict(Tally)
    fa_causes: dict[str, int] = defaultdict(int)
    facade_s = 0.0
    for c in clips:
        cond = c["conditions"]
        keys = [
            f"style={c['style']}",
            f"light={'night' if cond['night'] else 'day'}",
            f"weather={cond['weather']}",
        ]
        if c["scene"] == "facade":
            facade_s += c["seconds"]
            keys += [f"scale={c['scale_band']}", f"density={c['density']}", f"fps={int(c['fps'])}"]
            whole = tally_facade(c["rows"], c["false_alarms"], c["seconds"])
            whole.frames, whole.cpu_s = c["frames"], c["cpu_s"]
            for k in keys:
                slices[f"facade {k}"].add(whole)
            for r in c["rows"]:
                slices[f"facade size={r['size_band']}"].add(tally_facade([r], [], 0.0))
                band = contrast_band(r.get("contrast"))
                slices[f"facade contrast={band}"].add(tally_facade([r], [], 0.0))
            for fa in c["false_alarms"]:
                fa_causes[fa["cause"]] += 1
        else:
            for k in keys:
                slices[f"lane {k}"].add(tally_lane(c["rows"], c["false_blocks"], c["seconds"]))
            for r in c["rows"]:
                slices[f"lane zone={r['distance']}"].add(tally_lane([r], 0, 0.0))
                slices[f"lane object={r['kind']}"].add(tally_lane([r], 0, 0.0))
                band = (
                    "2-5min"
                    if r["stay_s"] < 300
                    else "5-15min"
                    if r["stay_s"] < 900
                    else "15-30min"
                )
                slices[f"lane stay={band}"].add(tally_lane([r], 0, 0.0))
    out = {k: v.figures() for k, v in sorted(slices.items())}
    hours = facade_s / 3600
    for cause, n in sorted(fa_causes.items()):
        out[f"facade false_alarm_cause={cause}"] = {
            "false_alarms": n,
            "per_hour": round(n / hours, 2) if hours else None,
        }
    return out
