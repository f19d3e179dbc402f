"""The family page in headless Chromium: my elder on the map, nobody else's, safe zones."""

from __future__ import annotations

import re

from tests.console.conftest import DESKTOP, PHONE, login, no_horizontal_scroll, screenshot
from tests.support.waiting import wait_for

from playwright.sync_api import expect  # isort: skip  (conftest skips when it is missing)


def test_family_sees_its_elder_on_the_map_with_vitals_and_sos_history(site, new_page):
    page = new_page(PHONE)
    login(page, f"{site.url}/", "yang.jun")  # the operator console sends families to their page
    expect(page).to_have_url(re.compile(r"/family\?elder=R-yang$"))
    expect(page.locator("#elder-name")).to_have_text("杨德福")
    expect(page.locator("#elders button[data-elder]")).to_have_count(1)
    dot = page.locator("#map #elder-dot")
    expect(dot).to_be_attached()
    expect(page.locator("#map circle.accuracy")).to_have_attribute("r", "12")
    expect(page.locator("#fix-time")).to_have_text(re.compile(r"12:00:00"))  # Asia/Shanghai
    expect(page.locator("#map .building")).to_have_count(8)
    expect(page.locator("#vitals [data-vital=hr] b")).to_have_text(re.compile(r"^77\b"))
    expect(page.locator("#vitals [data-vital=bp] b")).to_have_text(re.compile(r"^138/86\b"))
    expect(page.locator("#vitals [data-vital=glucose] b")).to_have_text(re.compile(r"^6\.4\b"))
    expect(page.locator("#alarms li[data-type=sos]")).to_have_count(1)
    # That SOS came before the page was opened, and its ticket is still open: the banner says
    # so on opening, not only when an alarm arrives live.
    banner = page.locator("#alarm-banner")
    expect(banner).to_contain_text("杨德福")
    expect(banner).to_contain_text("紧急求助")
    expect(banner.locator(".status")).to_have_text("社区处理：已派网格员王芳前往")
    expect(page.locator("#trail-note")).to_have_text("今日轨迹（5 个点）")
    expect(page.locator("#map polyline.trail")).to_be_attached()
    assert no_horizontal_scroll(page)
    screenshot(page, "family-390x844")
    page.set_viewport_size(DESKTOP)
    assert no_horizontal_scroll(page)
    screenshot(page, "family-1366x768")
    assert not page.errors


def test_a_family_cannot_open_another_familys_elder(site, new_page):
    page = new_page(PHONE)
    login(page, f"{site.url}/family?elder=R-li", "yang.jun")
    expect(page.locator("#elder-error")).to_be_visible()
    expect(page.locator("#elder-error")).to_have_text("未找到该老人，或您无权查看。")
    expect(page.locator("#elder-view")).to_be_hidden()
    assert "李秀兰" not in page.content()

    def denied() -> set[str]:
        rows = site.gateway.store.query(
            "SELECT action FROM access_audit WHERE actor = 'yang.jun' AND resident_id = 'R-li'"
            " AND outcome = 'denied'")
        return {r["action"] for r in rows}

    # The page asks for location, vitals and alarms at once and shows the error on the first
    # refusal; the other refusals are logged as their requests finish.
    assert wait_for(lambda: {"location_now", "vitals"} <= denied(), timeout=10), denied()
    page.locator("#elders button[data-elder=R-yang]").click()  # their own elder still opens
    expect(page.locator("#elder-name")).to_have_text("杨德福")
    assert not page.errors


def test_family_draws_a_safe_zone_on_the_map_and_deletes_it(site, new_page):
    page = new_page(PHONE)
    login(page, f"{site.url}/family", "yang.jun")
    expect(page.locator("#map #elder-dot")).to_be_attached()
    page.locator("#zone-new").click()
    page.locator("#map").scroll_into_view_if_needed()  # the zone editor is below the map
    box = page.locator("#map").bounding_box()
    for fx, fy in ((0.3, 0.3), (0.7, 0.3), (0.7, 0.7), (0.3, 0.7)):
        page.mouse.click(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy)
    page.locator("#zone-finish").click()
    page.locator("#form-dialog input[name=name]").fill("小区和菜市场")
    page.locator("#form-dialog button[value=ok]").click()
    item = page.locator("#zones li[data-zone]")
    expect(item).to_contain_text("小区和菜市场")
    expect(page.locator("#map polygon.family-zone")).to_have_count(1)
    zones = site.call("GET", "/geofences?resident_id=R-yang", "yang.jun")
    assert [(z["name"], len(z["polygon"])) for z in zones] == [("小区和菜市场", 4)]
    lat, lon = zones[0]["polygon"][0]
    assert 35.40 < lat < 35.43 and 116.57 < lon < 116.60  # corners land in Jining, not at 0,0
    item.locator("button.danger").click()
    expect(page.locator("#zones li[data-zone]")).to_have_count(0)
    assert site.call("GET", "/geofences?resident_id=R-yang", "yang.jun") == []
    assert not page.errors
