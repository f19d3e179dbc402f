"""The admin pages in Chromium: accounts (create with a temporary password, role, reset,
disable), devices (register, bind to a resident, disable, credentials), rules (switch with a
reason, history), the audit logs (filter, CSV export) and the door plates (QR, new code)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tests.console.conftest import DESKTOP, login, no_horizontal_scroll, screenshot
from tests.console.stack import PASSWORD

from playwright.sync_api import expect  # isort: skip  (conftest skips when it is missing)


def _sign_in(site, username: str, password: str) -> int:
    form = urllib.parse.urlencode({"username": username, "password": password}).encode()
    try:
        with urllib.request.urlopen(f"{site.url}/auth/token", form, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _admin(page, url: str) -> None:
    """Sign in to an admin page and wait until its buttons are wired (the app shows before)."""
    login(page, url, "admin")
    expect(page.locator("body[data-ready='1']")).to_have_count(1)


def _dialog_ok(page, **fields: str) -> None:
    dialog = page.locator("#form-dialog")
    for name, value in fields.items():
        box = dialog.locator(f"[name={name}]")
        if box.evaluate("e => e.tagName") == "SELECT":
            box.select_option(value)
        else:
            box.fill(value)
    dialog.locator("button[value=ok]").click()


def test_an_admin_manages_accounts_from_the_page(site, new_page):
    page = new_page(DESKTOP)
    _admin(page, f"{site.url}/admin")
    page.locator("#user-new").click()
    _dialog_ok(page, username="xu.new", display_name="徐新", role="grid_worker", grid="G-02")
    secret = page.locator("#form-dialog [data-info=secret] p")
    expect(secret).not_to_have_text("—")
    temporary = secret.inner_text()
    page.locator("#form-dialog button[value=ok]").click()
    row = page.locator("#users-table tr[data-user='xu.new']")
    expect(row).to_contain_text("网格员")
    expect(row).to_contain_text("G-02")
    assert _sign_in(site, "xu.new", temporary) == 200
    row.locator("button[data-act=edit]").click()
    _dialog_ok(page, role="operator")
    expect(row).to_contain_text("值班员")
    row.locator("button[data-act=password]").click()
    _dialog_ok(page, password="chosen-by-admin")
    expect(page.locator(".toast", has_text="密码已重置")).to_be_visible()
    assert _sign_in(site, "xu.new", temporary) == 401
    assert _sign_in(site, "xu.new", "chosen-by-admin") == 200
    row.locator("button[data-act=disable]").click()
    page.locator("#form-dialog button[value=ok]").click()
    expect(row.locator(".badge")).to_have_text("已停用")
    assert _sign_in(site, "xu.new", "chosen-by-admin") == 401
    # The admin's own account cannot be disabled from here either.
    page.locator("#users-table tr[data-user='admin'] button[data-act=disable]").click()
    page.locator("#form-dialog button[value=ok]").click()
    expect(page.locator(".toast.error", has_text="cannot disable itself")).to_be_visible()
    assert no_horizontal_scroll(page)
    screenshot(page, "admin-users-1366x768")
    assert page.errors == []


def test_devices_rules_audit_and_plates_from_the_admin_page(site, new_page, tmp_path: Path):
    resident = site.call("GET", "/residents", "operator")[0]
    page = new_page(DESKTOP)
    _admin(page, f"{site.url}/admin?tab=devices")
    expect(page.locator("#devices-note")).to_contain_text("provisioning")
    page.locator("#device-new").click()
    _dialog_ok(page, id="WB-9901", kind="wristband", vendor="acme", building="3", unit="1",
               grid="G-01", resident_id=resident["id"])
    page.locator("#devices-search").fill("WB-9901")
    row = page.locator("#devices-table tr[data-device='WB-9901']")
    expect(row).to_contain_text(resident["name"])
    row.locator("button[data-act=bind]").click()
    _dialog_ok(page, building="5", grid="G-02", resident_id="")
    expect(row).to_contain_text("G-02")
    expect(row).not_to_contain_text(resident["name"])
    row.locator("button[data-act=disable]").click()
    page.locator("#form-dialog button[value=ok]").click()
    expect(row.locator("[data-status]")).to_have_text("已停用")
    assert site.gateway.registry.get("WB-9901").status == "disabled"
    row.locator("button[data-act=enable]").click()
    expect(row.locator("[data-status]")).to_have_text("正常")
    row.locator("button[data-act=rotate]").click()
    page.locator("#form-dialog button[value=ok]").click()  # refused: provisioning is off here
    expect(page.locator(".toast.error", has_text="provisioning off")).to_be_visible()

    page.locator("nav.tabs button[data-tab=rules]").click()
    rule = page.locator("#rules-table tr[data-rule='locker.door_open_timeout']")
    expect(rule.locator("[data-enabled]")).to_have_text("启用中")
    expect(rule.locator(".params")).to_contain_text("event=door_open_timeout")
    rule.locator("button[data-act=disable]").click()
    _dialog_ok(page, reason="柜门传感器更换中")
    expect(rule.locator("[data-enabled]")).to_have_text("已停用")
    expect(rule).to_contain_text("admin · ")
    expect(page.locator("#rules-history li").first).to_contain_text("柜门传感器更换中")
    rule.locator("button[data-act=enable]").click()
    _dialog_ok(page, reason="已更换")
    expect(rule.locator("[data-enabled]")).to_have_text("启用中")
    screenshot(page, "admin-rules-1366x768")

    page.locator("nav.tabs button[data-tab=audit]").click()
    audit = page.locator("#audit-filter")
    audit.locator("select[name=log]").select_option("actions")
    audit.locator("input[name=what]").fill("device_")
    audit.locator("button[type=submit]").click()
    expect(page.locator("#audit-table tr[data-action='device_bind']")).to_have_count(1)
    expect(page.locator("#audit-table tbody")).to_contain_text("WB-9901")
    with page.expect_download() as download:
        page.locator("#audit-csv").click()
    saved = tmp_path / "actions.csv"
    download.value.save_as(saved)
    text = saved.read_text(encoding="utf-8")
    assert text.startswith("\ufeffid,at,actor,role,action,target") and "device_disable" in text
    assert "user_create" not in text  # the filter applies to the export too
    audit.locator("select[name=log]").select_option("logins")
    expect(page.locator("#audit-table tr[data-user='admin']").first).to_be_visible()
    audit.locator("select[name=log]").select_option("access")
    audit.locator("input[name=what]").fill("")
    audit.locator("button[type=submit]").click()
    expect(page.locator("#audit-table tbody tr").first).to_be_visible()
    screenshot(page, "admin-audit-1366x768")

    page.locator("nav.tabs button[data-tab=plates]").click()
    plate = page.locator("#plates-table tbody tr").first
    code = plate.get_attribute("data-plate")
    plate.locator("button[data-act=qr]").click()
    expect(page.locator("#form-dialog img.qr")).to_be_visible()
    assert page.locator("#form-dialog img.qr").evaluate("i => i.naturalWidth") > 200
    page.locator("#form-dialog button.primary").click()
    expect(plate).to_contain_text("第 1 版")
    plate.locator("button[data-act=rotate]").click()
    page.locator("#form-dialog button[value=ok]").click()
    expect(page.locator(f"#plates-table tr[data-plate='{code}']")).to_contain_text("第 2 版")
    assert no_horizontal_scroll(page)
    assert page.errors == []
    actions = {a["action"] for a in site.call("GET", "/audit/actions", "admin")}
    assert {"device_register", "device_bind", "device_disable", "device_enable",
            "rule_disable", "rule_enable", "plate_rotate"} <= actions


def test_only_the_admin_gets_the_admin_pages(site, new_page):
    page = new_page(DESKTOP)
    login(page, f"{site.url}/", "admin")
    expect(page.locator("#admin-link")).to_be_visible()
    operator = new_page(DESKTOP)
    login(operator, f"{site.url}/", "operator")
    expect(operator.locator("#admin-link")).to_be_hidden()
    operator.goto(f"{site.url}/admin")
    expect(operator).to_have_url(f"{site.url}/")  # sent to its own page
    code, body = site.status("GET", "/admin/rules", "operator")
    assert code == 403 and json.dumps(body)
    assert PASSWORD


def test_an_admin_moves_a_threshold_within_its_bounds_from_the_page(site, new_page):
    page = new_page(DESKTOP)
    _admin(page, f"{site.url}/admin?tab=rules")
    rule = page.locator("#rules-table tr[data-rule='wristband.heart_rate']")
    heart = rule.locator(".threshold[data-signal=heart_rate_bpm]")
    expect(heart).to_contain_text("下限 45 · 上限 120")
    expect(heart).to_contain_text("可调范围 30 – 180")
    expect(page.locator("#rules-table tr[data-rule='wristband.sos'] .threshold")).to_have_count(0)
    try:
        heart.locator("button[data-act=threshold]").click()
        dialog = page.locator("#form-dialog")
        expect(dialog.locator("[data-info=bounds]")).to_contain_text("可调范围 30 – 180")
        dialog.locator("[name=high]").fill("190")  # past the bounds: the form will not send it
        dialog.locator("[name=reason]").fill("试试")
        dialog.locator("button[value=ok]").click()
        expect(dialog.locator("[name=high]:invalid")).to_have_count(1)
        expect(dialog).to_be_visible()
        _dialog_ok(page, high="100", reason="李奶奶服药后心率偏低，医生建议上限100")
        expect(page.locator(".toast", has_text="已调整为 下限 45 · 上限 100")).to_be_visible()
        expect(heart).to_contain_text("下限 45 · 上限 100")
        expect(heart.locator(".badge")).to_have_text("已调整")
        expect(heart).to_contain_text("规则文件：下限 45 · 上限 120")
        expect(heart).to_contain_text("admin · ")
        expect(page.locator("#rules-history li[data-change=threshold]").first).to_contain_text(
            "heart_rate_bpm high 120→100")
        [listed] = [r for r in site.call("GET", "/admin/rules", "admin")
                    if r["id"] == "wristband.heart_rate"]
        assert listed["thresholds"][0]["current"] == {"low": 45.0, "high": 100.0}
        screenshot(page, "admin-threshold-1366x768")
        page.locator("#app button[data-action=lang]").click()  # English on the same page
        expect(heart).to_contain_text("Low 45 · High 100")
        expect(heart.locator("button[data-act=threshold]")).to_have_text("Change threshold")
        assert page.errors == []
    finally:  # the other tests on this stack expect the file's numbers
        site.call("PUT", "/admin/rules/wristband.heart_rate/threshold", "admin",
                  {"high": 120, "reason": "测试结束，恢复"})


def test_a_wrong_password_shows_in_the_sign_in_log_without_the_password(site, new_page,
                                                                        tmp_path: Path):
    wrong = "not-the-password-7f3a"
    assert _sign_in(site, "operator", wrong) == 401
    page = new_page(DESKTOP)
    _admin(page, f"{site.url}/admin?tab=audit")
    audit = page.locator("#audit-filter")
    audit.locator("select[name=log]").select_option("attempts")
    expect(audit.locator("select[name=outcome]")).to_be_visible()
    expect(audit.locator("input[name=resident]")).to_be_hidden()
    expect(page.locator("#audit-table tr[data-user='admin'][data-outcome=ok]").first
           ).to_be_visible()
    audit.locator("input[name=who]").fill("operator")
    audit.locator("select[name=outcome]").select_option("wrong_password")
    audit.locator("button[type=submit]").click()
    refused = page.locator("#audit-table tr[data-user='operator']")
    expect(refused.first).to_contain_text("用户名或密码错误")
    expect(page.locator("#audit-table tbody tr[data-outcome=ok]")).to_have_count(0)
    assert wrong not in page.content()
    with page.expect_download() as download:
        page.locator("#audit-csv").click()
    saved = tmp_path / "attempts.csv"
    download.value.save_as(saved)
    text = saved.read_text(encoding="utf-8")
    assert text.startswith("\ufeffid,at,username,client_addr,outcome")
    assert ",wrong_password," in text
    assert ",ok," not in text and wrong not in text and PASSWORD not in text
    screenshot(page, "admin-sign-ins-1366x768")
    assert no_horizontal_scroll(page)
    assert page.errors == []
