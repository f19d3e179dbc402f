"""Bounded on-disk queue of InfluxDB line-protocol points (its own SQLite WAL file under
`data_dir`): what the gateway has not yet written to InfluxDB survives a restart."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS points (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    queued_at REAL NOT NULL,
    line      TEXT NOT NULL
)
"""


class PointBufferError(Exception):
    """The buffer file could not be opened, read or written."""


@dataclass(frozen=True, slots=True)
class Pending:
    """A buffered point: its queue id, when it was queued, and its line protocol."""

    id: int
    queued_at: float
    line: str


class PointBuffer:
    """Append-only queue: the pipeline appends, the flusher peeks and removes what was written.

    Bounded at `max_points`: appending to a full buffer drops the OLDEST points. Those are the
    least useful to a live dashboard, and they are still in the embedded store for its
    retention period; the caller counts what was dropped.
    """

    def __init__(self, path: Path, max_points: int) -> None:
        self.path = path
        self.max_points = max_points
        # Dropping a sliver more than needed makes a full buffer delete once per many appends.
        self._slack = max(1, max_points // 100)
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                         timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            # NORMAL: a commit survives a process crash or restart without an fsync per message;
            # only a power cut can lose the last moments (documented in docs/influxdb.md).
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute(_SCHEMA)
            self._depth: int = self._conn.execute("SELECT COUNT(*) FROM points").fetchone()[0]
        except (OSError, sqlite3.Error) as exc:
            raise PointBufferError(f"cannot open influx buffer {path}: {exc}") from exc

    def close(self) -> None:
        """Close the file; what is queued stays for the next start."""
        with self._lock:
            self._conn.close()

    def depth(self) -> int:
        """Points waiting."""
        return self._depth

    def append(self, lines: Sequence[str], now: float) -> int:
        """Queue `lines` durably (one commit); return how many old points were dropped for room."""
        if not lines:
            return 0
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                dropped = 0
                excess = self._depth + len(lines) - self.max_points
                if excess > 0:
                    dropped = self._conn.execute(
                        "DELETE FROM points WHERE id IN "
                        "(SELECT id FROM points ORDER BY id LIMIT ?)",
                        (excess + self._slack,),
                    ).rowcount
                # A batch bigger than the whole buffer keeps only its newest lines.
                kept = lines[-self.max_points:]
                dropped += len(lines) - len(kept)
                self._conn.executemany(
                    "INSERT INTO points (queued_at, line) VALUES (?, ?)",
                    [(now, line) for line in kept],
                )
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise PointBufferError(f"cannot append to {self.path}: {exc}") from exc
            self._depth += len(lines) - dropped
            return dropped

    def peek(self, limit: int) -> list[Pending]:
        """The oldest `limit` points, without removing them."""
        with self._lock:
            try:
                rows = self._conn.execute(
                    "SELECT id, queued_at, line FROM points ORDER BY id LIMIT ?", (limit,)
                ).fetchall()
            except sqlite3.Error as exc:
                raise PointBufferError(f"cannot read influx buffer {self.path}: {exc}") from exc
        return [Pending(*row) for row in rows]

    def oldest_queued_at(self) -> float | None:
        """When the oldest waiting point was queued."""
        with self._lock:
            try:
                row = self._conn.execute(
                    "SELECT queued_at FROM points ORDER BY id LIMIT 1"
                ).fetchone()
            except sqlite3.Error as exc:
                raise PointBufferError(f"cannot read influx buffer {self.path}: {exc}") from exc
        return row[0] if row else None

    def remove(self, ids: Sequence[int]) -> None:
        """Forget points that were written (or refused for good)."""
        if not ids:
            return
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                removed = self._conn.executemany(
                    "DELETE FROM points WHERE id = ?", [(i,) for i in ids]
                ).rowcount
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise PointBufferError(f"cannot remove from {self.path}: {exc}") from exc
            self._depth -= removed

    def _rollback(self) -> None:
        try:
            self._conn.execute("ROLLBACK")
        except sqlite3.Error:
            log.debug("rollback after a failed buffer write found no transaction")
