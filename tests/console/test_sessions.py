"""A whole shift in one sign-in, in headless Chromium: the console renews its token silently
(the live socket stays up), a new tab needs no password, the shift's limit ends the session,
and signing out ends it on the server. Time moves on the gateway's clock, never by sleeping."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from tests.console.conftest import DESKTOP, PHONE, login
from tests.console.stack import PASSWORD, Site, start_site

from playwright.sync_api import expect  # isort: skip  (conftest skips when it is missing)

SUN = {"lat": 35.4160, "lon": 116.5856, "accuracy_m": 10}


@pytest.fixture(scope="module")
def shift(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Its own stack: these tests move the clock by hours."""
    site = start_site(tmp_path_factory.mktemp("shift"))
    yield site
    site.stop()


def _status(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _app_errors(page) -> list[str]:
    # A socket refused after the session ended is the expected way of finding out.
    return [e for e in page.errors if "/ws?" not in e]


def test_an_operator_works_past_the_token_lifetime_and_the_shift_limit_ends_it(shift, new_page):
    page = new_page(DESKTOP)
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    login(page, f"{shift.url}/", "operator")
    expect(page.locator("body[data-live=on]")).to_be_attached()
    expect(page.locator("#who")).to_have_text("值班员 · operator")

    shift.advance(shift.gateway.settings.api.token_ttl_s + 60)  # the access token has expired
    shift.publish("WB-1004", "event", {"type": "sos", "location": SUN})
    item = page.locator("li.alert[data-device=WB-1004]")
    expect(item).to_be_visible()  # still arriving on the socket opened at sign-in
    item.locator("button[data-act=ack]").click()  # 401 → silent refresh → retried
    expect(item).to_have_attribute("data-state", "acknowledged")
    expect(page.locator("#login")).to_be_hidden()
    expect(page.locator("body")).to_have_attribute("data-refreshes", re.compile(r"^[1-9]"))
    assert len(sockets) == 1, sockets  # the live socket survived the refresh

    # A second tab of the same browser: no password, the session cookie signs it in.
    tab = page.context.new_page()
    tab.goto(f"{shift.url}/")
    expect(tab.locator("#app")).to_be_visible()
    expect(tab.locator("#login")).to_be_hidden()

    # The shift goes on (the console is used at least hourly: the operator's idle limit is
    # 1 h), renewing its token as it works, until 12 h after the password was typed.
    elapsed = shift.gateway.settings.api.token_ttl_s + 60
    while elapsed + 54 * 60 < 12 * 3600:
        shift.advance(54 * 60)
        elapsed += 54 * 60
        with page.expect_response(lambda r: "/tickets/board" in r.url and r.status == 200):
            page.locator("#board-refresh").dispatch_event("click")
        expect(page.locator("body")).not_to_have_attribute("data-session", "ended")
    shift.advance(12 * 3600 - elapsed)
    page.locator("#board-refresh").dispatch_event("click")
    expect(page.locator("#login")).to_be_visible()
    expect(page.locator("body")).to_have_attribute("data-session", "ended")
    expect(page.locator("body")).to_have_attribute("data-session-end",
                                                   "session reached its time limit")
    expect(page.locator("#toasts")).to_contain_text("登录已过期")
    assert not _app_errors(page)


def test_signing_out_ends_the_session_on_the_server_not_only_in_the_page(shift, new_page):
    page = new_page(DESKTOP)
    login(page, f"{shift.url}/", "operator")
    token = page.evaluate("sessionStorage.getItem('scgw.token')")
    assert _status(f"{shift.url}/auth/me", token) == 200
    page.locator("header [data-action=logout]").click()
    expect(page.locator("#login")).to_be_visible()
    assert _status(f"{shift.url}/auth/me", token) == 401  # the token died with the session
    page.reload()  # and the cookie is gone: no silent sign-in
    expect(page.locator("#login")).to_be_visible()
    sessions = json.loads(json.dumps(shift.gateway.store.query(
        "SELECT revoked_reason FROM sessions WHERE revoked_reason = 'logout'")))
    assert sessions
    assert not _app_errors(page)


def test_a_new_password_signs_out_the_other_browser_but_not_this_one(shift, new_page):
    laptop, phone = new_page(DESKTOP), new_page(PHONE)
    login(laptop, f"{shift.url}/grid", "zhanglei")
    login(phone, f"{shift.url}/grid", "zhanglei")
    laptop.locator("header [data-action=password]").click()
    laptop.locator("#form-dialog input[name=current_password]").fill(PASSWORD)
    laptop.locator("#form-dialog input[name=new_password]").fill("zhang-lei-2026")
    laptop.locator("#form-dialog button[value=ok]").click()
    expect(laptop.locator("#toasts")).to_contain_text("密码已修改")
    phone.reload()  # the phone's session ended on the server: the login form
    expect(phone.locator("#login")).to_be_visible()
    laptop.reload()  # the laptop's own session goes on
    expect(laptop.locator("#app")).to_be_visible()
    assert not _app_errors(laptop)
