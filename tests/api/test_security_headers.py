"""Every answer forbids framing and sniffing and sends no referrer; pages may load only ours."""

from __future__ import annotations

from api.headers import PAGE_POLICY


def test_pages_keep_to_this_server_and_cannot_be_framed(api):
    for path in ("/", "/family", "/grid"):
        r = api.client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        policy = r.headers["content-security-policy"]  # the console's own, stricter one
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "no-referrer"


def test_a_page_without_its_own_policy_gets_the_local_only_one(api):
    r = api.client.get("/redoc")
    assert r.status_code == 200
    assert r.headers["content-security-policy"] == PAGE_POLICY


def test_api_answers_are_not_sniffed_and_carry_no_page_policy(api):
    r = api.client.get("/health")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "content-security-policy" not in r.headers
    refused = api.client.get("/alerts")
    assert refused.status_code == 401
    assert refused.headers["x-frame-options"] == "DENY"
