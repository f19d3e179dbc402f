"""Tickets people can act on, in headless Chromium: dispatch offers only grid workers (the
server refuses anyone else), the worker's card carries the control room's note, the rule in
words, the place with a route hint and the family's phone (audited), and the ticket page
shows every step to the operator who closes it."""

from __future__ import annotations

import re

from tests.console.conftest import DESKTOP, PHONE, login, no_horizontal_scroll, screenshot

from playwright.sync_api import expect  # isort: skip  (conftest skips when it is missing)

NOTE = "请立即到2号楼查看郑国强，家属已在路上"
RESULT = "已扶起，无外伤，已通知家属陪同"


def _fix_by_building(site, building: str) -> dict:
    doc = site.call("GET", "/sitemap", "operator")
    lat, lon = next(b["polygon"][0] for b in doc["buildings"] if b["id"] == building)
    return {"lat": lat - 0.00008, "lon": lon + 0.0002, "accuracy_m": 8}


def test_dispatch_offers_grid_workers_only_and_the_server_refuses_anyone_else(site, new_page):
    site.publish("WB-1007", "event", {"type": "fall", "location": _fix_by_building(site, "2")},
                 wait=True)
    [row] = site.gateway.store.query(
        "SELECT t.id FROM tickets t JOIN ticket_alerts ta ON ta.ticket_id = t.id"
        " JOIN alerts a ON a.id = ta.alert_id WHERE a.device_id = 'WB-1007'"
        " AND a.rule_id = 'wristband.fall'")
    ticket = row["id"]
    for who in ("wangfnag", "zheng.hui", "operator"):  # a typo, a family, the operator
        code, body = site.status("POST", f"/tickets/{ticket}/transitions", "operator",
                                 {"action": "dispatch", "assignee": who})
        assert code == 422 and "网格员" in body["detail"], (who, body)
    code, body = site.status("POST", f"/tickets/{ticket}/transitions", "operator",
                             {"action": "dispatch", "assignee": "chenjing"})  # grid G-03
    assert code == 422 and "跨网格" in body["detail"]

    page = new_page(DESKTOP)
    login(page, f"{site.url}/", "operator")
    page.locator("nav.tabs button[data-tab=tickets]").click()
    card = page.locator(f".card[data-ticket-id='{ticket}']")
    expect(card.locator(".assignee")).to_have_text("王芳")  # the rota's day-shift worker
    expect(card.locator(".card-title")).to_have_text("跌倒报警")
    card.locator("button[data-act=dispatch]").click()
    picker = page.locator("#form-dialog select[name=assignee]")
    expect(picker.locator("option")).to_have_count(4)  # the form opens once they are read
    offered = picker.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert set(offered) == {"wangfang", "liuyang", "zhanglei", "chenjing"}  # grid workers only
    groups = picker.locator("optgroup").evaluate_all("gs => gs.map(g => g.label)")
    assert groups[0] == "本网格 · 值班中" and groups[-1].startswith("其他网格")
    picker.select_option("liuyang")
    page.locator("#form-dialog textarea[name=note]").fill(NOTE)
    page.locator("#form-dialog button[value=ok]").click()
    expect(card.locator(".assignee")).to_have_text("刘洋")
    detail = site.call("GET", f"/tickets/{ticket}", "operator")
    assert detail["events"][-1]["detail"]["previous"] == "wangfang"
    assert not page.errors


def test_the_worker_sees_note_rule_place_and_phone_and_the_operator_closes_on_the_report(
        site, new_page):
    [row] = site.gateway.store.query(
        "SELECT t.id FROM tickets t JOIN ticket_alerts ta ON ta.ticket_id = t.id"
        " JOIN alerts a ON a.id = ta.alert_id WHERE a.device_id = 'WB-1007'"
        " AND a.rule_id = 'wristband.fall'")
    ticket = row["id"]
    site.call("PUT", "/residents/R-zheng/contact", "operator", {
        "phone": "138 0537 2201", "contact_name": "郑辉", "contact_relation": "儿子",
        "contact_phone": "139 0537 2202"})

    worker = new_page(PHONE)
    login(worker, f"{site.url}/grid", "liuyang")
    card = worker.locator(f"#mine .card[data-ticket-id='{ticket}']")
    expect(card.locator(".note-box")).to_contain_text(NOTE)  # what the operator wrote
    expect(card.locator(".card-title")).to_have_text("跌倒报警")
    assert "wristband." not in card.inner_text()  # never a raw rule id
    expect(card.locator(".place-name")).to_contain_text("2号楼")
    expect(card.locator(".route-hint")).to_have_text(re.compile(r"从.+进入，向.+约 \d+ 米"))
    expect(card.locator("svg.map .target")).not_to_have_count(0)  # marked on the site map
    card.locator("button[data-act=contact]").click()
    expect(card.locator(".contact")).to_contain_text("139 0537 2202")
    expect(card.locator(".contact a[href='tel:13905372202']")).to_be_visible()
    audited = site.gateway.store.query(
        "SELECT actor FROM access_audit WHERE action = 'resident_contact'"
        " AND resident_id = 'R-zheng'")
    assert [a["actor"] for a in audited] == ["liuyang"]
    assert no_horizontal_scroll(worker)
    screenshot(worker, "grid-card-390x844")
    card.locator("button[data-act=accept]").click()
    expect(card).to_have_attribute("data-state", "handling")
    card.locator("button[data-act=report]").click()
    worker.locator("#form-dialog textarea[name=result]").fill(RESULT)
    worker.locator("#form-dialog button[value=ok]").click()
    expect(card).to_have_attribute("data-state", "feedback")

    page = new_page(DESKTOP)
    login(page, f"{site.url}/ticket?id={ticket}", "operator")
    timeline = page.locator("#timeline")
    expect(timeline.locator("li[data-step=report]")).to_have_count(1)  # the page has loaded
    steps = timeline.locator("li").evaluate_all("ls => ls.map(l => l.dataset.step)")
    assert steps[:3] == ["alert_opened", "collect", "dispatch"]
    assert steps[-3:] == ["dispatch", "accept", "report"]
    reassigned = timeline.locator("li[data-step=dispatch]").last
    expect(reassigned).to_contain_text("改派：wangfang → liuyang")
    expect(reassigned).to_contain_text(NOTE)
    expect(timeline.locator("li[data-step=report]")).to_contain_text(RESULT)
    expect(timeline.locator("li[data-step=accept] .when")).to_contain_text("刘洋")
    expect(page.locator("#ticket-result")).to_contain_text(RESULT)
    screenshot(page, "ticket-1366x768")
    page.locator("#work button[data-act=close]").click()
    expect(page.locator("#form-dialog [data-info=result]")).to_contain_text(RESULT)
    page.locator("#form-dialog textarea[name=note]").fill("已电话回访家属")
    page.locator("#form-dialog button[value=ok]").click()
    expect(page.locator("#ticket-state")).to_have_attribute("data-state", "closed")
    expect(timeline.locator("li[data-step=close]")).to_contain_text("已电话回访家属")

    worker.goto(f"{site.url}/ticket?id={ticket}")  # the worker's view of the same history
    expect(worker.locator("#timeline li[data-step=close]")).to_be_visible()
    assert no_horizontal_scroll(worker)
    assert not page.errors and not worker.errors
