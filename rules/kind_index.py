"""Where an engine files its rules per device kind: by message shape, so a message reaches
only the rules that can use it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rules.conditions import Evaluator
from rules.conditions.base import ANY, STATUS
from rules.ports import Subject

# An evaluator and its device selector (None: every device of the kind).
Entry = tuple[Evaluator, Callable[[Subject], bool] | None]


@dataclass(slots=True)
class KindIndex:
    """The rules one device kind's messages can reach, by message shape."""

    any: list[Entry] = field(default_factory=list)
    status: list[Entry] = field(default_factory=list)
    events: dict[str, list[Entry]] = field(default_factory=dict)
    signals: dict[str, list[Entry]] = field(default_factory=dict)

    def add(self, key: str, entry: Entry) -> None:
        """File an entry under an index key from an evaluator."""
        if key == ANY:
            self.any.append(entry)
        elif key == STATUS:
            self.status.append(entry)
        elif key.startswith("evt:"):
            self.events.setdefault(key[4:], []).append(entry)
        else:
            self.signals.setdefault(key.removeprefix("sig:"), []).append(entry)

    def size(self) -> int:
        """Entries filed (a rule under several keys counts several times)."""
        return (len(self.any) + len(self.status) + sum(map(len, self.events.values()))
                + sum(map(len, self.signals.values())))
