"""The admin pages' API: accounts (create, role and grid, password reset, disable) with the
guard rails, rules with thresholds, switches and history, the audit of admin actions and
sign-ins with filters and CSV."""

from __future__ import annotations

import csv
import io

from tests.api.conftest import PASSWORD


def test_an_admin_manages_accounts_and_every_change_is_audited(api):
    c, admin = api.client, api.headers("admin")
    made = c.post("/users", json={"username": "liu.yang", "role": "grid_worker", "grid": "G-02",
                                  "display_name": "刘洋"}, headers=admin)
    assert made.status_code == 201, made.text
    temporary = made.json()["password"]
    assert temporary and made.json()["grid"] == "G-02"
    token = api.login("liu.yang", temporary)
    for body, code in (({"username": "liu.yang", "role": "operator"}, 409),
                       ({"username": "x y", "role": "operator"}, 422),
                       ({"username": "nogrid", "role": "grid_worker"}, 422),
                       ({"username": "who", "role": "king"}, 422)):
        assert c.post("/users", json=body, headers=admin).status_code == code, body
    assert c.post("/users", json={"username": "op2", "role": "operator"},
                  headers=api.headers("operator")).status_code == 403
    # A new grid ends the account's sessions (its pages sign in again with the new view).
    moved = c.patch("/users/liu.yang", json={"grid": "G-01"}, headers=admin).json()
    assert moved["grid"] == "G-01"
    assert c.get("/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert c.patch("/users/liu.yang", json={"role": "operator"}, headers=admin).json() == {
        **moved, "role": "operator", "grid": None}
    # A reset password: typed by the admin, or generated and shown once.
    assert c.post("/users/liu.yang/password", json={"password": "typed-by-admin"},
                  headers=admin).json() == {"password": None}
    api.login("liu.yang", "typed-by-admin")
    issued = c.post("/users/liu.yang/password", json={}, headers=admin).json()["password"]
    api.login("liu.yang", issued)
    assert c.post("/users/nobody/password", json={}, headers=admin).status_code == 404
    assert c.post("/users/liu.yang/disable", headers=admin).json()["disabled"] is True
    assert c.post("/auth/token", data={"username": "liu.yang",
                                       "password": issued}).status_code == 401
    actions = c.get("/audit/actions?action=user_&target=liu.yang", headers=admin).json()
    assert [a["action"] for a in actions] == [
        "user_disable", "user_password_reset", "user_password_reset", "user_update",
        "user_update", "user_create"]
    assert actions[-2]["detail"] == "grid=G-02→G-01" and actions[0]["actor"] == "admin-zhou"
    assert "role=grid_worker→operator" in actions[-3]["detail"]


def test_the_admins_cannot_lock_themselves_out(api):
    c, admin = api.client, api.headers("admin")
    assert c.post("/users/admin-zhou/disable", headers=admin).status_code == 409
    assert c.patch("/users/admin-zhou", json={"role": "operator"},
                   headers=admin).status_code == 409
    c.post("/users", json={"username": "admin-two", "role": "admin", "password": PASSWORD},
           headers=admin)
    second = {"Authorization": f"Bearer {api.login('admin-two')}"}
    assert c.patch("/users/admin-zhou", json={"role": "operator"}, headers=second).json()[
        "role"] == "operator"
    r = c.post("/users/admin-two/disable", headers=second)
    assert r.status_code == 409 and "itself" in r.json()["detail"]


def test_rules_show_thresholds_switch_with_a_reason_and_keep_their_history(api):
    c, admin = api.client, api.headers("admin")
    rules = {r["id"]: r for r in c.get("/admin/rules", headers=admin).json()}
    heart = rules["wristband.heart_rate"]
    assert heart["params"]["low"] == 45 and heart["params"]["high"] == 120 and heart["enabled"]
    assert c.get("/admin/rules", headers=api.headers("operator")).status_code == 403
    assert c.post("/admin/rules/wristband.heart_rate/switch", json={"enabled": False},
                  headers=admin).status_code == 422  # a reason is required
    off = c.post("/admin/rules/wristband.heart_rate/switch",
                 json={"enabled": False, "reason": "误报太多，厂家校准中"}, headers=admin).json()
    assert (off["enabled"], off["switched_by"], off["switch_reason"]) == (
        False, "admin-zhou", "误报太多，厂家校准中")
    c.post("/admin/rules/wristband.heart_rate/switch", json={"enabled": True, "reason": "校准完成"},
           headers=admin)
    history = c.get("/admin/rules/changes?rule_id=wristband.heart_rate", headers=admin).json()
    assert [(h["change"], h["reason"]) for h in history] == [
        ("enabled", "校准完成"), ("disabled", "误报太多，厂家校准中")]
    assert c.post("/admin/rules/no.such.rule/switch", json={"enabled": False, "reason": "x1"},
                  headers=admin).status_code == 404
    assert [a["action"] for a in c.get("/audit/actions?action=rule_",
                                       headers=admin).json()] == ["rule_enable", "rule_disable"]


def test_sign_ins_and_admin_actions_filter_and_export(api):
    c, admin = api.client, api.headers("admin")
    signed = c.get("/audit/logins?username=op-chen", headers=admin).json()
    assert signed and signed[0]["role"] == "operator" and signed[0]["client_addr"] == "testclient"
    assert c.get("/audit/logins?since=0&until=1", headers=admin).json() == []
    c.post("/devices/VD-1/disable", headers=admin)
    exported = c.get("/audit/actions.csv?action=device_", headers=admin)
    assert exported.text.startswith("\ufeff") and "attachment" in exported.headers[
        "content-disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[0]["action"] == "device_disable" and rows[0]["target"] == "VD-1"
    logins = list(csv.DictReader(io.StringIO(
        c.get("/audit/logins.csv", headers=admin).text.lstrip("\ufeff"))))
    assert {r["username"] for r in logins} >= {"admin-zhou", "op-chen", "gw-wang"}
    for path in ("/audit/actions", "/audit/logins", "/audit/logins.csv"):
        assert c.get(path, headers=api.headers("operator")).status_code == 403
    found = c.get("/admin/devices?search=wb-100", headers=admin).json()
    assert [d["id"] for d in found] == ["WB-1001", "WB-1002"] and "twin" not in found[0]
    assert c.get("/admin/devices?status=disabled", headers=admin).json()[0]["id"] == "VD-1"
