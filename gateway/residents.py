"""Residents and their profile tags (六色台账: e.g. lives_alone), as the rules need them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gateway.clock import Clock
from gateway.storage.common import SqlStore
from gateway.storage.people_repo import PeopleReads
from rules.ports import Polygon


@dataclass(frozen=True, slots=True)
class Resident:
    """A resident the devices serve; `tags` drive rule selectors and severity."""

    id: str
    name: str = ""
    tags: frozenset[str] = frozenset()
    site: str = ""


class ResidentRepository:
    """The `residents` table with an in-memory tag index for the per-message lookup."""

    def __init__(self, store: SqlStore, clock: Clock) -> None:
        self._store = store
        self._reads = PeopleReads(store)
        self._clock = clock
        self._residents: dict[str, Resident] = {}
        self._loaded_until = 0.0
        self._zones: dict[str, tuple[Polygon, ...]] = {}
        self._zones_signature: tuple[Any, ...] | None = None

    def load(self) -> int:
        """Read every resident; return how many."""
        self._residents = {}
        self._loaded_until = 0.0
        return self.refresh()

    def refresh(self) -> int:
        """Pick up residents changed by other processes (API, CLI); return how many."""
        rows = self._reads.residents(changed_after=self._loaded_until)
        for row in rows:
            self._residents[row.id] = Resident(row.id, row.name, frozenset(row.tags), row.site)
            self._loaded_until = max(self._loaded_until, row.updated_at)
        self._refresh_zones()
        return len(rows)

    def _refresh_zones(self) -> None:
        # The table is small and rows can be deleted: reload it whenever its signature moves.
        signature = self._reads.zones_signature()
        if signature == self._zones_signature:
            return
        zones: dict[str, list[Polygon]] = {}
        for resident_id, polygon in self._reads.enabled_polygons():
            corners = tuple((float(lat), float(lon)) for lat, lon in polygon)
            zones.setdefault(resident_id, []).append(corners)
        self._zones = {rid: tuple(polys) for rid, polys in zones.items()}
        self._zones_signature = signature

    def safe_zones(self, resident_id: str) -> tuple[Polygon, ...]:
        """Safe zones drawn for a resident (rules' ResidentDirectory, `{resident}` zones)."""
        return self._zones.get(resident_id, ())

    def upsert(self, residents: Iterable[Resident]) -> None:
        """Insert or replace residents."""
        now = self._clock.time()
        items = list(residents)
        with self._store.transaction() as tx:
            tx.people.upsert_residents([(r.id, r.name, list(r.tags), r.site) for r in items],
                                       now)
        for resident in items:
            self._residents[resident.id] = resident

    def get(self, resident_id: str) -> Resident | None:
        """One resident by id."""
        return self._residents.get(resident_id)

    def name(self, resident_id: str) -> str | None:
        """The resident's name as last refreshed; None when unknown or nameless."""
        resident = self._residents.get(resident_id)
        return resident.name or None if resident is not None else None

    def exists(self, resident_id: str) -> bool:
        """Whether the resident is on file (asks the database: another process may add one)."""
        return resident_id in self._residents or self._reads.resident(resident_id) is not None

    def tags(self, resident_id: str) -> frozenset[str]:
        """The resident's tags; empty when unknown (rules' ResidentDirectory)."""
        resident = self._residents.get(resident_id)
        return resident.tags if resident is not None else frozenset()
