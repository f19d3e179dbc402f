"""A reading past its field's range in the direction of danger is the alarm, not a fault.

A field's bounds are plausibility limits, not alarm limits: a burning charging pile reads past
200 °C, a gas sensor past its scale writes `120` or `999` %LEL, a glucose meter below its range
shows `LO`. Refused whole, such a reading reached no rule — the more dangerous the value, the
more surely the alarm was lost (red team round 12: 250 °C, 0.8 mmol/L, 290/150 mmHg and
120 %LEL raised nothing, where 110 °C, 2.5 mmol/L, 185/125 and 40 %LEL paged).

A field whose value past a bound means danger declares which way (`danger("high")` as its
`json_schema_extra`, published in its schema as `x-danger`). Such a value is kept at the
bound it passed — the sensor's "over range" — and the repair says so (devices/repair.py), so
the threshold and crisis rules judge it. A meter's own display words for "past my range"
(`LO`, `HI`) are declared with the values they stand for. A value past the other bound (a
temperature of −80 °C, a concentration below 0) is no danger the field knows of, and stays
refused.
"""

from __future__ import annotations

import math
import re
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel

Direction = Literal["high", "low", "both"]
DANGER = "x-danger"  # which way past the bounds is danger: high, low or both
DISPLAY = "x-display-words"  # a meter's words for past its range, and the values they mean
_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)$")


def danger(direction: Direction, **display: float) -> dict[str, Any]:
    """The `json_schema_extra` of a field whose value past its bound in `direction` is the
    alarm; `display`: the device's words for past its range and the value each is read as
    (`LO=1.1, HI=33.3` for a glucose meter)."""
    extra: dict[str, Any] = {DANGER: direction}
    if display:
        extra[DISPLAY] = dict(display)
    return extra


@cache
def _declared(model: type[BaseModel], name: str
              ) -> tuple[Direction, float | None, float | None, dict[str, float]] | None:
    """What field `name` of `model` declares: its danger direction, its bounds (`ge`, `le`)
    and its display words (upper case); None for a field that declares no danger."""
    info = model.model_fields.get(name)
    extra = info.json_schema_extra if info is not None else None
    if not isinstance(extra, dict) or extra.get(DANGER) not in ("high", "low", "both"):
        return None
    assert info is not None
    low = next((m.ge for m in info.metadata if getattr(m, "ge", None) is not None), None)
    high = next((m.le for m in info.metadata if getattr(m, "le", None) is not None), None)
    words = extra.get(DISPLAY)
    display = {str(k).upper(): float(v) for k, v in words.items()} \
        if isinstance(words, dict) else {}
    return extra[DANGER], low, high, display  # type: ignore[return-value]


def at_bound(model: type[BaseModel], name: str, value: Any) -> tuple[float, str] | None:
    """`value` of field `name` kept at the bound it passed in the field's danger direction
    (or the value a display word stands for), and the repair's text; None when the field
    declares no danger, or `value` is no number past a bound that way."""
    declared = _declared(model, name)
    if declared is None:
        return None
    direction, low, high, display = declared
    if isinstance(value, str):
        word = value.strip().upper()
        if word in display:
            kept = display[word]
            return kept, (f"{name[:40]} is the meter's word for past its range: read as "
                          f"{kept:.10g}, out of range")
        if not _NUMBER.match(word):
            return None
        number: float = float(word)
    elif type(value) in (int, float):
        number = value
    else:
        return None
    if not math.isfinite(number):
        return None
    if high is not None and number > high and direction in ("high", "both"):
        return high, (f"{name[:40]} past its range (above {high:.10g}): "
                      f"kept as {high:.10g}, over range")
    if low is not None and number < low and direction in ("low", "both"):
        return low, (f"{name[:40]} past its range (below {low:.10g}): "
                     f"kept as {low:.10g}, under range")
    return None
