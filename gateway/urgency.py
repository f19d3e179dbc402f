"""Which received messages may jump the ingest queue: the kinds' urgent events (SOS, fall …)."""

from __future__ import annotations

import re

from devices.catalogue import CATALOGUE, KindCatalogue
from gateway.envelope import RawMessage


class UrgencyHint:
    """Spots an urgent event from its topic and raw payload, before anything is decoded.

    Only a hint for ordering work: a payload it does not recognise (a vendor's own format,
    say) simply waits its turn, and decoding still judges every message in full.
    """

    def __init__(self, catalogue: KindCatalogue = CATALOGUE) -> None:
        self._patterns = {
            # Any case: a salvaged "SOS" is as urgent as "sos" (devices/salvage.py).
            kind.key: re.compile(rb'"type"\s*:\s*"\s*(?i:'
                                 + b"|".join(re.escape(t.encode()) for t in kind.urgent)
                                 + rb')\s*"')
            for kind in catalogue.kinds.values() if kind.urgent
        }

    def device(self, raw: RawMessage) -> str | None:
        """The sending device's id if `raw` is an urgent event, else None."""
        topic = raw.topic
        if not topic.endswith("/event"):
            return None
        parts = topic.split("/")  # scgw/v1/{kind}/{device_id}/event
        if len(parts) != 5:
            return None
        pattern = self._patterns.get(parts[2])
        if pattern is None or pattern.search(raw.payload) is None:
            return None
        return parts[3]


def device_of(topic: str) -> str:
    """The device id segment of a device topic ("" when the topic has none)."""
    parts = topic.split("/", 4)
    return parts[3] if len(parts) > 3 else ""
