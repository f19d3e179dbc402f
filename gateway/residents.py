"""Residents and their profile tags (六色台账: e.g. lives_alone), as the rules need them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import orjson

from gateway.clock import Clock
from gateway.storage.sqlite import SqliteStore


@dataclass(frozen=True, slots=True)
class Resident:
    """A resident the devices serve; `tags` drive rule selectors and severity."""

    id: str
    name: str = ""
    tags: frozenset[str] = frozenset()
    site: str = ""


class ResidentRepository:
    """The `residents` table with an in-memory tag index for the per-message lookup."""

    def __init__(self, store: SqliteStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._residents: dict[str, Resident] = {}
        self._loaded_until = 0.0

    def load(self) -> int:
        """Read every resident; return how many."""
        self._residents = {}
        self._loaded_until = 0.0
        return self.refresh()

    def refresh(self) -> int:
        """Pick up residents changed by other processes (API, CLI); return how many."""
        rows = self._store.query(
            "SELECT id, name, tags, site, updated_at FROM residents WHERE updated_at > ?",
            (self._loaded_until,),
        )
        for row in rows:
            self._residents[row["id"]] = Resident(
                row["id"], row["name"], frozenset(orjson.loads(row["tags"])), row["site"]
            )
            self._loaded_until = max(self._loaded_until, row["updated_at"])
        return len(rows)

    def upsert(self, residents: Iterable[Resident]) -> None:
        """Insert or replace residents."""
        now = self._clock.time()
        items = list(residents)
        with self._store.transaction() as tx:
            tx.connection.executemany(
                "INSERT INTO residents (id, name, tags, site, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, "
                "tags = excluded.tags, site = excluded.site, updated_at = excluded.updated_at",
                [(r.id, r.name, orjson.dumps(sorted(r.tags)).decode(), r.site, now, now)
                 for r in items],
            )
        for resident in items:
            self._residents[resident.id] = resident

    def get(self, resident_id: str) -> Resident | None:
        """One resident by id."""
        return self._residents.get(resident_id)

    def tags(self, resident_id: str) -> frozenset[str]:
        """The resident's tags; empty when unknown (rules' ResidentDirectory)."""
        resident = self._residents.get(resident_id)
        return resident.tags if resident is not None else frozenset()
