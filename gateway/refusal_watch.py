"""Devices whose messages keep being refused: the control room is told, not only the vendor.

A firmware update that renames a field, misspells a topic or invents an event word turns a
device's messages into dead letters. The device's `…/errors` topic says why, but nobody in
the control room reads it, and a band whose events are all refused is a band whose next
alarm may not be heard (urgent words are salvaged from many mistakes, not from all). So when
an installed device's last few messages on one channel were all refused for what the
device sent, the operators get a `device.refused` alert; it clears by itself once that
channel's messages are accepted again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from devices import topics
from devices.errors import TopicError
from devices.words import shown_text

# Refusals that say the device speaks wrongly. Not counted: a device nobody registered,
# approved or left enabled (the staff's decision), a fast clock (its own alert), a flood
# (shed and summarised), and our own bugs.
COUNTED = frozenset({"oversized", "bad_topic", "kind_mismatch", "malformed_json",
                     "schema_invalid", "out_of_range", "unknown_event_type", "retained"})
# Consecutive refusals on a channel before it is judged broken: events are rare and each one
# matters; readings come often and one odd value is no fault.
EVENT_LIMIT = 3
OTHER_LIMIT = 5
# A refused message whose topic is not one of ours (a misspelt channel, a dialect's topic).
OTHER = "other"


def channel_of(topic: str) -> str:
    """The channel a refused message was sent on, or OTHER."""
    try:
        return topics.parse(topic).channel
    except TopicError:
        return OTHER


@dataclass(slots=True)
class _Device:
    counts: dict[str, int] = field(default_factory=dict)  # consecutive refusals per channel
    reasons: dict[str, str] = field(default_factory=dict)  # each channel's latest reason
    broken: frozenset[str] = frozenset()  # the broken channels last reported
    # Event words refused as unknown, and how often (a few, short): what the device tried to
    # say, for the operator (vendor round 11: three refused 非平层困人 read as "device fault").
    words: dict[str, int] = field(default_factory=dict)


WORDS_MAX = 5  # refused event words a device's alert names
WORD_MAX = 24



class RefusalWatch:
    """Per device: consecutive refusals per channel; reports when a device turns broken or
    recovers. Holds only devices with refusals outstanding (bounded by the registry)."""

    def __init__(self, event_limit: int = EVENT_LIMIT, other_limit: int = OTHER_LIMIT) -> None:
        self._event_limit = event_limit
        self._other_limit = other_limit
        self.devices: dict[str, _Device] = {}
        self._changed: set[str] = set()
        # Each device's state before the open transaction changed it, put back on rollback.
        self._before: dict[str, _Device | None] = {}

    def refused(self, device_id: str, topic: str, reason: str, word: str | None = None) -> None:
        """Note one refusal (ignored unless its reason is the device's own doing); `word`:
        the event type it named, when that was the trouble."""
        if reason not in COUNTED:
            return
        st = self._touch(device_id)
        channel = channel_of(topic)
        st.counts[channel] = st.counts.get(channel, 0) + 1
        st.reasons[channel] = reason
        word = shown_text(word, WORD_MAX) if word else None
        if word:
            if word not in st.words and len(st.words) >= WORDS_MAX:
                # The least said goes, so a new word is always named: five everyday unknown
                # words kept a later alarm word out for the alert's life (red team round 12).
                del st.words[min(st.words, key=lambda w: st.words[w])]
            st.words[word] = st.words.get(word, 0) + 1
        self._changed.add(device_id)

    def accepted(self, device_id: str, channel: str) -> None:
        """A message of the device was accepted on `channel` (call only for devices in
        `devices`: the per-message path checks membership first). An accepted event also
        proves the misspelt or foreign topic it may have used before is no longer in use."""
        st = self.devices.get(device_id)
        if st is None:
            return
        cleared = (channel, OTHER) if channel == "event" else (channel,)
        if not any(c in st.counts for c in cleared):
            return
        st = self._touch(device_id)
        for c in cleared:
            st.counts.pop(c, None)
            st.reasons.pop(c, None)
        self._changed.add(device_id)

    def start_over(self, device_id: str) -> None:
        """Forget the device's refusals and its reported verdict: its alert was cleared by
        hand, and the next run of refusals raises it again."""
        if device_id in self.devices:
            st = self._touch(device_id)
            st.counts.clear()
            st.reasons.clear()
            st.words.clear()
            st.broken = frozenset()

    def take(self) -> list[tuple[str, dict[str, Any] | None]]:
        """Devices whose verdict changed since the last call: (id, what is broken) when a
        channel turned broken, (id, None) when none is any longer."""
        out: list[tuple[str, dict[str, Any] | None]] = []
        for device_id in self._changed:
            st = self.devices.get(device_id)
            if st is None:
                continue
            broken = {c: n for c, n in st.counts.items() if n >= self._limit(c)}
            # Reported again when another channel breaks too: its alarms refused after its
            # readings makes the alert major (red team round 5 re-check).
            if set(broken) != st.broken and (not broken or not set(broken) <= st.broken):
                st.broken = frozenset(broken)
                out.append((device_id, self._detail(st, broken) if broken else None))
            if not st.counts and not st.broken:
                del self.devices[device_id]
        self._changed.clear()
        return out

    def committed(self) -> None:
        """The transaction committed: its observations stand."""
        self._before.clear()

    def rolled_back(self) -> None:
        """The transaction failed: forget what it observed (its retry observes it again)."""
        for device_id, before in self._before.items():
            if before is None:
                self.devices.pop(device_id, None)
            else:
                self.devices[device_id] = before
        self._before.clear()
        self._changed.clear()

    def _touch(self, device_id: str) -> _Device:
        st = self.devices.get(device_id)
        if device_id not in self._before:
            self._before[device_id] = None if st is None else _Device(
                dict(st.counts), dict(st.reasons), st.broken, dict(st.words))
        if st is None:
            st = self.devices[device_id] = _Device()
        return st

    def _limit(self, channel: str) -> int:
        return self._event_limit if channel in ("event", OTHER) else self._other_limit

    @staticmethod
    def _detail(st: _Device, broken: dict[str, int]) -> dict[str, Any]:
        channels = sorted(broken)
        detail: dict[str, Any] = {"refused_channels": channels,
                                  "refused_in_a_row": max(broken.values()),
                                  "refused_reasons": sorted({st.reasons[c] for c in channels})}
        if st.words:
            detail["refused_words"] = ", ".join(f"{w} ×{n}" for w, n in st.words.items())
        return detail
