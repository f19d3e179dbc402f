"""The community model: validation, cross-references and the seeding helpers."""

from __future__ import annotations

import pytest
import yaml
from pydantic import ValidationError

from devices.catalogue import CATALOGUE
from rules.model import Zone
from simulators.community.model import DEFAULT_FILE, Community


def _raw() -> dict:
    return yaml.safe_load(DEFAULT_FILE.read_text(encoding="utf-8"))


def test_shipped_model_is_a_plausible_compound(community):
    assert 18 <= len(community.residents) <= 25
    assert 28 <= len(community.devices) <= 60
    # The demo community has every kind the gateway knows.
    assert {d.kind for d in community.devices} == set(CATALOGUE.kinds)
    lat, lon = community.centre_latlon()
    assert abs(lat - 35.41) < 0.01 and abs(lon - 116.59) < 0.01
    alone = [r for r in community.residents if "lives_alone" in r.tags]
    assert len(alone) >= 5


def test_registry_records_are_valid_gateway_registrations(community):
    records = community.devices_for_registry()
    configs = [CATALOGUE.device_config_adapter.validate_python(r) for r in records]
    assert len(configs) == len(community.devices)
    by_id = {c.id: c for c in configs}
    assert by_id["WB-1001"].resident_id == "R-yang"
    assert (by_id["WB-1001"].building, by_id["WB-1001"].unit, by_id["WB-1001"].grid) == (
        "3", "1", "G-01")
    assert by_id["CAM-3001"].grid == "G-03"  # from the fire lane it watches
    assert by_id["AC-2009"].grid == "G-01"  # from its gate
    assert all(c.site == "jining-renmin" for c in configs)


def test_resident_and_family_records(community):
    residents = {r["id"]: r for r in community.resident_records()}
    assert residents["R-yang"]["device_ids"] == ["WB-1001"]
    assert residents["R-yang"]["grid"] == "G-01"
    assert "lives_alone" in residents["R-yang"]["tags"]
    links = community.family_links()
    assert {"username": "yang.jun", "name": "杨军", "relation": "son",
            "resident_ids": ["R-yang"]} in links
    assert all(r in residents for link in links for r in link["resident_ids"])
    assert {w["grid"] for w in community.grid_workers()} == {"G-01", "G-02", "G-03"}


def test_zones_fit_the_rule_file_zone_shape(community):
    zones = [Zone.model_validate(z) for z in community.zones()]
    names = {z.name for z in zones}
    assert {"jining-renmin", "FL-1", "FL-2"} <= names


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d["devices"][0].update(resident="R-nobody"), "unknown resident 'R-nobody'"),
    (lambda d: d["residents"][0].update(unit="9"), "has no unit '9'"),
    (lambda d: d["devices"].append(dict(d["devices"][0])), "duplicate device id 'WB-1001'"),
    (lambda d: d["grids"][0]["buildings"].append("4"), "building 4 is in 2 grids"),
    (lambda d: d["families"][0]["residents"].append("R-ghost"), "unknown resident 'R-ghost'"),
    (lambda d: d["devices"].append({"id": "CAM-9", "kind": "camera", "fire_lane": "FL-9"}),
     "unknown fire lane 'FL-9'"),
    (lambda d: d["devices"].append({"id": "AC-9", "kind": "access", "gate": "GATE-S",
                                     "building": "1", "unit": "1"}), "exactly one of"),
    (lambda d: d["site"].update(colour="red"), "Extra inputs are not permitted"),
])
def test_broken_references_are_refused_with_a_reason(mutate, message):
    data = _raw()
    mutate(data)
    with pytest.raises(ValidationError, match=message):
        Community.model_validate(data)
