"""Every repository and read view answers the same on SQLite and on PostgreSQL: the statements
that differ between the two (ids from RETURNING, upserts, JSON fields, natural ordering,
NULL-safe filters, sums) exercised directly, without a gateway."""

from __future__ import annotations

import random
from pathlib import Path

import orjson
import pytest

from gateway.storage.admin_repo import AdminReads
from gateway.storage.audit import AccessRecord, AuditRepository
from gateway.storage.commands_repo import CommandReads
from gateway.storage.context_reads import fix_near, names, wear_at, worn_at_many
from gateway.storage.credentials import CredentialRepository
from gateway.storage.factory import open_store
from gateway.storage.message_reads import MessageReads
from gateway.storage.ops_reads import _QUERIES, OpsReads
from gateway.storage.people_repo import PeopleReads
from gateway.storage.plates_repo import PlateReads, PlateRequestRow
from gateway.storage.records import DeadLetter, DeviceRecord, SeqWindow, StoredMessage, Twin
from gateway.storage.sign_ins_repo import SignInReads, SqliteSignIns
from gateway.users import Session
from tests.conftest import T0

pytestmark = pytest.mark.both_backends


def _message(channel: str, type_: str, at: float, data: dict[str, object],
             seq: int | None = None) -> StoredMessage:
    return StoredMessage("WB-1", "wristband", channel, type_, at, at, seq, False,
                         orjson.dumps(data).decode())


def test_messages_twins_windows_and_retention(store):
    store.upsert_devices([DeviceRecord("WB-1", "wristband", site="s", created_at=T0,
                                       updated_at=T0)])
    with store.transaction() as tx:
        tx.add_message(_message("telemetry", "telemetry", T0 - 60, {"worn": True}, seq=1))
        tx.add_message(_message("telemetry", "telemetry", T0 - 30, {"worn": False}, seq=2))
        tx.add_message(_message("telemetry", "telemetry", T0 - 20,
                                {"location": {"lat": 35.4, "lon": 116.5}}, seq=3))
        tx.add_message(_message("event", "worn", T0 - 10, {"type": "worn"}, seq=4))
        tx.add_dead_letter(DeadLetter(T0, "scgw/v1/wristband/WB-1/event", "invalid_json",
                                      "not JSON", "WB-1", b"\xff\x00{", 3))
        tx.save_twin(Twin("WB-1", online=True, battery_pct=55.5,
                          last_telemetry={"heart_rate_bpm": 70}))
        tx.save_windows([("WB-1", "t", SeqWindow(2**62, 2**63 - 1, T0, -1))])
    with store.transaction() as tx:
        assert tx.find_stored("WB-1", "telemetry", T0 - 30) == [(2, '{"worn":false}')]
        assert tx.find_stored("WB-1", "event", T0 - 10)[0][0] == 4
    [twin] = store.load_twins()
    assert (twin.online, twin.battery_pct, twin.last_telemetry) == (
        True, 55.5, {"heart_rate_bpm": 70})
    assert store.load_windows()[("WB-1", "t")] == SeqWindow(2**62, 2**63 - 1, T0, -1)
    # The band's wear state and position, read back from the JSON of the stored rows.
    assert wear_at(store, "WB-1", T0 - 25).worn is False
    assert wear_at(store, "WB-1", T0).worn is True
    assert fix_near(store, "WB-1", T0) == (35.4, 116.5)
    reads = MessageReads(store)
    assert next(r["type"] for r in reads.recent("WB-1", None, 10)) == "worn"
    [dead] = reads.dead_letters(device_ids=["WB-1"])
    assert dead["payload_preview"].endswith("{") and reads.dead_letter_counts() == {
        "invalid_json": 1}
    assert len(reads.telemetry("WB-1", T0 - 60, T0 - 20, include_end=True)) == 3
    with store.transaction() as tx:
        assert store.prune(tx, telemetry_before=T0 - 25, dead_before=T0 + 1) == {
            "telemetry": 2, "dead_letters": 1}
    assert store.ping()


def test_the_wear_state_of_many_alerts_at_once_is_each_ones_own(store):
    # Bands that report in both ways, out of order (a buffered reading arrives late), with
    # ties, and one that never said: the batched read must agree with the one-by-one read.
    rng = random.Random(7)
    bands = [f"WB-{n}" for n in range(6)]
    store.upsert_devices([DeviceRecord(b, "wristband", created_at=T0, updated_at=T0)
                          for b in bands])
    with store.transaction() as tx:
        for seq in range(400):
            band = rng.choice(bands[:-1])
            received = T0 + seq
            ts = received - rng.choice([0, 0, 1, 5, 30])  # the band's clock, sometimes late
            if rng.random() < 0.5:
                data: dict[str, object] = {"worn": rng.random() < 0.5, "heart_rate_bpm": 70}
                if rng.random() < 0.2:
                    data = {"heart_rate_bpm": 71}  # a reading that says nothing of wear
                tx.add_message(StoredMessage(band, "wristband", "telemetry", "telemetry", ts,
                                             received, seq, False, orjson.dumps(data).decode()))
            else:
                kind = rng.choice(["removed", "worn", "sos"])
                tx.add_message(StoredMessage(band, "wristband", "event", kind, ts, received,
                                             seq, False, orjson.dumps({"type": kind}).decode()))
    asked = [(k, rng.choice(bands), T0 + rng.uniform(-5, 410)) for k in range(300)]
    batched = worn_at_many(store, asked)
    assert batched == {k: wear_at(store, band, at).worn for k, band, at in asked}
    assert {v for v in batched.values()} == {True, False, None}


def test_accounts_sessions_sign_ins_and_the_audit(store):
    with store.transaction() as tx:
        tx.accounts.put_user(username="op", password_hash="h", role="operator",
                             display_name="Op", grid=None, vendor=None, now=T0)
        tx.accounts.put_user(username="op", password_hash="h2", role="admin",
                             display_name="Op", grid="G-1", vendor=None, now=T0 + 1)
        for sid in ("s1", "s2"):
            tx.accounts.insert_session(Session(sid, "op", "admin", T0, T0, 60, T0 + 3600,
                                               f"r-{sid}"), T0 - 10)
        assert tx.accounts.revoke_sessions("op", T0, "logout", keep="s1") == 1
        assert tx.accounts.revoke_sessions("op", T0, "disabled", keep=None) == 1
        SqliteSignIns(tx.connection).record(at=T0, username="op", client_addr="10.0.0.1",
                                            outcome="ok", role="admin", user_agent="ua")
        tx.audit.record_admin(at=T0, actor="op", role="admin", action="user_created",
                              target="u:x")
        tx.audit.record_admin(at=T0, actor="op", role="admin", action="userXcreated",
                              target="u:y")
    with store.snapshot() as snap:
        assert [u.username for u in snap.accounts.users(None)] == ["op"]
        assert [u.role for u in snap.accounts.users("admin")] == ["admin"]
        assert snap.accounts.password_hash("op") == "h2" and snap.admin.enabled_admins() == 1
    assert SignInReads(store).attempts(username="op")[0]["outcome"] == "ok"
    audit = AuditRepository(store)  # type: ignore[arg-type]
    first = audit.record_access(AccessRecord(T0, "op", "admin", "location", True,
                                             residents=("R-1", "R-2")))
    second = audit.record_access(AccessRecord(T0, "op", "admin", "vitals", False,
                                              residents=("R-2",)))
    assert second > first > 0
    assert [r["residents"] for r in audit.access_rows(resident_id="R-2")] == [
        ["R-2"], ["R-1", "R-2"]]
    # `_` in a prefix is a literal underscore on both backends.
    assert [r["target"] for r in AdminReads(store).admin_actions(action="user_")] == ["u:x"]
    creds = CredentialRepository(store)  # type: ignore[arg-type]
    creds.created("WB-1", "acme", T0)
    creds.rotated("WB-1", T0 + 5)
    assert creds.get("WB-1").rotated_at == T0 + 5  # type: ignore[union-attr]


def test_people_plates_and_their_natural_order(store):
    with store.transaction() as tx:
        tx.people.upsert_residents([("R-1", "杨大爷", ["lives_alone"], "s")], T0)
        tx.people.door_plates([("DP-10-1-2", "s", "10", "1", "2", "G"),
                               ("DP-9-1-2", "s", "9", "1", "2", "G"),
                               ("dp-b-1-1", "s", "B", "1", "1", "G")])
        assert tx.people.put_contact("R-1", phone="1", contact_name="a", contact_relation="son",
                                     contact_phone="2", at=T0, by="op")
        assert tx.people.put_contact("R-1", phone="3", contact_name="a", contact_relation="son",
                                     contact_phone="2", at=T0, by="op")
        zone = tx.people.create_zone(resident_id="R-1", name="home", polygon=[[0, 0], [1, 1]],
                                     enabled=True, actor="op", now=T0)
        assert tx.plates.issue_key("DP-9-1-2", "k1", T0, "op") == 1
        assert tx.plates.rotate_key("DP-9-1-2", "k2", T0, "op") == 2
        photo = tx.plates.add_photo(ticket_id=1, media_type="image/jpeg", width=1, height=1,
                                    data=b"\xff\xd8", now=T0)
    people = PeopleReads(store)
    assert people.contact("R-1")["phone"] == "3"  # type: ignore[index]
    assert people.zone(zone).enabled is True  # type: ignore[union-attr]
    assert people.enabled_polygons() == [("R-1", [[0, 0], [1, 1]])]
    plates = PlateReads(store)
    # Building "B" reads as 0, then 9 before 10 (not "10" < "9" as text would sort).
    assert [p.code for p in plates.plates()] == ["dp-b-1-1", "DP-9-1-2", "DP-10-1-2"]
    assert [p.code for p in plates.plates(search="DP-1")] == ["DP-10-1-2"]  # any case
    assert plates.plate("DP-9-1-2").version == 2  # type: ignore[union-attr]
    assert plates.photo(photo).data == b"\xff\xd8"  # type: ignore[union-attr]
    assert names(store, "residents", {"R-1", "R-x"}) == {"R-1": "杨大爷"}


def test_the_operations_aggregates_run(store):
    store.upsert_devices([DeviceRecord("WB-1", "wristband", site="s", created_at=T0,
                                       updated_at=T0)])
    with store.transaction() as tx:
        tx.save_twin(Twin("WB-1", online=True))
        tx.connection.execute(
            "INSERT INTO tickets (code, source, category, priority, state, created_at,"
            " updated_at, sla_breaches) VALUES ('T-1', 'operator', 'sos', 'urgent',"
            " 'collected', ?, ?, ?)", (T0, T0, '["dispatch", "resolve"]'))
    ops = OpsReads(store)
    assert ops.online_by_kind_site() == [("wristband", "s", 1, 1)]
    assert sorted(ops.read("sla_breaches", T0)) == [("dispatch", 1), ("resolve", 1)]
    for name in _QUERIES:
        ops.read(name, T0)  # every aggregate is valid SQL on this backend


def test_commands_plate_requests_profiles_and_session_rotation(store):
    with store.transaction() as tx:
        tx.commands.record(command_id="c1", device_id="LK-1", name="open", args={"door": 3},
                           actor="op", now=T0, expires_at=T0 + 30)
        tx.commands.record(command_id="c2", device_id="LK-1", name="open", args={},
                           actor="op", now=T0, expires_at=T0 + 30)
        assert tx.commands.settle("c1", "LK-1", ok=True, at=T0 + 1, result={"ok": 1})
        assert not tx.commands.settle("c1", "LK-1", ok=False, at=T0 + 2, result={})
        tx.commands.expire(T0 + 60)
        assert tx.commands.late("c2", "LK-1", at=T0 + 61, result={"late": True})
        tx.plates.add_request(PlateRequestRow(7, "DP-1", 1, "sub-1", "hash", "", "", T0))
        assert tx.plates.find_submission("DP-1", "sub-1").ticket_id == 7  # type: ignore[union-attr]
        tx.accounts.put_user(username="u", password_hash="h", role="operator",
                             display_name="", grid=None, vendor=None, now=T0)
        tx.admin.update_profile("u", role="grid_worker", display_name="U", grid="G-1",
                                vendor=None, now=T0)
        tx.admin.record_rule_change(rule_id="r", change="off", detail="", reason="why",
                                    actor="a", role="admin", at=T0)
        tx.accounts.insert_session(Session("s", "u", "grid_worker", T0, T0, 60, T0 + 3600,
                                           "r0"), T0)
        assert tx.accounts.rotate("s", "r0", "r1", T0 + 5)
        assert not tx.accounts.rotate("s", "r0", "r2", T0 + 6)  # a replayed refresh token
        tx.accounts.touch("s", T0 + 7)
    reads = CommandReads(store)
    assert [(c["id"], c["state"]) for c in reads.of_device("LK-1", 10)] in (
        [("c1", "succeeded"), ("c2", "timeout")], [("c2", "timeout"), ("c1", "succeeded")])
    assert reads.one("LK-1", "c2")["late_result"] == {"late": True}  # type: ignore[index]
    with store.snapshot() as snap:
        assert snap.accounts.user("u").role == "grid_worker"  # type: ignore[union-attr]
        session = snap.accounts.session("s")
        assert session is not None and (session.refresh_hash, session.previous_hash,
                                         session.last_used_at) == ("r1", "r0", T0 + 7)
    assert [r["reason"] for r in AdminReads(store).rule_changes(rule_id="r")] == ["why"]


def test_names_and_family_links_a_ticket_reads_are_current_within_and_across_transactions(
        store, database_url: str, tmp_path: Path):
    # Every ticket and notification of an elder asks for their name and family; the answers
    # are kept for the transaction, so a write in it, or another replica's, must show.
    other = open_store(database_url, default_path=tmp_path / "scgw.db")  # another replica
    try:
        with store.transaction() as tx:
            tx.people.upsert_residents([("R-1", "杨大爷", [], "s")], T0)
            tx.people.link_family([("R-1", "fam-a", "son")])
        with store.transaction() as tx:
            assert tx.tickets.resident_name("R-1") == "杨大爷"
            assert tx.tickets.family_of("R-1") == ["fam-a"]
            tx.tickets.family_of("R-1").append("intruder")  # a caller's copy, not the kept one
            tx.people.upsert_residents([("R-1", "杨建国", [], "s")], T0 + 1)
            assert tx.tickets.resident_name("R-1") == "杨建国"
            assert tx.tickets.family_of("R-1") == ["fam-a"]
            tx.people.link_family([("R-1", "fam-b", "daughter")])
            assert tx.tickets.family_of("R-1") == ["fam-a", "fam-b"]
            assert tx.tickets.resident_name("R-2") is None
        with other.transaction() as tx:
            tx.people.upsert_residents([("R-1", "杨老汉", [], "s")], T0 + 2)
            tx.people.upsert_residents([("R-2", "李奶奶", [], "s")], T0 + 2)
            tx.people.link_family([("R-1", "fam-c", "grandson")])
        with store.transaction() as tx:
            assert tx.tickets.resident_name("R-1") == "杨老汉"
            assert tx.tickets.resident_name("R-2") == "李奶奶"
            assert tx.tickets.family_of("R-1") == ["fam-a", "fam-b", "fam-c"]
    finally:
        other.close()
