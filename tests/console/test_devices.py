"""Devices in headless Chromium: an SOS from a band reporting `worn: false` still pages but is
marked for the operator; the device page (twin, chart, events, dead letters, commands); icons
that need no emoji font; the English console has no Chinese left in its chrome."""

from __future__ import annotations

import re

from tests.console.conftest import DESKTOP, login, no_horizontal_scroll, screenshot

from playwright.sync_api import expect  # isort: skip  (conftest skips when it is missing)

WU = {"lat": 35.41425, "lon": 116.58700, "accuracy_m": 11}  # by building 6


def test_an_sos_from_a_band_off_the_wrist_pages_and_says_so(site, new_page):
    now = site.clock.time()
    for minutes, rate in ((30, 70), (20, 76), (10, 81)):  # readings while it was worn
        site.publish("WB-1006", "telemetry", {"ts": int((now - 60 * minutes) * 1000), "worn": True,
                                              "heart_rate_bpm": rate, "battery_pct": 52,
                                              "location": WU}, wait=True)
    site.publish("WB-1006", "telemetry", {"worn": False, "battery_pct": 51}, wait=True)
    page = new_page(DESKTOP)
    login(page, f"{site.url}/", "operator")
    expect(page.locator("body[data-live=on]")).to_be_attached()
    site.publish("WB-1006", "event", {"type": "sos", "location": WU})
    item = page.locator("li.alert[data-device=WB-1006]")
    expect(item).to_have_class(re.compile(r"\bsev-critical\b"))  # an SOS is never suppressed
    expect(item).to_have_attribute("data-state", "active")
    expect(page.locator("body")).to_have_attribute("data-last-sound", "critical")
    badge = item.locator("[data-badge=notworn]")
    expect(badge).to_have_text("手环未佩戴")
    expect(badge).to_have_attribute("title", re.compile("请电话核实"))
    expect(badge.locator("svg[data-icon=watch-off]")).to_be_attached()

    item.locator("button[data-act=silence]").click()  # a silence shows an icon, not 🔕
    # An SOS: only this rule on this device, at most an hour (red team round 4).
    expect(page.locator("#form-dialog select[name=scope] option")).to_have_count(1)
    expect(page.locator("#form-dialog select[name=duration] option")).to_have_count(2)
    page.locator("#form-dialog select[name=scope]").select_option("rule")
    page.locator("#form-dialog input[name=reason]").fill("家属已电话确认手环在充电")
    page.locator("#form-dialog button[value=ok]").click()
    muted = item.locator("[data-badge=muted]")
    expect(muted).to_be_visible()
    expect(muted.locator("svg[data-icon=bell-off] path")).not_to_have_count(0)
    assert "🔕" not in page.content()
    assert not page.errors


def test_the_device_page_shows_twin_chart_messages_dead_letters_and_commands(site, new_page):
    site.publisher.publish("scgw/v1/wristband/WB-1006/telemetry",
                           b'{"ts": 1795233600000, "seq": 9001, "heart_rate_bpm": "fast"}')
    page = new_page(DESKTOP)
    login(page, f"{site.url}/", "operator")
    page.locator("nav.tabs button[data-tab=devices]").click()
    row = page.locator("#devices tr[data-device=WB-1006]")
    expect(row).to_contain_text("未佩戴")
    row.locator("td").nth(1).click()  # the whole row opens the device
    expect(page).to_have_url(re.compile(r"/device\?id=WB-1006$"))
    expect(page.locator("#device-id")).to_have_text("WB-1006")
    expect(page.locator("#twin-online")).to_contain_text("在线")
    expect(page.locator("#twin-worn")).to_have_text("未佩戴")
    expect(page.locator("#twin-battery")).to_have_text("51%")
    expect(page.locator("#twin-fix")).to_contain_text("±11 m")
    expect(page.locator("#signal")).to_have_value("heart_rate_bpm")
    expect(page.locator("#chart polyline.line")).to_have_attribute("data-points", "3")
    expect(page.locator("#events tr[data-type=sos]")).to_be_visible()
    expect(page.locator("#dead")).to_contain_text("heart_rate_bpm")
    page.locator("#command-buttons button[data-command=locate_now]").click()
    expect(page.locator("#commands tbody tr").first).to_have_attribute("data-state", "sent")
    expect(page.locator("#commands tbody tr").first).to_contain_text("locate_now")
    assert no_horizontal_scroll(page)
    screenshot(page, "device-1366x768")
    assert not page.errors


def test_the_english_console_translates_its_chrome_rules_and_dates(site, new_page):
    page = new_page(DESKTOP)
    login(page, f"{site.url}/", "operator")
    expect(page.locator("li.alert").first).to_be_visible()
    page.locator("header [data-action=lang]").click()
    expect(page.locator("#live")).to_have_text("Live")
    expect(page.locator("#who")).to_have_text("Operator · operator")
    yang = page.locator("li.alert[data-device=WB-1001]")
    expect(yang.locator(".title")).to_have_text("SOS (band or button)")
    expect(yang.locator(".meta")).to_contain_text("21 Nov 2026, 12:00:00")
    chrome = page.locator("header").inner_text() + page.locator("nav.tabs").inner_text()
    chrome = chrome.replace("中文", "")  # the switch back names its language in it
    assert not re.search(r"[\u4e00-\u9fff]", chrome), chrome
    page.locator("nav.tabs button[data-tab=tickets]").click()
    expect(page.locator(".column[data-state=dispatched] h3")).to_contain_text("Dispatched")
    card = page.locator(".column .card").first
    assert not re.search(r"[\u4e00-\u9fff]", card.locator(".card-title").inner_text())
    page.locator("header [data-action=lang]").click()  # back to Chinese for the other tests
    expect(page.locator("#live")).to_have_text("实时")
    assert not page.errors
