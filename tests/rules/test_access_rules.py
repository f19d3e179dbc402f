"""Door controllers and elders' smart locks over a real Mosquitto (vendor round 7): a lone
elder's door forced open pages the police, critical; a face controller's watch-list,
tailgating and stranger alarms have words and rules; pictures ride on access events."""

from __future__ import annotations

import json

from tests.rules.conftest import Rig

PICTURE = "https://nvr.example/snap/ac-1.jpg"


def test_a_lone_elder_s_door_forced_open_is_critical_for_the_police(rig: Rig) -> None:
    rig.event("AC-2002", "forced_open", door="front", snapshot_ref=PICTURE)  # R-yang's flat
    rig.event("AC-2001", "forced_open", door="gate")  # a compound gate: as before
    lone = rig.open("access.forced_open_lone_elder", "AC-2002")
    assert (lone["severity"], lone["category"]) == ("critical", "security")
    assert json.loads(lone["detail"])["snapshot_ref"] == PICTURE
    assert rig.alerts("access.forced_open", "AC-2002") == []  # one break-in, one alert
    gate = rig.open("access.forced_open", "AC-2001")
    assert (gate["severity"], gate["category"]) == ("major", "access")
    [ticket] = rig.gw.store.query(
        "SELECT t.category, t.priority, t.attachments FROM tickets t JOIN ticket_alerts ta"
        " ON ta.ticket_id = t.id WHERE ta.alert_id = ?", (lone["id"],))
    assert (ticket["category"], ticket["priority"]) == ("security", "urgent")
    assert PICTURE in json.loads(ticket["attachments"])


def test_a_face_controller_s_alarms_have_words_and_rules(rig: Rig) -> None:
    rig.event("AC-2001", "blacklisted", door="main", person="W-17", confidence=0.93,
              snapshot_ref=PICTURE)
    rig.event("AC-2001", "tailgating", door="main", count=2)
    watched = rig.open("access.blacklisted", "AC-2001")
    assert (watched["severity"], watched["category"]) == ("major", "security")
    assert json.loads(watched["detail"])["person"] == "W-17"
    assert rig.open("access.tailgating", "AC-2001")["severity"] == "minor"
    rig.event("AC-2001", "stranger", door="main", confidence=0.8)
    assert rig.open("access.strangers_repeated", "AC-2001") is None  # one is daily life
    rig.event("AC-2001", "陌生人", door="main")  # the controller's own word, read as stranger
    rig.event("AC-2001", "stranger", door="main", snapshot_ref=PICTURE)
    assert rig.open("access.strangers_repeated", "AC-2001") is not None
    # A picture and a key no longer refuse an unlock.
    rig.event("AC-2001", "unlock", method="key", snapshot_ref=PICTURE, confidence=0.99)
    types = [r["type"] for r in rig.gw.store.query(
        "SELECT type FROM events WHERE device_id = 'AC-2001' ORDER BY id")]
    assert types == ["blacklisted", "tailgating", "stranger", "stranger", "stranger", "unlock"]


def test_a_fence_host_s_everyday_words_are_no_device_fault(rig: Rig) -> None:
    # Vendor round 10: after an intrusion, the host's 防区恢复, 撤防 and 布防 were refused and
    # paged a major "device refused" fault — at every shift change.
    rig.event("AC-2001", "fence_intrusion", zone="Z3", snapshot_ref=PICTURE)
    intrusion = rig.open("access.fence_intrusion", "AC-2001")
    assert json.loads(intrusion["detail"])["event"]["snapshot_ref"] == PICTURE
    rig.advance(20)
    restored_at = rig.clock.time()
    for word, fields in (("防区恢复", {"zone": "Z3"}), ("撤防", {}), ("布防", {"zone": "Z3"}),
                         ("disarmed", {}), ("armed", {})):
        rig.event("AC-2001", word, **fields)
    assert rig.dead_letters() == []
    assert rig.alerts("device.refused", "AC-2001") == []
    # Somebody crossed: the restore goes onto the alert, which stays for someone to look.
    still = rig.open("access.fence_intrusion", "AC-2001")
    assert still["state"] == "active"
    assert json.loads(still["detail"])["fence_restored_ts"] == restored_at
    # A line cut or shorted is the host's fault, in its words too.
    rig.event("AC-2001", "断线", zone="Z4")
    assert rig.open("access.fault", "AC-2001") is not None
