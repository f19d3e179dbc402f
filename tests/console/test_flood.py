"""A flood on the operator console (360 alerts, 360 tickets) in headless Chromium: incidents,
pages, filters and honest counts; a new critical on top at once with its siren; the ack
countdown and why an alert came back; SLA breaches first on the board. Timings are printed
(bench/console_flood.py reports them), never asserted against the wall clock."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.console.conftest import DESKTOP, login, no_horizontal_scroll, screenshot
from tests.console.flood import add_flood_bands, publish_flood
from tests.console.stack import CommitTimes, Site, start_site

from playwright.sync_api import expect  # isort: skip  (conftest skips when it is missing)

BANDS = 120  # × (SOS + fall + low battery) = 360 alerts, 360 tickets
LI = {"lat": 35.4143, "lon": 116.5871, "accuracy_m": 9}
# Records a row's first appearance (wall clock, ms) for the latency report.
WATCH = """device => { window.__seen = window.__seen || {};
  new MutationObserver(() => {
    if (!window.__seen[device] && document.querySelector(`li.alert[data-device="${device}"]`))
      window.__seen[device] = Date.now(); })
  .observe(document.getElementById('alerts'), {childList: true, subtree: true}); }"""


@pytest.fixture(scope="module")
def flood(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, CommitTimes]]:
    """Its own stack: the flood would crowd the shared one, and these tests move the clock."""
    site = start_site(tmp_path_factory.mktemp("flood"))
    commits = CommitTimes(site.gateway)
    publish_flood(site, add_flood_bands(site, BANDS))
    yield site, commits
    site.stop()


@pytest.fixture(scope="module")
def console(flood: tuple[Site, CommitTimes], browser: Any) -> Iterator[Any]:
    """One operator console for the module (the tests follow one shift)."""
    site, _ = flood
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    login(page, f"{site.url}/", "operator")
    page.reload()  # a returning operator: session cookie → token → data → first render
    expect(page.locator("body[data-live=on]")).to_be_attached()
    yield page
    context.close()


def test_the_flood_renders_as_incidents_in_pages_with_honest_counts(flood, console):
    site, _ = flood
    page = console
    expect(page.locator("#alerts li.incident").first).to_be_visible()
    summary = site.call("GET", "/alerts/summary", "operator")
    assert summary["open"] >= 3 * BANDS and summary["critical_active"] >= 2 * BANDS
    assert len(site.call("GET", "/tickets?limit=2000", "operator")) >= 100
    # Counts over every open alert, not the page shown.
    expect(page.locator("#count-active")).to_have_text(str(summary["active"]))
    expect(page.locator("#count-critical")).to_have_text(str(summary["critical_active"]))
    expect(page.locator("#count-incidents")).to_have_text(re.compile(rf"^{BANDS + 1}$|^{BANDS}$"))
    # One elder's SOS + fall + low battery are one incident; about 200 rows per page.
    first = page.locator("#alerts > li.incident").first
    expect(first).to_have_attribute("data-size", "3")
    expect(first.locator("li.alert").first).to_have_class(re.compile(r"\bsev-critical\b"))
    rows = page.locator("#alerts li.alert")
    assert 200 <= rows.count() < 203
    more = page.locator("#alerts-more")
    expect(more).to_be_visible()
    more.click()
    assert rows.count() >= 400 or rows.count() == summary["open"]
    # Filters: by category, then by grid.
    page.locator("#alert-filters select[name=category]").select_option("fall")
    expect(page.locator("#alerts-status")).to_contain_text(str(BANDS))
    assert set(page.locator("#alerts li.alert .title").all_inner_texts()) <= {"跌倒报警"}
    page.locator("#alert-filters select[name=grid]").select_option("G-03")
    assert page.locator("#alerts li.alert").count() == BANDS // 4
    page.locator("#alert-filters button.secondary").click()  # clear filters
    first_render = int(page.locator("body").get_attribute("data-first-render-ms"))
    print(f"\nfirst render of {summary['open']} alerts: {first_render} ms")
    assert no_horizontal_scroll(page)
    screenshot(page, "console-flood-1366x768")
    assert not page.errors


def test_a_new_critical_lands_on_top_with_the_critical_siren(flood, console):
    site, commits = flood
    page = console
    page.evaluate(WATCH, "WB-1002")
    beeps = int(page.locator("body").get_attribute("data-beeps") or 0)
    site.advance(30)  # half a minute into the flood, Mrs. Li presses SOS
    site.publish("WB-1002", "event", {"type": "sos", "location": LI})
    item = page.locator("li.alert[data-device=WB-1002]")
    expect(item).to_be_visible()
    # On top: the newest incident needing an acknowledgement, critical first.
    expect(page.locator("#alerts > li.incident").first.locator("li.alert").first).to_have_attribute(
        "data-device", "WB-1002")
    expect(page.locator("body")).to_have_attribute("data-beeps", str(beeps + 1))
    expect(page.locator("body")).to_have_attribute("data-last-sound", "critical")
    seen = page.evaluate("window.__seen['WB-1002']")
    print(f"\nnew critical visible {seen - commits.times['WB-1002'] * 1000:.0f} ms after commit")
    # A major alert (band taken off in the daytime) gets the soft chime, not the siren.
    site.publish("WB-1004", "event", {"type": "removed"})
    expect(page.locator("body")).to_have_attribute("data-last-sound", "major")
    expect(page.locator("body")).to_have_attribute("data-beeps", str(beeps + 1))
    assert not page.errors


def test_an_acknowledged_alert_counts_down_and_says_why_it_pages_again(flood, console):
    site, _ = flood
    page = console
    item = page.locator("li.alert[data-device=WB-1002]")
    site.advance(60)  # the fallen elders have not moved: "no movement after a fall" pages
    expect(page.locator("#alerts li.alert .title", has_text="跌倒后无活动").first).to_be_visible()
    page.locator("#alert-filters input[name=q]").fill("李秀兰")  # pushed down: find her by name
    expect(page.locator("#alerts li.alert")).to_have_count(1)
    item.locator("button[data-act=ack]").click()
    expect(item).to_have_attribute("data-state", "acknowledged")
    expect(page.locator("#count-acknowledged")).to_have_text("1")
    expect(item.locator(".countdown")).to_have_text(re.compile(r"^[45]:\d\d 后未清除将重新告警$"))
    expect(item.locator("svg[data-icon=clock]")).to_be_attached()
    beeps = int(page.locator("body").get_attribute("data-beeps") or 0)
    page.locator("#alert-filters button.secondary").click()  # back to the whole board
    site.advance(301)  # nobody cleared it within the SOS rule's 5 minutes
    # Paging again puts it back on top, saying why.
    expect(page.locator("#alerts li.alert").first).to_have_attribute("data-device", "WB-1002")
    expect(item).to_have_attribute("data-state", "active")
    expect(item.locator("[data-badge=reescalated]")).to_have_text("确认超时，重新告警（第 1 次）")
    expect(page.locator("body")).to_have_attribute("data-beeps", re.compile(rf"^(?!{beeps}$)"))
    assert not page.errors


def test_breached_tickets_come_first_and_show_their_escalation(flood, console):
    site, _ = flood
    page = console  # the clock moved past the 5-minute accept SLA of the urgent tickets
    page.locator("nav.tabs button[data-tab=tickets]").click()
    page.locator("#board-refresh").click()
    column = page.locator(".column[data-state=dispatched]")
    first = column.locator(".card").first
    expect(first).to_have_class(re.compile(r"\boverdue\b"))
    expect(first.locator(".sla")).to_have_text(re.compile(r"^超时 \d+ (秒|分钟) · 接单$"))
    expect(first.locator("[data-badge=escalated]")).to_have_text("已升级至社区负责人")
    # More tickets wait than a column shows: it holds the 200 most urgent (all breached
    # here, so a low-priority ticket with hours left is not among them) and its header
    # counts the whole column, breached ones first.
    waiting = site.call("GET", "/tickets?state=dispatched&limit=2000", "operator")
    assert len(waiting) > 200
    expect(column.locator(".card")).to_have_count(200)
    expect(column.locator(".card.overdue")).to_have_count(200)
    breached = sum(1 for t in waiting if t["overdue"])
    expect(column.locator("h3 .over")).to_have_text(f"{breached}/")
    expect(column.locator("h3 > span").last).to_have_text(f"{breached}/{len(waiting)}")
    screenshot(page, "console-tickets-flood-1366x768")
    assert not page.errors
