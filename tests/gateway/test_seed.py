"""The demo seed bundle: what it loads is what the console's people need on day one."""

from __future__ import annotations

from gateway.seed import apply_seed
from gateway.storage.people_repo import PeopleReads
from simulators.community.export import export, seed
from simulators.community.model import load_community


def test_every_seeded_resident_has_a_phone_and_a_family_member_to_call(make_gateway, tmp_path):
    community = load_community()
    bundle = seed(community)
    export(tmp_path / "seed", community)
    gw = make_gateway(devices=[])
    apply_seed(gw, tmp_path / "seed")
    reads = PeopleReads(gw.store)
    followed = {rid for f in bundle["families"] for rid in f["resident_ids"]}
    for resident in bundle["residents"]:
        contact = reads.contact(resident["id"])
        assert contact is not None and contact["phone"].startswith("139 0537 "), resident
        if resident["id"] in followed:  # their family member is the emergency contact
            names = {f["name"] for f in bundle["families"] if resident["id"] in f["resident_ids"]}
            assert contact["contact_name"] in names and contact["contact_phone"], resident
    phones = [reads.contact(r["id"])["phone"] for r in bundle["residents"]]
    assert len(set(phones)) == len(phones)  # nobody shares a made-up number
    assert seed(community) == bundle  # the same numbers on every export
