"""Judging each device's clock from what it sends: device time minus the gateway's receipt.

A reading far in the future proves a fast clock at once. A reading far in the past may be a
buffered one (a band that was out of coverage uploads its backlog), so a slow clock is only
concluded when nothing the device sent for `window_s` was on time — except that an urgent
event or a status change is sent live, so one that is late proves a slow clock at once, if
the device had been talking without a break since before the moment it claims: otherwise it
may have been held through an outage (the device's, the broker's or the gateway's own —
after one, every device's queued alarms arrive late, and blaming their clocks buried the
real ones; a door controller back from three hours offline uploads its records after its
`online`, and its break-in of two hours ago was called a slow clock: vendor round 4).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class _State:
    skewed: bool = False
    late_since: float | None = None  # receipt time of the first late message in a row
    late_skew: float = 0.0  # the least-late skew seen since then
    heard_at: float | None = None  # latest receipt of anything from the device
    skew: float = 0.0  # the latest skew seen while judged off
    talking_since: float | None = None  # receipt of the first message after a break


# A live message that claims a time before the device was last heard from by more than this
# was not held through an outage: its clock is slow.
HELD_MARGIN_S = 60.0
# A pause in a device's messages longer than this may have been an outage: what it sends
# after one, claiming a time before it, may have been held.
BREAK_S = 120.0


class ClockWatch:
    """Per device: is its clock off by more than `limit_s`? Reports only the changes."""

    def __init__(self, limit_s: float, window_s: float = 600.0) -> None:
        self._limit = limit_s
        self._window = window_s
        self._devices: dict[str, _State] = {}
        # Each device's state before the open transaction first changed it (None: unknown
        # then), put back if the transaction fails: its retry must reach the same verdicts,
        # or the skew alert the failed attempt raised would never be raised again.
        self._before: dict[str, tuple[bool, float | None, float, float | None, float,
                                      float | None] | None] = {}

    def observe(self, device_id: str, skew_s: float, at: float, *,
                live: bool) -> tuple[bool, float] | None:
        """Note one message; return (skewed, skew) when the verdict changed, else None.

        `live` marks a message a device sends the moment it happens (urgent events, status).
        """
        st = self._devices.get(device_id)
        if device_id not in self._before:  # (fields, not a copy: this runs per message)
            self._before[device_id] = None if st is None else (
                st.skewed, st.late_since, st.late_skew, st.heard_at, st.skew, st.talking_since)
        if st is None:
            st = self._devices[device_id] = _State()
        heard = st.heard_at
        if heard is None or at - heard > BREAK_S:
            st.talking_since = at
        if heard is None or at > heard:
            st.heard_at = at
        if st.skewed:
            st.skew = skew_s
        if -self._limit <= skew_s <= self._limit:
            st.late_since = None
            return self._set(st, False, skew_s)
        claimed = at + skew_s
        if skew_s > self._limit or (live and heard is not None
                                    and heard > claimed + HELD_MARGIN_S
                                    and st.talking_since is not None
                                    and st.talking_since < claimed - HELD_MARGIN_S):
            return self._set(st, True, skew_s)
        if st.late_since is None:
            st.late_since, st.late_skew = at, skew_s
            return None
        st.late_skew = max(st.late_skew, skew_s)
        if at - st.late_since >= self._window:
            return self._set(st, True, st.late_skew)
        return None

    def skew_of(self, device_id: str) -> float | None:
        """The device's clock skew (device minus gateway, seconds) while it is judged off."""
        st = self._devices.get(device_id)
        return st.skew if st is not None and st.skewed else None

    def committed(self) -> None:
        """The transaction committed: its observations stand."""
        self._before.clear()

    def rolled_back(self) -> None:
        """The transaction failed: forget what it observed."""
        for device_id, before in self._before.items():
            if before is None:
                self._devices.pop(device_id, None)
            else:
                self._devices[device_id] = _State(*before)
        self._before.clear()

    @staticmethod
    def _set(st: _State, skewed: bool, skew_s: float) -> tuple[bool, float] | None:
        if skewed:
            st.skew = skew_s
        if st.skewed == skewed:
            return None
        st.skewed = skewed
        return skewed, skew_s
