"""Open the store a `database.url` names: SQLite (a file) or PostgreSQL (psycopg 3)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gateway.storage.common import SqlStore
from gateway.storage.sqlite import SqliteStore, Synchronous

if TYPE_CHECKING:
    from gateway.settings import Settings


def open_store(url: str, *, default_path: Path, pool_size: int = 8,
               synchronous: Synchronous = "FULL") -> SqlStore:
    """The store of `url`: postgresql:// or postgres:// → PostgreSQL; sqlite:///path (or
    empty: `default_path`) → SQLite, a relative path taken from the working directory."""
    if url.startswith(("postgresql://", "postgres://")):
        from gateway.storage.postgres import PostgresStore  # psycopg only when asked for

        return PostgresStore(url, pool_size=pool_size)
    path = Path(url.removeprefix("sqlite:///")) if url else default_path
    return SqliteStore(path if path.is_absolute() else Path.cwd() / path,
                       synchronous=synchronous)


def store_for(settings: Settings) -> SqlStore:
    """The store the gateway's settings configure (`database.url`, default scgw.db in
    `data_dir`)."""
    return open_store(settings.database.url, default_path=settings.data_dir / "scgw.db",
                      pool_size=settings.database.pool_size)
