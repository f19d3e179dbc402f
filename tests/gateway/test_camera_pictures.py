"""A camera platform's picture under its common names reaches the alert (vendor round 9)."""

from __future__ import annotations

import orjson
import pytest

from gateway.envelope import RawMessage
from tests.conftest import T0
from tests.gateway.test_salvage import DEVICE_OF, MS, gateway  # noqa: F401  (fixture)

CAMERA = DEVICE_OF["camera"]


@pytest.mark.parametrize("name", ["image_url", "imageUrl", "pic_url", "snapshot_url"])
def test_a_picture_under_another_name_is_the_snapshot(gateway, name):  # noqa: F811
    # A falling object (urgent, salvaged) and a fire lane (repaired) alike: the picture was
    # dropped from the first and the second was refused whole — a lane that never cleared.
    link = "https://nvr.example/cam1/1.jpg"
    events = [
        {"ts": MS, "seq": 1, "type": "falling_object", "confidence": 0.9, "floor": 5,
         name: link},
        {"ts": MS, "seq": 2, "type": "fire_lane_blocked", "zone": "FL-1", "confidence": 0.9,
         "dwell_s": 130, name: link},
        {"ts": MS, "seq": 3, "type": "fire_lane_cleared", "zone": "FL-1", name: link},
    ]
    gateway.pipeline.process_batch([RawMessage(f"scgw/v1/camera/{CAMERA}/event",
                                               orjson.dumps(e), received_at=T0)
                                    for e in events])
    assert gateway.store.query("SELECT reason FROM dead_letters") == []
    stored = gateway.store.query("SELECT type, data FROM events ORDER BY seq")
    assert [(r["type"], orjson.loads(r["data"])["snapshot_ref"]) for r in stored] == [
        ("falling_object", link), ("fire_lane_blocked", link), ("fire_lane_cleared", link)]
    [ticket] = gateway.store.query(
        "SELECT attachments FROM tickets WHERE category = 'falling_object'")
    assert link in ticket["attachments"]  # the grid worker sees the picture
