"""A flood for the console: many elders' bands raising SOS, fall and low battery at once (three
alerts and three tickets each), replayed over MQTT into a running stack."""

from __future__ import annotations

import json
from pathlib import Path

from gateway.residents import Resident
from tests.conftest import device
from tests.console.stack import Site

SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余"
GIVEN = ("秀英", "桂兰", "德福", "玉珍", "国强", "淑芬", "长海", "志明", "福生", "金花", "建华",
         "凤英", "春生", "秀珍", "玉兰")
GRID_OF = {"1": "G-01", "2": "G-01", "3": "G-01", "4": "G-02", "5": "G-02", "6": "G-02",
           "7": "G-03", "8": "G-03"}


def add_flood_bands(site: Site, count: int) -> dict[str, tuple[float, float]]:
    """Register `count` more wearers' bands across the eight buildings; band → a fix by its
    building."""
    doc = json.loads(Path(site.gateway.settings.api.sitemap_file).read_text(encoding="utf-8"))
    corner = {b["id"]: b["polygon"][0] for b in doc["buildings"]}
    fixes, devices, residents = {}, [], []
    for n in range(1, count + 1):
        building = str((n - 1) % 8 + 1)
        device_id, resident_id = f"WB-F{n:03d}", f"R-F{n:03d}"
        name = SURNAMES[n % len(SURNAMES)] + GIVEN[n % len(GIVEN)]
        devices.append(device(device_id, "wristband", site="jining-renmin", building=building,
                              unit=str(n % 3 + 1), grid=GRID_OF[building],
                              resident_id=resident_id))
        residents.append(Resident(resident_id, name, frozenset({"lives_alone"}),
                                  "jining-renmin"))
        fixes[device_id] = (corner[building][0] - 0.0001, corner[building][1])
    site.gateway.registry.register(devices)
    assert site.gateway.alerting is not None
    site.gateway.alerting.residents.upsert(residents)
    return fixes


def publish_flood(site: Site, fixes: dict[str, tuple[float, float]]) -> None:
    """Low battery, then SOS, then a fall from each band; returns once all are committed."""
    start = site.gateway.pipeline.processed
    for band, (lat, lon) in fixes.items():
        fix = {"lat": lat, "lon": lon, "accuracy_m": 10}
        site.publish(band, "telemetry", {"worn": True, "battery_pct": 15, "location": fix})
        site.publish(band, "event", {"type": "sos", "location": fix})
        site.publish(band, "event", {"type": "fall", "location": fix})
    assert site.gateway.pipeline.wait_processed(start + 3 * len(fixes), 60)
