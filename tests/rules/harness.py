"""An engine on a temporary store (SQLite, or the database.url given), without MQTT: for unit
and property tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devices.catalogue import CATALOGUE
from gateway.clock import ManualClock
from gateway.storage.factory import open_store
from rules.engine import Engine, EngineConfig
from rules.loader import load_rules
from rules.ports import Message, Subject

SUBJECTS = {
    "WB-1": Subject("WB-1", "wristband", "s1", "3", "1", "G-1", "R-1"),
    "WB-2": Subject("WB-2", "wristband", "s1", "5", "1", "G-1", "R-2"),
}


class Directory:
    """Fixed subjects."""

    def subject(self, device_id: str) -> Subject | None:
        """The subject, if known."""
        return SUBJECTS.get(device_id)


class Harness:
    """Feeds messages and ticks to an engine, each in its own transaction."""

    def __init__(self, folder: Path, files: list[Path], clock: ManualClock,
                 config: EngineConfig | None = None, url: str = "") -> None:
        self.clock = clock
        # `url`: a database.url (PostgreSQL too); empty: a SQLite file in `folder`.
        self.store = open_store(url, default_path=folder / "rules.db", synchronous="OFF")
        ruleset = load_rules(files, tuple(CATALOGUE.kinds))
        self.engine = Engine(ruleset, config or EngineConfig(), clock=clock, devices=Directory())
        with self.store.transaction() as tx:
            self.engine.start(tx)

    def telemetry(self, device_id: str, **fields: Any) -> None:
        """A wristband reading now."""
        model = CATALOGUE.telemetry_adapter("wristband").validate_python(
            {"ts": int(self.clock.time() * 1000), **fields})
        self._send(device_id, "telemetry", "telemetry", model)

    def event(self, device_id: str, type_: str, **fields: Any) -> None:
        """A wristband event now."""
        model = CATALOGUE.event_adapter("wristband").validate_python(
            {"ts": int(self.clock.time() * 1000), "type": type_, **fields})
        self._send(device_id, "event", type_, model)

    def _send(self, device_id: str, channel: str, type_: str, model: Any) -> None:
        now = self.clock.time()
        msg = Message(SUBJECTS[device_id], channel, type_, model, now, now)
        with self.store.transaction() as tx:
            self.engine.on_message(msg, tx)

    def tick(self) -> None:
        """Run timers now."""
        with self.store.transaction() as tx:
            self.engine.tick(tx)

    def do(self, fn: Any) -> None:
        """Run `fn(tx)` in a transaction."""
        with self.store.transaction() as tx:
            fn(tx)

    def close(self) -> None:
        """Close the store."""
        self.store.close()
