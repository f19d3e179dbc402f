"""An event's time when the device's clock was never set: epoch seconds read as seconds,
anything else no set clock writes replaced by the gateway's time of receipt."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

# Epoch seconds a clock may mean (2000 to 2200): a `ts` between them is seconds, not ms.
_MIN_EPOCH_S = 946_684_800
_MAX_EPOCH_S = 7_258_118_400
RECEIPT_TS = "ts unusable: the gateway's time of receipt used instead"


def usable_ts(ts: object, received_at: float, repairs: list[str],
              valid: Callable[[object], bool]) -> tuple[Any, bool]:
    """(ts, whether it is the time of receipt): the device's `ts` when `valid`; read as epoch
    seconds when it plainly is; else the time of receipt."""
    if ts is not None and valid(ts):
        return ts, False
    number = type(ts) in (int, float) and math.isfinite(ts)  # type: ignore[arg-type]
    if number and _MIN_EPOCH_S <= ts <= _MAX_EPOCH_S:  # type: ignore[operator]
        repairs.append("ts read as epoch seconds")
        return round(ts * 1000), False  # type: ignore[operator]
    repairs.append(RECEIPT_TS)
    return round(received_at * 1000), True
