"""Idle time counted only inside daily windows: where the deadline of `counter_idle` falls."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from rules.conditions.counter_idle import idle_deadline
from rules.conditions.schedule import Window

TZ = ZoneInfo("Asia/Shanghai")


def _at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=TZ).timestamp()


@pytest.mark.parametrize(("start", "hours", "windows", "due"), [
    # No windows: plain time.
    ("2026-11-21T12:00", 12, [], "2026-11-22T00:00"),
    # Daytime only: the night does not count, whenever the silence began.
    ("2026-11-21T12:00", 12, [("06:00", "22:00", None)], "2026-11-22T08:00"),
    ("2026-11-21T23:30", 12, [("06:00", "22:00", None)], "2026-11-22T18:00"),
    ("2026-11-21T06:30", 12, [("06:00", "22:00", None)], "2026-11-21T18:30"),
    # A window across midnight belongs to the day it starts on.
    ("2026-11-21T12:00", 3, [("22:00", "02:00", None)], "2026-11-22T01:00"),
    # Weekdays only (21 Nov 2026 is a Saturday): the weekend does not count.
    ("2026-11-21T12:00", 2, [("08:00", "18:00", ["mon", "tue", "wed", "thu", "fri"])],
     "2026-11-23T10:00"),
    # Overlapping windows count once; 24:00 ends at midnight.
    ("2026-11-21T00:00", 20, [("06:00", "24:00", None), ("10:00", "12:00", None)],
     "2026-11-22T08:00"),
])
def test_deadline_counts_only_window_time(start, hours, windows, due):
    models = [Window(start=s, end=e, **({"days": d} if d else {})) for s, e, d in windows]
    assert idle_deadline(_at(start), hours * 3600, models, TZ) == _at(due)


def test_a_window_that_never_comes_gives_no_deadline():
    never = [Window(days=["mon"], start="00:00", end="00:01")]
    assert idle_deadline(_at("2026-11-21T12:00"), 30 * 86400, never, TZ) is None
