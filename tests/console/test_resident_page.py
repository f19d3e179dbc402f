"""The resident's door-plate page on a phone (390×844, Chromium): scan, choose, describe, add a
photo and a phone number, submit; the receipt; the request moving 收集→派发→处置→反馈→办结; the
rating; a flood's message; a forged or rotated link."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
import uuid

from PIL import Image

from gateway.plate_requests import PlateDesk
from gateway.plates import label
from gateway.storage.plates_repo import PlateReads
from tests.console.conftest import DESKTOP, PHONE, login, no_horizontal_scroll, screenshot

from playwright.sync_api import expect  # isort: skip  (conftest skips when it is missing)


def _links(site, grid: str, n: int) -> list[tuple[str, str]]:
    """(code, token) of `n` plates of a grid, issued as `scgw plates export` would."""
    desk = PlateDesk(site.gateway)
    codes = [p.code for p in PlateReads(site.gateway.store).plates() if p.grid == grid][:n]
    issued = desk.issue(codes, "test")
    return [(c, desk.tokens.token(c, *issued[c])) for c in codes]


def _jpeg(tmp_path) -> str:
    path = tmp_path / "楼道.jpg"
    tags = Image.Exif()
    tags[0x010F] = "PhoneMaker"
    out = io.BytesIO()
    Image.new("RGB", (2400, 1800), (90, 120, 160)).save(out, format="JPEG", exif=tags.tobytes())
    path.write_bytes(out.getvalue())
    return str(path)


def _post_form(url: str, fields: dict[str, str]) -> int:
    boundary = uuid.uuid4().hex
    body = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                   for k, v in fields.items()) + f"--{boundary}--\r\n"
    request = urllib.request.Request(url, data=body.encode(), method="POST", headers={
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_a_resident_submits_from_the_plate_follows_it_and_rates_it(site, new_page, tmp_path):
    [(code, token)] = _links(site, "G-01", 1)
    page = new_page(PHONE)
    page.goto(f"{site.url}/r/{token}")
    expect(page.locator("#unit-label")).to_have_text(
        label(PlateReads(site.gateway.store).plate(code)))
    expect(page.locator(".emergency")).to_contain_text("110")
    page.locator("#submit").click()  # nothing chosen yet: it says what is missing
    expect(page.locator("#form-error")).to_have_text("请选择诉求类型")
    page.locator(".chip", has_text="物业").click()
    page.locator("textarea[name=text]").fill("3楼楼道灯不亮，晚上看不清台阶")
    page.locator("input[name=photo]").set_input_files(_jpeg(tmp_path))
    expect(page.locator("#photo-preview img")).to_be_visible()
    page.locator("input[name=phone]").fill("13800001234")
    assert no_horizontal_scroll(page)
    screenshot(page, "resident-form-390x844")
    page.locator("#submit").click()

    expect(page.locator("#receipt")).to_be_visible()
    ticket_code = page.locator("#receipt-code").inner_text()
    assert page.url.startswith(f"{site.url}/t/")
    expect(page.locator("#steps li.now")).to_have_attribute("data-step", "dispatched")
    expect(page.locator("#track-photo")).to_have_text("已附照片")
    [ticket] = site.gateway.store.query(
        "SELECT id, assignee, attachments FROM tickets WHERE code = ?", (ticket_code,))
    assert ticket["assignee"] == "wangfang" and "request-photo:" in ticket["attachments"]
    # The worker sees who to call back and the photo, re-encoded without EXIF.
    who = site.call("GET", f"/plates/requests/{ticket['id']}", "wangfang")
    assert who["phone"] == "13800001234" and len(who["photos"]) == 1
    worker = new_page(DESKTOP)
    login(worker, f"{site.url}/ticket?id={ticket['id']}", "wangfang")
    worker.locator("button[data-act=reporter]").click()
    expect(worker.locator(".reporter a[href^='tel:']")).to_have_text("13800001234")
    expect(worker.locator(".reporter img.thumb")).to_have_count(1)
    assert worker.locator(".reporter img.thumb").evaluate("i => i.naturalWidth") == 1600
    assert worker.errors == []
    # The worker handles it; the resident's page follows (a tap on 刷新, or the 30 s poll).
    site.call("POST", f"/tickets/{ticket['id']}/transitions", "wangfang", {"action": "accept"})
    page.locator("#refresh").click()
    expect(page.locator("#steps li.now")).to_have_attribute("data-step", "handling")
    site.call("POST", f"/tickets/{ticket['id']}/transitions", "wangfang",
              {"action": "report", "result": "已更换楼道灯泡"})
    page.reload()
    expect(page.locator("#steps li.now")).to_have_attribute("data-step", "feedback")
    expect(page.locator("#result-text")).to_have_text("已更换楼道灯泡")
    page.locator("#rate-form button[type=submit]").click()
    expect(page.locator("#rate-error")).to_have_text("请选择 1–5 星")
    page.locator("#stars .star").nth(4).click()
    page.locator("#rate-form textarea[name=note]").fill("很快，谢谢")
    page.locator("#rate-form button[type=submit]").click()
    expect(page.locator("#rated")).to_have_text("已办结，您的评价：5 星，谢谢！")
    expect(page.locator("#steps li[data-step=closed]")).to_have_class("now")
    assert site.call("GET", f"/tickets/{ticket['id']}", "operator")["rating"] == 5
    assert no_horizontal_scroll(page)
    screenshot(page, "resident-closed-390x844")
    # The plate page remembers this phone's requests.
    page.goto(f"{site.url}/r/{token}")
    expect(page.locator("#mine-list li")).to_contain_text(ticket_code)
    page.locator("header [data-action=lang]").click()
    expect(page.locator("#submit")).to_have_text("Submit")
    expect(page.locator(".chip", has_text="Property management")).to_be_visible()
    assert page.errors == []


def test_a_flooded_plate_says_why_and_a_forged_link_opens_nothing(site, new_page):
    (_, token), (_, other) = _links(site, "G-02", 2)
    for n in range(3):  # the plate's limit for a minute
        assert _post_form(f"{site.url}/plates/open/{token}/requests",
                          {"category": "sanitation", "text": f"垃圾桶满了 {n}"}) == 201
    page = new_page(PHONE)
    page.goto(f"{site.url}/r/{token}")
    page.locator(".chip", has_text="环境卫生").click()
    page.locator("textarea[name=text]").fill("垃圾桶又满了")
    page.locator("#submit").click()
    expect(page.locator("#form-error")).to_contain_text(
        "提交过于频繁：本门牌每 1 分钟最多提交 3 条诉求")
    # Another plate is not affected.
    page.goto(f"{site.url}/r/{other}")
    page.locator(".chip", has_text="物业").click()
    page.locator("textarea[name=text]").fill("单元门关不上")
    page.locator("#submit").click()
    expect(page.locator("#receipt")).to_be_visible()
    # This plate's signature on another unit's code opens nothing.
    _, version, mac = token.rsplit(".", 2)
    page.goto(f"{site.url}/r/{other.split('.')[0]}.{version}.{mac}")
    expect(page.locator("#gone")).to_have_text("此门牌码已失效或不存在，请联系社区更换门牌。")
    expect(page.locator("#plate-view")).to_be_hidden()
    assert page.errors == []
