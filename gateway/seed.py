"""Load a seed bundle (devices, residents, families, grid workers, door plates) into a gateway.

The demo exports one from the simulators' community model (`simulators.community.export`);
a real deployment can write the same files from its own ledgers (六色台账, door-plate lists).
"""

from __future__ import annotations

import logging
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from gateway.registry import read_import_file
from gateway.residents import Resident, ResidentRepository
from gateway.service import Gateway
from gateway.users import UserRepository

log = logging.getLogger(__name__)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ResidentSeed(_Strict):
    """A resident's profile."""

    id: str = Field(description="Resident id")
    name: str = Field(description="Name")
    tags: list[str] = Field(default_factory=list, description="Ledger tags, e.g. lives_alone")
    site: str = Field("", description="Community")
    phone: str = Field("", max_length=32, description="The resident's own phone")
    contact_name: str = Field("", max_length=64, description="Emergency contact's name")
    contact_relation: str = Field("", max_length=32, description="Emergency contact, e.g. son")
    contact_phone: str = Field("", max_length=32, description="Emergency contact's phone")


class FamilySeed(_Strict):
    """A family account and the elders it may see."""

    username: str = Field(description="Login name")
    name: str = Field("", description="Display name")
    relation: str = Field("", description="Relation to the elders")
    resident_ids: list[str] = Field(description="Linked residents")


class GridWorkerSeed(_Strict):
    """A grid worker account."""

    grid: str = Field(description="Grid the worker owns")
    username: str = Field(description="Login name")
    name: str = Field("", description="Display name")


class DoorPlateSeed(_Strict):
    """A digital door plate (数字门牌码) and the place it resolves to."""

    code: str = Field(description="Code printed on the plate")
    site: str = Field("", description="Community")
    building: str = Field("", description="Building")
    unit: str = Field("", description="Unit")
    room: str = Field("", description="Room")
    grid: str = Field("", description="Grid")


class Seed(_Strict):
    """`seed.yaml`."""

    residents: list[ResidentSeed] = Field(default_factory=list, description="Residents")
    families: list[FamilySeed] = Field(default_factory=list, description="Family accounts")
    grid_workers: list[GridWorkerSeed] = Field(default_factory=list, description="Grid workers")
    door_plates: list[DoorPlateSeed] = Field(default_factory=list, description="Door plates")


def apply_seed(gw: Gateway, folder: Path, *, password: str | None = None) -> dict[str, int]:
    """Register devices and residents, link families, add door plates; with `password`, also
    create the family and grid-worker accounts plus `admin` and `operator` (demo only)."""
    seed = Seed.model_validate(yaml.safe_load((folder / "seed.yaml").read_text("utf-8")))
    devices = gw.registry.register(read_import_file(folder / "devices.yaml"))
    repo = gw.alerting.residents if gw.alerting else ResidentRepository(gw.store, gw.clock)
    repo.upsert([Resident(r.id, r.name, frozenset(r.tags), r.site) for r in seed.residents])
    with gw.store.transaction() as tx:
        tx.people.link_family(
            [(rid, f.username, f.relation) for f in seed.families for rid in f.resident_ids])
        tx.people.door_plates(
            [(d.code, d.site, d.building, d.unit, d.room, d.grid) for d in seed.door_plates])
        for r in seed.residents:
            if r.phone or r.contact_phone:
                tx.people.put_contact(r.id, phone=r.phone, contact_name=r.contact_name,
                                      contact_relation=r.contact_relation,
                                      contact_phone=r.contact_phone, at=gw.clock.time(),
                                      by="seed")
    if password is not None:
        users = UserRepository(gw.store, gw.clock)
        users.add("admin", password, "admin", display_name="管理员", replace=True)
        users.add("operator", password, "operator", display_name="值班员", replace=True)
        for f in seed.families:
            users.add(f.username, password, "family", display_name=f.name, replace=True)
        for w in seed.grid_workers:
            users.add(w.username, password, "grid_worker", display_name=w.name, grid=w.grid,
                      replace=True)
    counts = {"devices": devices, "residents": len(seed.residents),
              "families": len(seed.families), "door_plates": len(seed.door_plates)}
    log.info("seed applied", extra=counts)
    return counts
