"""Console lists asked for together are built once, and never hide a commit."""

from __future__ import annotations

import threading

import orjson
import pytest

from api.shared_reads import SharedReads
from tests.conftest import T0
from tests.support.waiting import wait_for


def test_requests_arriving_while_one_is_built_share_its_answer():
    version = [0]
    reads = SharedReads(lambda: version[0])
    release = threading.Event()
    built: list[int] = []

    def build() -> str:
        built.append(1)
        release.wait(10)
        return "list"

    got: list[object] = []
    leader = threading.Thread(target=lambda: got.append(reads.read("k", build)))
    leader.start()
    assert wait_for(lambda: reads.computed == 1, 5)
    followers = [threading.Thread(target=lambda: got.append(reads.read("k", build)))
                 for _ in range(5)]
    for f in followers:
        f.start()
    assert wait_for(lambda: reads.shared == 5, 5)
    release.set()
    for t in [leader, *followers]:
        t.join(10)
    assert got == ["list"] * 6 and len(built) == 1
    # Done, it serves later requests until something is committed; then it is built again.
    assert reads.read("k", build) == "list" and len(built) == 1
    version[0] += 1
    assert reads.read("k", build) == "list" and len(built) == 2
    # Another key (another query, another grid) is its own answer.
    assert reads.read("other", lambda: "other") == "other"


def test_a_failed_build_is_not_shared_and_replicas_only_join_builds_in_progress():
    reads = SharedReads(lambda: 0)
    calls = []

    def fails() -> str:
        calls.append(1)
        raise RuntimeError("database away")

    for _ in range(2):
        with pytest.raises(RuntimeError):
            reads.read("k", fails)
    assert len(calls) == 2  # a failure is never served again
    replica = SharedReads(lambda: 0, reuse=False)
    replica.read("k", lambda: "a")
    assert replica.read("k", lambda: "b") == "b"  # another replica may have committed


def test_the_alert_list_shows_a_new_alert_at_once_and_grids_stay_apart(api, publisher):
    c, op, grid = api.client, api.headers("operator"), api.headers("grid_worker")
    reads = c.app.state.shared_reads
    first = c.get("/alerts", headers=op).json()
    assert c.get("/alerts", headers=op).json() == first
    assert reads.shared >= 1  # the second was the first's answer
    # The grid worker's list is built for its own grid, not taken from the operator's.
    own = c.get("/alerts", headers=grid).json()
    assert all(a["place"]["grid"] == "G-01" for a in own)
    processed = api.gateway.pipeline.processed
    publisher.publish("scgw/v1/wristband/WB-1002/event", orjson.dumps(
        {"ts": int(T0 * 1000), "seq": 77, "type": "sos"}))
    assert api.gateway.pipeline.wait_processed(processed + 1, 10)
    after = c.get("/alerts", headers=op).json()
    assert [a["device_id"] for a in after if a["device_id"] == "WB-1002"] == ["WB-1002"]
    assert len(after) == len(first) + 1
    assert c.get("/alerts", headers=grid).json() == own  # WB-1002 is in grid G-02
