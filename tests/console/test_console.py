"""The operator console and grid worker view in headless Chromium, against the live stack."""

from __future__ import annotations

import re

from tests.console.conftest import DESKTOP, PHONE, login, no_horizontal_scroll, screenshot

from playwright.sync_api import expect  # isort: skip  (conftest skips when it is missing)

ZHAO_FIX = {"lat": 35.41435, "lon": 116.58575, "accuracy_m": 10}  # R-zhao, building 1, G-01


def test_operator_sees_an_sos_live_acknowledges_it_and_dispatches_its_ticket(site, new_page):
    page = new_page(DESKTOP)
    login(page, f"{site.url}/", "operator")
    expect(page.locator("body[data-live=on]")).to_be_attached()
    expect(page.locator("#map .building")).to_have_count(8)  # drawn from the site map

    site.publish("WB-1003", "event", {"type": "sos", "location": ZHAO_FIX})  # over Mosquitto

    item = page.locator("li.alert[data-device=WB-1003]")
    expect(item).to_be_visible()  # pushed over the WebSocket: no reload
    expect(item).to_have_class(re.compile(r"\bsev-critical\b"))
    expect(item).to_have_attribute("data-state", "active")
    expect(page.locator("body")).to_have_attribute("data-beeps", re.compile(r"[1-9]"))
    alert_id = int(item.get_attribute("data-alert-id"))
    expect(page.locator(f"#map .alert-ring[data-alert-id='{alert_id}']")).to_be_attached()

    item.locator("button[data-act=ack]").click()
    expect(item).to_have_attribute("data-state", "acknowledged")
    assert site.call("GET", f"/alerts/{alert_id}", "operator")["acked_by"] == "operator"

    ticket_id = site.gateway.store.query(
        "SELECT ticket_id FROM ticket_alerts WHERE alert_id = ?", (alert_id,))[0]["ticket_id"]
    page.locator("nav.tabs button[data-tab=tickets]").click()
    card = page.locator(f".card[data-ticket-id='{ticket_id}']")
    expect(card).to_have_attribute("data-state", "dispatched")  # the rota's day-shift worker
    expect(card.locator(".assignee")).to_have_text("wangfang")
    card.locator("button[data-act=dispatch]").click()
    dialog = page.locator("#form-dialog")
    dialog.locator("select[name=assignee]").select_option("liuyang")  # G-01's night worker
    dialog.locator("textarea[name=note]").fill("王芳在处置另一起，改派刘洋")
    dialog.locator("button[value=ok]").click()
    expect(card.locator(".assignee")).to_have_text("刘洋")

    ticket = site.call("GET", f"/tickets/{ticket_id}", "operator")
    assert (ticket["state"], ticket["assignee"]) == ("dispatched", "liuyang")
    last = ticket["events"][-1]
    assert (last["actor"], last["action"], last["note"]) == (
        "operator", "dispatch", "王芳在处置另一起，改派刘洋")
    assert (last["detail"]["previous"], last["detail"]["assignee"]) == ("wangfang", "liuyang")
    screenshot(page, "console-tickets-1366x768")
    page.locator("nav.tabs button[data-tab=alerts]").click()
    screenshot(page, "console-1366x768")
    assert not page.errors


def test_grid_worker_accepts_a_ticket_and_reports_the_result(site, new_page):
    made = site.call("POST", "/tickets", "operator", {
        "category": "property", "title": "3号楼1单元楼道灯不亮", "grid": "G-01",
        "building": "3", "unit": "1"})
    assert made["assignee"] == "wangfang"  # routed to the grid's worker on duty
    page = new_page(PHONE)
    login(page, f"{site.url}/grid", "wangfang")
    card = page.locator(f"#mine .card[data-ticket-id='{made['id']}']")
    card.locator("button[data-act=accept]").click()
    expect(card).to_have_attribute("data-state", "handling")
    card.locator("button[data-act=report]").click()
    page.locator("#form-dialog textarea[name=result]").fill("已更换灯泡")
    page.locator("#form-dialog textarea[name=note]").fill("居民确认已亮")
    page.locator("#form-dialog button[value=ok]").click()
    expect(card).to_have_attribute("data-state", "feedback")
    ticket = site.call("GET", f"/tickets/{made['id']}", "operator")
    assert (ticket["state"], ticket["result"]) == ("feedback", "已更换灯泡")
    assert no_horizontal_scroll(page)
    screenshot(page, "grid-390x844")
    page.set_viewport_size(DESKTOP)
    assert no_horizontal_scroll(page)
    assert not page.errors


def test_console_tabs_fit_a_laptop_and_a_phone_without_horizontal_scroll(site, new_page):
    page = new_page(DESKTOP)
    login(page, f"{site.url}/", "operator")
    expect(page.locator("li.alert").first).to_be_visible()
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        for tab in ("tickets", "devices", "dead", "alerts"):
            page.locator(f"nav.tabs button[data-tab={tab}]").click()
            expect(page.locator(f"#tab-{tab}")).to_be_visible()
            if tab == "devices":
                expect(page.locator("#devices tr[data-device=WB-1001]")).to_be_visible()
            assert no_horizontal_scroll(page), (viewport, tab)
    screenshot(page, "console-390x844")
    page.locator("header [data-action=lang]").click()  # English on demand
    expect(page.locator("nav.tabs button[data-tab=tickets]")).to_have_text("Tickets")
    assert no_horizontal_scroll(page)
    assert not page.errors
