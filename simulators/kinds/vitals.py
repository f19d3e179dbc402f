"""A wearer's body: plausible vitals with a day/night rhythm, effort, shock and overrides."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from simulators.community.model import Resident

BP_EVERY = timedelta(minutes=30)
GLUCOSE_EVERY = timedelta(hours=2)
MEALS = ((7.0, 8.5), (12.0, 13.5), (18.0, 19.5))


class Body:
    """Baselines drawn once per person; `measure` adds rhythm and noise around them."""

    def __init__(self, resident: Resident, rng: random.Random) -> None:
        self.rng = rng
        h = resident.health
        chronic = "chronic_illness" in resident.tags
        self.hr = h.heart_rate_bpm or rng.randint(62, 78)
        self.sys = h.systolic_mmhg or int(118 + 0.45 * (resident.age - 60) + (8 if chronic else 0))
        self.dia = h.diastolic_mmhg or rng.randint(72, 84)
        self.glucose = h.glucose_mmol_l or (6.4 if chronic else 5.4)
        self.spo2 = rng.uniform(96, 98)
        self.shock_until: datetime | None = None
        self.overrides: dict[str, float] = {}
        self.override_until: datetime | None = None
        self.last_bp: datetime | None = None
        self.last_glucose: datetime | None = None

    def shock(self, now: datetime) -> None:
        """After a fall the heart races for a quarter of an hour."""
        self.shock_until = now + timedelta(minutes=15)

    def override(self, values: dict[str, float], until: datetime | None) -> None:
        """Hold some vitals at given values (a scenario's health episode)."""
        self.overrides, self.override_until = dict(values), until

    def measure(self, now: datetime, hour: float, *, walking: bool, lying: bool) -> dict[str, Any]:
        """Telemetry fields for one reading; BP and glucose only when their cadence is due."""
        if self.override_until is not None and now >= self.override_until:
            self.overrides, self.override_until = {}, None
        o, g = self.overrides, self.rng.gauss
        night = hour < 6 or hour >= 22
        hr = self.hr - (7 if night else 0) + (15 if walking else 0)
        if self.shock_until is not None and now < self.shock_until:
            hr += 22
        hr = o.get("heart_rate_bpm", hr) + g(0, 2.5)
        spo2 = o.get("spo2_pct", self.spo2 - (1 if night else 0)) + g(0, 0.5)
        out: dict[str, Any] = {
            "heart_rate_bpm": int(min(200, max(35, round(hr)))),
            "spo2_pct": round(min(100.0, max(60.0, spo2)), 1),
            "body_temp_c": round(36.4 - (0.3 if night else 0) + g(0, 0.15), 1),
        }
        if "spo2_pct" not in o:
            out["spo2_pct"] = max(out["spo2_pct"], 92.0)  # a healthy baseline never pages
        bp_forced = "systolic_mmhg" in o or "diastolic_mmhg" in o
        if bp_forced or self.last_bp is None or now - self.last_bp >= BP_EVERY:
            self.last_bp = now
            out.update(self._bp(night, bp_forced))
        if "glucose_mmol_l" in o or self.last_glucose is None or (
                now - self.last_glucose >= GLUCOSE_EVERY):
            self.last_glucose = now
            meal = any(lo <= hour < hi for lo, hi in MEALS)
            glucose = o.get("glucose_mmol_l", self.glucose + (1.8 if meal else 0)) + g(0, 0.25)
            if "glucose_mmol_l" not in o:
                glucose = min(13.0, max(4.2, glucose))
            out["glucose_mmol_l"] = round(min(35.0, max(1.0, glucose)), 1)
        return out

    def _bp(self, night: bool, forced: bool) -> dict[str, int]:
        o, g = self.overrides, self.rng.gauss
        sys_ = o.get("systolic_mmhg", self.sys - (8 if night else 0)) + g(0, 5)
        dia = o.get("diastolic_mmhg", self.dia - (5 if night else 0)) + g(0, 3)
        if not forced:
            sys_ = min(sys_, 156.0)  # the baseline stays under the 160 mmHg alarm line
        sys_i, dia_i = round(sys_), round(dia)
        return {"systolic_mmhg": max(sys_i, dia_i + 15), "diastolic_mmhg": dia_i}
