"""Every page of the product works with the internet unplugged (outside requests abort)."""

from __future__ import annotations

from tests.console.conftest import login, sync_api


def test_api_documents_render_from_local_assets(site, new_page):
    page = new_page()
    page.goto(f"{site.url}/docs")
    sync_api.expect(page.locator(".swagger-ui .info .title")).to_contain_text("scgw")
    page.goto(f"{site.url}/redoc")
    sync_api.expect(page.locator("redoc h1").first).to_contain_text("scgw")
    page.wait_for_load_state("networkidle")
    assert page.errors == []


def test_every_console_page_loads_without_an_outside_request(site, new_page):
    for path, user in (("/", "operator"), ("/grid", "wangfang"), ("/family", "yang.jun")):
        page = new_page()
        login(page, f"{site.url}{path}", user)
        page.wait_for_load_state("networkidle")
        assert page.errors == [], (path, page.errors)
