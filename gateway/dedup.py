"""Recognising redelivered messages: a window of recent `seq`s per device channel, else the rows.

A message is a duplicate when the same device already sent, on the same channel, a message
with the same `seq` — or, without `seq`, the same timestamp and content — and it was stored.

The common case costs one small row write per device channel and batch: each (device,
channel) keeps the highest `seq` seen and a bitmap of the 63 below it (`seq_windows`, written
in the batch's transaction). Redeliveries (a broker resending what was in flight at a crash, a
device repeating an unacknowledged publish) are always recent, so they fall inside the window.
Anything the window cannot answer — a channel heard for the first time, a `seq` older than the
window, a message without `seq` — is looked up among the stored rows, which stay for their
retention period. A `seq` that goes backwards while the device clock goes forwards is a counter
reset (a reboot): once the rows confirm it is new, the window restarts from it.

Windows change in memory while a batch runs; `rollback()` puts them back when its transaction
fails, so the retried batch gets the same verdicts.
"""

from __future__ import annotations

from gateway.envelope import Envelope, stored_data
from gateway.storage.records import SeqWindow
from gateway.storage.sqlite import SqliteTx

WIDTH = 63  # seqs remembered below the highest, per device channel (a signed 64-bit column)
_FULL = (1 << WIDTH) - 1
PREFIX = {"telemetry": "t", "event": "e", "status": "s", "cmd_ack": "a"}

Key = tuple[str, str]  # (device_id, channel prefix)


class Deduplicator:
    """Tells, for each message of a batch in order, whether it is new."""

    def __init__(self) -> None:
        self._windows: dict[Key, SeqWindow] = {}
        # Windows this batch changed, with how they were before it: (high, mask, ts) or None.
        self._undo: dict[Key, tuple[int, int, float] | None] = {}

    def load(self, windows: dict[Key, SeqWindow]) -> None:
        """Start from the stored windows."""
        self._windows = dict(windows)

    def fresh(self, envs: list[Envelope], tx: SqliteTx) -> list[bool]:
        """One verdict per message; the windows now include every new one."""
        verdicts: list[bool] = []
        # Accepted earlier in this batch: not in the tables until the commit, and a window can
        # move past them before the batch ends.
        seen_here: set[tuple[object, ...]] = set()
        for env in envs:
            seq = env.seq
            if seq is not None:
                verdicts.append(self._check_seq(env, seq, tx, seen_here))
            elif env.channel == "status":
                verdicts.append(True)  # presence is idempotent; a bare repeat is a change
            else:
                key = (env.device_id, env.channel, env.ts, env.raw.payload)
                new = key not in seen_here and not self._stored(env, tx)
                if new:
                    seen_here.add(key)
                verdicts.append(new)
        return verdicts

    def _check_seq(self, env: Envelope, seq: int, tx: SqliteTx,
                   seen_here: set[tuple[object, ...]]) -> bool:
        key = (env.device_id, PREFIX[env.channel])
        window = self._windows.get(key)
        if window is not None:
            high = window.high
            if seq > high:
                self._remember(key, window)
                shift = seq - high
                window.mask = ((window.mask << shift) | 1) & _FULL if shift < WIDTH else 1
                window.high, window.ts = seq, env.ts
                seen_here.add((key, seq))
                return True
            behind = high - seq
            if behind < WIDTH:
                bit = 1 << behind
                if window.mask & bit:
                    return False
                self._remember(key, window)
                window.mask |= bit
                seen_here.add((key, seq))
                return True
        # No window yet, or older than it: the stored rows decide.
        if (key, seq) in seen_here or self._stored(env, tx):
            return False
        seen_here.add((key, seq))
        if window is None or env.ts > window.ts:
            # First word from this channel, or a counter that restarted: the window starts here.
            self._remember(key, window)
            self._windows[key] = SeqWindow(seq, 1, env.ts)
        return True

    @staticmethod
    def _stored(env: Envelope, tx: SqliteTx) -> bool:
        rows = tx.find_stored(env.device_id, env.channel, env.ts)
        if not rows:
            return False
        if env.seq is not None:
            return any(seq == env.seq for seq, _ in rows)
        data = stored_data(env)
        return any(seq is None and stored == data for seq, stored in rows)

    def _remember(self, key: Key, window: SeqWindow | None) -> None:
        if key not in self._undo:
            self._undo[key] = None if window is None else (window.high, window.mask, window.ts)

    def save(self, tx: SqliteTx) -> None:
        """Write the windows this batch changed (inside its transaction, before the commit)."""
        if self._undo:
            windows = self._windows
            tx.save_windows([(d, c, windows[(d, c)]) for d, c in self._undo])

    def commit(self) -> None:
        """The batch committed: its window changes stand."""
        if self._undo:
            self._undo = {}

    def rollback(self) -> None:
        """The batch's transaction failed: windows go back to how they were before it."""
        for key, before in self._undo.items():
            if before is None:
                self._windows.pop(key, None)
            else:
                self._windows[key] = SeqWindow(*before)
        self._undo = {}
