"""How the benchmark scores fire lanes when a person stands in a zone across a departure or an
arrival: the zone is occupied while they stand (image physics cannot tell them from a box), so
the lane is free when the last thing standing in it left."""

from __future__ import annotations

from typing import Any

from bench.camera_score import lane_episodes, score_lane
from simulators.video.random_lane_plan import plan_lane
from simulators.video.randomset import lane_pauses


def _truth(pauses: list[dict[str, Any]]) -> dict[str, Any]:
    def stay(kind: str, a: float, b: float) -> dict[str, Any]:
        return {
            "zone": "FL-1",
            "kind": kind,
            "distance": "near",
            "t_arrive": a,
            "t_leave": b,
            "blocking": b - a >= 60.0,
        }

    return {
        "dwell_s": 60.0,
        "clear_s": 10.0,
        "events": [stay("car", 10.0, 100.0), stay("boxes", 140.0, 160.0)],
        "pauses": pauses,
    }


def _det(kind: str, t: float, **extra: float) -> dict[str, Any]:
    return {"type": f"fire_lane_{kind}", "t": t, "zone": "FL-1", **extra}


def test_a_person_standing_across_a_departure_moves_the_free_time() -> None:
    # The car leaves at 100 with a person standing there from 98 to 123: free at 123.
    truth = _truth([{"zone": "FL-1", "kind": "person", "t_start": 98.0, "t_end": 123.0}])
    [ep, boxes] = lane_episodes(truth)
    assert (ep["start"], ep["end"]) == (10.0, 123.0) and boxes["start"] == 140.0
    rows, false = score_lane(truth, [_det("blocked", 70.0, dwell_s=60.0), _det("cleared", 124.0)])
    assert false == 0 and rows[0]["cleared_ok"] and rows[0]["held"]
    # A clear dated at the car's departure is on time too (a near zone's threshold may not
    # count a person), one before it is early.
    rows, _ = score_lane(truth, [_det("blocked", 70.0, dwell_s=60.0), _det("cleared", 100.5)])
    assert rows[0]["cleared_ok"]
    rows, _ = score_lane(truth, [_det("blocked", 70.0, dwell_s=60.0), _det("cleared", 80.0)])
    assert not rows[0]["held"]


def test_an_object_arriving_before_the_lane_was_free_continues_the_blocked_span() -> None:
    # The person stands until the boxes arrive: the zone is never free from 10 to 160, one
    # block and one clear at 160; a second block for the boxes would be false.
    truth = _truth([{"zone": "FL-1", "kind": "person", "t_start": 98.0, "t_end": 141.0}])
    assert len(lane_episodes(truth)) == 1
    dets = [_det("blocked", 70.0, dwell_s=60.0), _det("cleared", 161.0)]
    rows, false = score_lane(truth, dets)
    assert len(rows) == 1 and rows[0]["cleared_ok"] and false == 0
    rows, false = score_lane(truth, [*dets, _det("blocked", 150.0, dwell_s=60.0)])
    assert false == 1


def test_random_plans_list_people_pausing_in_zones() -> None:
    plan = plan_lane(301, 900.0, 5.0, 120.0)
    pauses = lane_pauses(plan)
    zones = {z for z, _, _ in plan.geo.zones()}
    assert pauses and all(p["zone"] in zones and p["t_end"] > p["t_start"] for p in pauses)


def test_an_object_is_in_the_zone_from_when_it_starts_to_come_in() -> None:
    # A person stands from 120 and walks off at 137.5 as the boxes, stopping at 140, have been
    # driving in since 136: the zone was never free, whatever the 2.5 s between the two.
    truth = _truth([{"zone": "FL-1", "kind": "person", "t_start": 120.0, "t_end": 137.5}])
    assert len(lane_episodes(truth)) == 3
    truth["events"][1]["t_enter"] = 136.0
    assert [e["start"] for e in lane_episodes(truth)] == [10.0, 120.0]


def test_no_clear_is_due_when_the_clip_ends_before_the_lane_was_free_long_enough() -> None:
    truth = _truth([{"zone": "FL-1", "kind": "person", "t_start": 98.0, "t_end": 123.0}])
    truth["duration_s"] = 128.0  # free from 123, clear_s 10: the clip ends first
    rows, false = score_lane(truth, [_det("blocked", 70.0, dwell_s=60.0)])
    assert false == 0 and rows[0]["blocked"] and not rows[0]["clear_due"]
    truth["duration_s"] = 200.0
    rows, _ = score_lane(truth, [_det("blocked", 70.0, dwell_s=60.0)])
    assert rows[0]["clear_due"] and not rows[0]["cleared_ok"]
