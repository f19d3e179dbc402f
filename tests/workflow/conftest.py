"""Workflow fixtures: a real store (SQLite; PostgreSQL too for tests marked both_backends),
the default catalogue, a two-grid rota."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.storage.common import SqlStore
from gateway.storage.factory import open_store
from gateway.workflow.config import (
    DEFAULT_CATEGORIES,
    Rota,
    WorkflowSettings,
    load_catalogue,
)
from gateway.workflow.service import WorkflowService

ROTA = {
    "grids": {
        "G-01": [{"worker": "gw-wang", "start": "08:00", "end": "20:00"},
                 {"worker": "gw-night", "start": "20:00", "end": "08:00"}],
        "G-02": [{"worker": "gw-zhao", "days": ["mon", "tue", "wed", "thu", "fri"]}],
    }
}


@pytest.fixture
def store(database_url: str, tmp_path: Path) -> Iterator[SqlStore]:
    s = open_store(database_url, default_path=tmp_path / "wf.db")
    with s.transaction() as tx:
        tx.connection.execute(
            "INSERT INTO door_plates VALUES"
            " ('DP-3-1-502', 'jining-renmin', '3', '1', '502', 'G-01')"
        )
        tx.connection.execute("INSERT INTO family_links VALUES ('R-yang', 'fam-yang-son', 'son')")
    yield s
    s.close()


def make_service(**settings) -> WorkflowService:
    return WorkflowService(
        WorkflowSettings(hotline_url="http://127.0.0.1:9/unused", **settings),
        load_catalogue(DEFAULT_CATEGORIES),
        Rota.model_validate(ROTA),
        "Asia/Shanghai",
    )


@pytest.fixture
def service() -> WorkflowService:
    return make_service()
