"""Place: one value object for where a device, alert, ticket or door plate is."""

from __future__ import annotations

import dataclasses

import pytest

from api.schemas import AlertPublic, DeviceSummary
from devices.catalogue import CATALOGUE
from devices.place import EMPTY, Place, PlaceError
from gateway.storage.records import DeviceRecord
from gateway.workflow.records import Ticket
from rules.ports import Subject
from rules.records import Alert

WHERE = {"site": "jining-renmin", "building": "3", "unit": "2", "grid": "G-01"}


def _alert(**place: str) -> Alert:
    return Alert(1, "wb.sos", "WB-1", "wristband", place.get("site", ""),
                 place.get("building", ""), place.get("unit", ""), place.get("grid", ""),
                 None, "critical", "sos", "active", 0.0, 0.0, 0.0)


def test_every_record_that_has_a_place_answers_the_same_value():
    config = CATALOGUE.kinds["wristband"].config(id="WB-1", kind="wristband", **WHERE)
    places = {
        DeviceRecord("WB-1", "wristband", **WHERE).place,
        Subject("WB-1", "wristband", **WHERE).place,
        _alert(**WHERE).place,
        Ticket(1, "GD1", "alert", "sos", "urgent", "collected", **WHERE).place,
        config.place,
    }
    assert places == {Place(**WHERE)}


def test_labels_leave_out_what_is_not_known():
    assert Place(building="3", unit="2", room="502").label_zh() == "3号楼2单元502室"
    assert Place(building="3").label_zh() == "3号楼"
    assert Place(building="3", unit="2", room="502").label_en() == "Bldg 3, Unit 2, Rm 502"
    assert EMPTY.label_zh() == "" and EMPTY.label_en() == ""


def test_within_matches_only_the_fields_the_outer_place_names():
    flat = Place(site="s", building="3", unit="2", room="502", grid="G-01")
    assert flat.within(Place(site="s", building="3"))
    assert flat.within(EMPTY)
    assert not flat.within(Place(site="s", building="4"))
    assert not Place(site="s").within(Place(site="s", building="3"))


def test_coerce_validates_mappings_and_keeps_places():
    assert Place.coerce(None) == EMPTY
    assert Place.coerce(WHERE) == Place(**WHERE)
    place = Place(site="x")
    assert Place.coerce(place) is place
    with pytest.raises(PlaceError):
        Place.coerce({"site": "x" * 65})
    with pytest.raises(PlaceError):
        Place.coerce({"site": 3})
    with pytest.raises(PlaceError):
        Place.coerce({"floor": "3"})  # not a place field: refused, not dropped


def test_places_are_frozen_and_hashable():
    place = Place(**WHERE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        place.site = "elsewhere"  # type: ignore[misc]
    assert len({place, Place(**WHERE)}) == 1


def test_api_records_carry_their_place_as_one_object():
    device = DeviceSummary(id="WB-1", kind="wristband", vendor="", model="", codec="json",
                           resident_id=None, install_date=None, status="active", **WHERE)
    assert device.model_dump()["place"] == {**WHERE, "room": ""}
    alert = AlertPublic(**{k: v for k, v in vars_of(_alert(**WHERE)).items()
                           if k in AlertPublic.model_fields}, name_zh="", name_en="")
    assert alert.model_dump()["place"]["building"] == "3"


def vars_of(alert: Alert) -> dict:
    return {name: getattr(alert, name) for name in alert.__slots__}
