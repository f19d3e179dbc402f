"""API fixtures: a gateway on real Mosquitto and SQLite, accounts of every role, data to read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from fastapi.testclient import TestClient

from api.app import create_app
from gateway.residents import Resident
from gateway.service import Gateway
from gateway.users import UserRepository
from tests.conftest import STANDARD_DEVICES, T0, device
from tests.support.clients import Publisher

PASSWORD = "correct horse"
ACCOUNTS = {
    "admin": ("admin-zhou", {}),
    "operator": ("op-chen", {}),
    "grid_worker": ("gw-wang", {"grid": "G-01"}),
    "family": ("fam-yang", {}),
    "vendor": ("vendor-acme", {"vendor": "acme"}),
}
ROTA = {"grids": {"G-01": [{"worker": "gw-wang"}]}}


@dataclass
class Api:
    """A client plus the gateway behind it and a token per role."""

    client: TestClient
    gateway: Gateway
    tokens: dict[str, str]
    sos_alert_id: int
    sos_ticket_id: int

    def headers(self, role: str | None) -> dict[str, str]:
        """Authorization header of a role (none for None)."""
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}

    def login(self, username: str, password: str = PASSWORD) -> str:
        """A fresh token."""
        r = self.client.post("/auth/token", data={"username": username, "password": password})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]


def _seed(gw: Gateway) -> None:
    users = UserRepository(gw.store, gw.clock)
    for role, (name, extra) in ACCOUNTS.items():
        users.add(name, PASSWORD, role, **extra)
    users.add("fam-li", PASSWORD, "family")
    gw.alerting.residents.upsert([
        Resident("R-yang", "杨大爷", frozenset({"lives_alone"}), "jining-renmin"),
        Resident("R-li", "李奶奶", frozenset(), "jining-renmin"),
    ])
    with gw.store.transaction() as tx:
        tx.connection.executemany("INSERT INTO family_links VALUES (?, ?, ?)",
                                  [("R-yang", "fam-yang", "son"), ("R-li", "fam-li", "daughter")])
        tx.connection.execute("INSERT INTO door_plates VALUES ('DP-3-1-502', 'jining-renmin',"
                              " '3', '1', '502', 'G-01')")


@pytest.fixture
def make_api(make_gateway, publisher: Publisher, tmp_path: Path
             ) -> Iterator[Callable[..., Api]]:
    """Build a seeded API: an SOS and a fix from Mr. Yang's band are already in."""
    clients: list[TestClient] = []

    def _make(**overrides: Any) -> Api:
        rota = tmp_path / "rota.yaml"
        rota.write_text(yaml.safe_dump(ROTA))
        devices = [*STANDARD_DEVICES, device("VD-1", "locker", vendor="acme", grid="G-02")]
        gw = make_gateway(devices=devices, workflow={"rota_file": str(rota)}, **overrides)
        _seed(gw)
        client = TestClient(create_app(gw))
        clients.append(client)
        fix = {"lat": 35.4151, "lon": 116.5872, "accuracy_m": 8}
        publisher.publish("scgw/v1/wristband/WB-1001/telemetry", orjson.dumps(
            {"ts": int(T0 * 1000) - 60_000, "seq": 1, "heart_rate_bpm": 77, "location": fix}))
        publisher.publish("scgw/v1/wristband/WB-1001/event", orjson.dumps(
            {"ts": int(T0 * 1000), "seq": 1, "type": "sos", "location": fix}))
        assert gw.pipeline.wait_processed(2, 10)
        alert_id = gw.store.query("SELECT id FROM alerts")[0]["id"]
        ticket_id = gw.store.query("SELECT id FROM tickets")[0]["id"]
        api = Api(client, gw, {}, alert_id, ticket_id)
        api.tokens = {role: api.login(name) for role, (name, _) in ACCOUNTS.items()}
        return api

    yield _make
    for client in clients:
        client.close()


@pytest.fixture
def api(make_api: Callable[[], Api]) -> Api:
    """One seeded API."""
    return make_api()


def vendors_band_bound_to_mr_yang(api: Api, device_id: str) -> None:
    """The vendor registers a band; an operator binds it to Mr. Yang."""
    c = api.client
    assert c.post("/devices", json={"id": device_id, "kind": "wristband"},
                  headers=api.headers("vendor")).status_code == 201
    r = c.put(f"/devices/{device_id}/binding", headers=api.headers("operator"),
              json={"site": "jining-renmin", "grid": "G-01", "resident_id": "R-yang"})
    assert r.status_code == 200, r.text
