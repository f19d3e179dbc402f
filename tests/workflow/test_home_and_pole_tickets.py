"""Tickets of the new kinds over real MQTT: an alarm-pole press goes to the grid on duty with its
snapshot; fire alarms rank on the board by level — a lone elder's first, whatever came first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from fastapi.testclient import TestClient

from api.app import create_app
from gateway.residents import Resident
from gateway.users import UserRepository
from tests.conftest import T0, device
from tests.workflow.conftest import ROTA

SITE = "jining-renmin"
DEVICES = [
    device("AP-1", "alarm_pole", site=SITE, grid="G-01"),
    device("CAM-8", "camera", site=SITE, building="8", grid="G-01"),
    device("SD-8L", "smoke_detector", site=SITE, building="8", unit="2", grid="G-01",
           resident_id="R-wei"),
    device("SD-8F", "smoke_detector", site=SITE, building="8", unit="1", grid="G-01",
           resident_id="R-he"),
    device("SD-3L", "smoke_detector", site=SITE, building="3", unit="1", grid="G-01",
           resident_id="R-yang"),
    device("SD-3F", "smoke_detector", site=SITE, building="3", unit="2", grid="G-01",
           resident_id="R-han"),
]


def _gateway(make_gateway: Any, tmp_path: Path) -> Any:
    rota = tmp_path / "rota.yaml"
    rota.write_text(yaml.safe_dump(ROTA))
    gw = make_gateway(devices=DEVICES, workflow={"rota_file": str(rota)})
    gw.alerting.residents.upsert([
        Resident("R-wei", "魏福生", frozenset({"lives_alone"}), SITE),
        Resident("R-yang", "杨德福", frozenset({"lives_alone"}), SITE),
        Resident("R-he", "何丽", frozenset(), SITE),
        Resident("R-han", "韩磊", frozenset(), SITE),
    ])
    with gw.store.transaction() as tx:
        tx.connection.execute("INSERT INTO family_links VALUES ('R-wei', 'fam-wei', 'daughter')")
    return gw


class Devices:
    """Publishes as the devices, each message committed before the next."""

    def __init__(self, gw: Any, publisher: Any, clock: Any) -> None:
        self.gw, self.publisher, self.clock = gw, publisher, clock
        self.sent = 0

    def event(self, device_id: str, kind: str, body: dict[str, Any]) -> None:
        """One event now."""
        self.sent += 1
        payload = {"ts": int(self.clock.time() * 1000), "seq": self.sent, **body}
        self.publisher.publish(f"scgw/v1/{kind}/{device_id}/event", orjson.dumps(payload))
        assert self.gw.pipeline.wait_processed(self.sent, 10)


def test_a_press_is_an_urgent_police_ticket_for_the_grid_on_duty_with_its_snapshot(
        make_gateway, publisher, tmp_path, clock):
    gw = _gateway(make_gateway, tmp_path)
    Devices(gw, publisher, clock).event("AP-1", "alarm_pole", {
        "type": "button_pressed", "camera_id": "CAM-3001",
        "snapshot_ref": "nvr://CAM-3001/snapshot/20261121T120000"})
    [ticket] = gw.store.query("SELECT * FROM tickets")
    assert (ticket["category"], ticket["priority"], ticket["state"], ticket["assignee"]) == (
        "public_alarm", "urgent", "dispatched", "gw-wang")  # on duty for G-01 at noon
    assert orjson.loads(ticket["attachments"]) == ["nvr://CAM-3001/snapshot/20261121T120000"]
    assert gw.workflow.catalogue.get("public_alarm").department == "police"
    notes = gw.store.query("SELECT audience, kind FROM notifications WHERE ticket_id = ?",
                           (ticket["id"],))
    assert {"audience": "control_room", "kind": "critical_ticket"} in notes


@pytest.mark.both_backends
def test_fire_alarms_rank_by_level_on_the_board_not_by_arrival(
        make_gateway, publisher, tmp_path, clock):
    gw = _gateway(make_gateway, tmp_path)
    devices = Devices(gw, publisher, clock)
    devices.event("CAM-8", "camera", {"type": "fire_lane_blocked", "zone": "FL-2",
                                      "confidence": 0.9})
    # The least urgent first: a family flat in 3号楼, then 8号楼 (its lane blocked), then the
    # lone elders' homes.
    for device_id in ("SD-3F", "SD-8F", "SD-3L", "SD-8L"):
        clock.advance(10)
        devices.event(device_id, "smoke_detector", {"type": "smoke_alarm", "room": "kitchen"})
    tickets = {t["device_id"]: t for t in gw.store.query(
        "SELECT * FROM tickets WHERE category LIKE 'fire_safety%'")}
    assert {d: t["category"] for d, t in tickets.items()} == {
        "SD-3F": "fire_safety", "SD-8F": "fire_safety_lane_blocked",
        "SD-3L": "fire_safety_lone_elder", "SD-8L": "fire_safety_lone_elder_lane_blocked"}
    assert {t["priority"] for t in tickets.values()} == {"urgent"}
    wei = gw.store.query("SELECT recipient FROM notifications WHERE ticket_id = ?"
                         " AND audience = 'family'", (tickets["SD-8L"]["id"],))
    assert wei == [{"recipient": "fam-wei"}]  # the family hears of it at once

    UserRepository(gw.store, gw.clock).add("op-chen", "correct horse", "operator")
    with TestClient(create_app(gw)) as client:
        token = client.post("/auth/token", data={"username": "op-chen",
                                                 "password": "correct horse"}).json()
        board = client.get("/tickets/board",
                           headers={"Authorization": f"Bearer {token['access_token']}"}).json()
    fire = [t for t in board["dispatched"] if t["category"].startswith("fire_safety")]
    assert [t["device_id"] for t in fire] == ["SD-8L", "SD-3L", "SD-8F", "SD-3F"]
    assert T0 < fire[0]["sla_due"] < fire[-1]["sla_due"]  # less time left to accept it
