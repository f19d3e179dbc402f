"""Fixtures of the gateway tests: a store on the backend the test is parametrised with."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.storage.common import SqlStore
from gateway.storage.factory import open_store


@pytest.fixture
def store(database_url: str, tmp_path: Path) -> Iterator[SqlStore]:
    """A migrated store, SQLite or PostgreSQL (`database_url`)."""
    s = open_store(database_url, default_path=tmp_path / "scgw.db")
    yield s
    s.close()
