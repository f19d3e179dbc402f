"""An alert raised by a salvaged (faulty) payload says so in the operator's alert list and on
its ticket, in Chinese and in English."""

from __future__ import annotations

from tests.console.conftest import DESKTOP, login

from playwright.sync_api import expect  # isort: skip  (conftest skips when it is missing)


def test_an_alert_from_a_salvaged_payload_shows_what_was_wrong(site, new_page):
    page = new_page(DESKTOP)
    login(page, f"{site.url}/", "operator")
    expect(page.locator("body[data-live=on]")).to_be_attached()
    # An SOS carrying a field an SOS does not have: stored and paged, the field dropped.
    site.publish("WB-1005", "event", {"type": "sos", "battery_pct": 40})
    item = page.locator("li.alert[data-device=WB-1005]")
    badge = item.locator("[data-badge=payload]")
    expect(badge).to_have_text("报文有误·已补救")
    expect(badge).to_have_attribute("title", "设备发来的报文不符合接口规范：网关保留了能读懂的部分"
                                    "并照常告警，缺失的内容（如定位）请电话核实，并请厂商修正设备")
    problem = item.locator(".payload-problem")
    expect(problem).to_contain_text("报文问题：")
    expect(problem).to_contain_text("battery_pct dropped")
    page.locator("header [data-action=lang]").click()
    expect(badge).to_have_text("Faulty payload, salvaged")
    expect(problem).to_contain_text("Payload problem: ")
    page.locator("header [data-action=lang]").click()  # back to Chinese for the other tests
    expect(page.locator("#live")).to_have_text("实时")

    # Loaded afresh (not from the live push) it says the same, and so does its ticket.
    page.reload()
    expect(item.locator(".payload-problem")).to_contain_text("battery_pct dropped")
    [row] = site.gateway.store.query(
        "SELECT ta.ticket_id FROM ticket_alerts ta JOIN alerts a ON a.id = ta.alert_id"
        " WHERE a.device_id = 'WB-1005' AND a.rule_id = 'wristband.sos'")
    page.goto(f"{site.url}/ticket?id={row['ticket_id']}")
    linked = page.locator("#alerts li").first
    expect(linked.locator("[data-badge=payload]")).to_have_text("报文有误·已补救")
    expect(linked.locator(".payload-problem")).to_contain_text("battery_pct dropped")
    assert not page.errors
