"""A family's day in headless Chromium: the SOS banner says when, where and what the community
is doing; the history keeps the place, the steps and the outcome; vitals say why they are
missing when the band is off."""

from __future__ import annotations

import re

from tests.console.conftest import PHONE, login, no_horizontal_scroll, screenshot

from playwright.sync_api import expect  # isort: skip  (conftest skips when it is missing)

VITALS = {"heart_rate_bpm": 74, "systolic_mmhg": 128, "diastolic_mmhg": 80,
          "glucose_mmol_l": 5.9, "spo2_pct": 97, "battery_pct": 58}


def _park(site) -> dict:
    doc = site.call("GET", "/sitemap", "operator")
    park = next(p["polygon"] for p in doc["pois"] if p["id"] == "park")
    lat = sum(p[0] for p in park) / len(park)
    lon = sum(p[1] for p in park) / len(park)
    return {"lat": lat, "lon": lon, "accuracy_m": 6}


def test_the_family_is_told_when_where_what_was_done_and_the_outcome(site, new_page):
    park = _park(site)
    site.publish("WB-1008", "telemetry", {**VITALS, "worn": True, "location": park}, wait=True)
    page = new_page(PHONE)
    login(page, f"{site.url}/family", "feng.tao")
    expect(page.locator("#elder-name")).to_have_text("冯秀英")

    site.publish("WB-1008", "event", {"type": "sos", "location": park})
    banner = page.locator("#alarm-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("2026年11月21日 12:00:00")  # the locale's full date
    expect(banner).to_contain_text("冯秀英在仁和游园紧急求助")
    expect(banner.locator(".status")).to_have_text("社区处理：已派网格员陈静前往")  # G-03's worker
    [row] = site.gateway.store.query(
        "SELECT ta.ticket_id FROM ticket_alerts ta JOIN alerts a ON a.id = ta.alert_id"
        " WHERE a.device_id = 'WB-1008' AND a.category = 'sos'")
    ticket = row["ticket_id"]
    site.call("POST", f"/tickets/{ticket}/transitions", "chenjing", {"action": "accept"})
    expect(banner.locator(".status")).to_have_text("社区处理：网格员陈静正在处置")
    site.call("POST", f"/tickets/{ticket}/transitions", "chenjing",
              {"action": "report", "result": "无大碍，已送回家"})
    site.call("POST", f"/tickets/{ticket}/transitions", "operator", {"action": "close"})
    expect(banner.locator(".status")).to_have_text("社区处理：已办结：无大碍，已送回家")

    item = page.locator("#alarms li[data-type=sos]")
    expect(item).to_have_attribute("data-state", "closed")
    expect(item.locator(".where")).to_have_text("在仁和游园")
    expect(item.locator(".status")).to_have_text("已办结：无大碍，已送回家")
    expect(item.locator(".steps")).to_contain_text("派网格员陈静")
    expect(item.locator(".steps")).to_contain_text("陈静反馈处置结果")
    assert no_horizontal_scroll(page)
    screenshot(page, "family-sos-390x844")

    # The band comes off: the vitals say so, with since when and the last reading. (Stamped
    # two minutes on by the band's clock: this shared stack's clock stays where it is.)
    later = int((site.clock.time() + 120) * 1000)
    site.publish("WB-1008", "telemetry", {"ts": later, "worn": False, "battery_pct": 57},
                 wait=True)
    page.reload()
    hr = page.locator("#vitals [data-vital=hr]")
    expect(hr).to_have_attribute("data-missing", "not_worn")
    expect(hr.locator(".why")).to_have_text(re.compile(r"^未佩戴（2026年11月21日 12:02:00 起）$"))
    expect(hr.locator(".last")).to_have_text(
        re.compile(r"^上次 74 次/分 · 2026年11月21日 12:00:00"))
    expect(page.locator("#vitals [data-vital=battery] b")).to_have_text("57 %")
    screenshot(page, "family-vitals-390x844")
    assert not page.errors
