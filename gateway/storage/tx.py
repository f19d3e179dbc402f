"""The unit of work both stores hand out: buffered message rows, twins, dedup windows, and
the typed repositories of every domain, all on one connection in one transaction."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import orjson

from gateway.storage.accounts_repo import SqliteAccounts
from gateway.storage.admin_repo import SqliteAdmin
from gateway.storage.assets_repo import SqliteAssets
from gateway.storage.audit import SqliteAudit
from gateway.storage.commands_repo import SqliteCommands
from gateway.storage.dialect import SQLITE, Connection, Dialect
from gateway.storage.people_repo import SqlitePeople
from gateway.storage.plates_repo import SqlitePlates
from gateway.storage.records import DeadLetter, SeqWindow, StoredMessage, Twin
from gateway.storage.replicas_repo import SqlReplicas, chunks, select_in
from gateway.storage.rules_repo import INSERT_AUDIT, SqliteAlerts, SqliteRuleState, SqliteSilences
from gateway.storage.sign_ins_repo import SqliteSignIns
from gateway.storage.tickets_repo import (
    INSERT_EVENT,
    INSERT_LINK,
    INSERT_NOTIFICATION,
    SqliteTickets,
)

TWIN_COLUMNS = tuple(Twin.__slots__)  # type: ignore[attr-defined]
_MESSAGE_COLUMNS = tuple(StoredMessage.__slots__)  # type: ignore[attr-defined]
_DEAD_COLUMNS = tuple(DeadLetter.__slots__)  # type: ignore[attr-defined]


def insert_sql(table: str, columns: tuple[str, ...]) -> str:
    """INSERT of every column, with `?` placeholders."""
    marks = ", ".join("?" for _ in columns)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"


def upsert_sql(table: str, columns: tuple[str, ...], key: str) -> str:
    """INSERT that updates every other column of the row with the same `key` (portable)."""
    return insert_sql(table, columns) + f" ON CONFLICT ({key}) DO UPDATE SET " + ", ".join(
        f"{c} = excluded.{c}" for c in columns if c != key)


# An in-place update rather than REPLACE (delete + insert): the same row, fewer B-tree writes.
_UPSERT_TWIN = upsert_sql("twins", TWIN_COLUMNS, "device_id")
_FIND_TELEMETRY = "SELECT seq, data FROM telemetry WHERE device_id = ? AND ts = ?"
_FIND_EVENT = "SELECT seq, data FROM events WHERE device_id = ? AND ts = ? AND channel = ?"
_UPSERT_WINDOW = (
    "INSERT INTO seq_windows (device_id, channel, high, mask, ts, retired)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, channel) DO UPDATE SET"
    " high = excluded.high, mask = excluded.mask, ts = excluded.ts,"
    " retired = excluded.retired")
_INSERT_TELEMETRY = insert_sql(
    "telemetry", tuple(c for c in _MESSAGE_COLUMNS if c not in ("channel", "type"))
)
_INSERT_EVENT = insert_sql("events", _MESSAGE_COLUMNS)
_INSERT_DEAD = insert_sql("dead_letters", _DEAD_COLUMNS)


class StoreTx:
    """Writes of one transaction; rows are buffered and written with executemany at commit.

    The same class serves both backends: it only needs a `Connection` (dialect.py).
    """

    def __init__(self, conn: Connection, dialect: Dialect = SQLITE, *,
                 read_only: bool = False) -> None:
        self._conn = conn
        self.dialect = dialect
        self.read_only = read_only  # a snapshot: nothing is read to be changed
        self._telemetry: list[tuple[Any, ...]] = []
        self._events: list[tuple[Any, ...]] = []
        self._dead: list[tuple[Any, ...]] = []
        self._twins: dict[str, Twin] = {}
        self._alert_audit: list[tuple[Any, ...]] = []
        self._ticket_events: list[tuple[Any, ...]] = []
        self._notifications: list[tuple[Any, ...]] = []
        self._links: list[tuple[Any, ...]] = []

    @property
    def connection(self) -> Connection:
        """The connection, for components that keep their own tables in this transaction."""
        return self._conn

    @cached_property
    def sign_ins(self) -> SqliteSignIns:
        """The sign-in log (attempts, and its retention)."""
        return SqliteSignIns(self._conn)

    @cached_property
    def accounts(self) -> SqliteAccounts:
        """Login accounts and their sign-in sessions."""
        return SqliteAccounts(self._conn)

    @cached_property
    def alerts(self) -> SqliteAlerts:
        """The rules engine's alerts and their audit trail."""
        return SqliteAlerts(self._conn, None if self.read_only else self._alert_audit,
                            self.dialect)

    @cached_property
    def silences(self) -> SqliteSilences:
        """The rules engine's silences."""
        return SqliteSilences(self._conn)

    @cached_property
    def rule_state(self) -> SqliteRuleState:
        """The rules engine's condition state and rule switches."""
        return SqliteRuleState(self._conn)

    @cached_property
    def commands(self) -> SqliteCommands:
        """Device commands."""
        return SqliteCommands(self._conn)

    @cached_property
    def audit(self) -> SqliteAudit:
        """Access and admin audit rows, in the transaction of what they record."""
        return SqliteAudit(self._conn, self.dialect)

    @cached_property
    def tickets(self) -> SqliteTickets:
        """Tickets, their events and links, notifications, the outbox."""
        return SqliteTickets(self._conn, self.dialect, lock_rows=not self.read_only,
                             event_rows=None if self.read_only else self._ticket_events,
                             notification_rows=None if self.read_only else self._notifications,
                             link_rows=None if self.read_only else self._links)

    @cached_property
    def assets(self) -> SqliteAssets:
        """Assets with expiry dates and the reminders sent for them."""
        return SqliteAssets(self._conn, None if self.read_only else self.tickets.settle)

    @cached_property
    def people(self) -> SqlitePeople:
        """Residents, family links, door plates and safe zones."""
        return SqlitePeople(self._conn)

    @cached_property
    def plates(self) -> SqlitePlates:
        """Door-plate keys, requests sent from plates and their photos."""
        return SqlitePlates(self._conn)

    @cached_property
    def admin(self) -> SqliteAdmin:
        """Rule-change history and account profiles (the admin pages)."""
        return SqliteAdmin(self._conn)

    @cached_property
    def replicas(self) -> SqlReplicas:
        """Per-device locks and versions, heartbeats and leases shared by replicas."""
        return SqlReplicas(self._conn, self.dialect)

    def load_twins_for(self, device_ids: list[str]) -> list[Twin]:
        """The stored twins of some devices (a replica revalidating its cache)."""
        rows = select_in(self._conn, f"SELECT {', '.join(TWIN_COLUMNS)} FROM twins"
                         " WHERE device_id IN {ids}", device_ids)
        return [twin_from_row(row) for row in rows]

    def online_silent_since(self, before: float) -> list[str]:
        """Devices whose stored twin is online but last heard before `before`."""
        rows = self._conn.execute("SELECT device_id FROM twins WHERE online = 1 AND"
                                  " last_seen < ?", (before,)).fetchall()
        return [str(r[0]) for r in rows]

    def load_windows_for(self, device_ids: list[str]) -> dict[tuple[str, str], SeqWindow]:
        """The stored dedup windows of some devices, keyed by (device_id, channel prefix)."""
        rows = select_in(self._conn, "SELECT device_id, channel, high, mask, ts, retired"
                         " FROM seq_windows WHERE device_id IN {ids}", device_ids)
        return {(d, c): SeqWindow(h, m, t, r) for d, c, h, m, t, r in rows}

    def find_stored(self, device_id: str, channel: str, ts: float) -> list[tuple[int | None, str]]:
        """(seq, data) of the stored messages a device sent on a channel at device time `ts`.

        Served by the (device_id, ts) indexes; rows queued in this transaction are not seen.
        """
        if channel == "telemetry":
            return self._conn.execute(_FIND_TELEMETRY, (device_id, ts)).fetchall()
        return self._conn.execute(_FIND_EVENT, (device_id, ts, channel)).fetchall()

    def find_events_between(self, device_id: str, type_: str, start: float, end: float,
                            ) -> list[tuple[int | None, str]]:
        """(seq, data) of a device's events of one type with device time in [start, end]."""
        return self._conn.execute(
            "SELECT seq, data FROM events WHERE device_id = ? AND ts >= ? AND ts <= ?"
            " AND channel = 'event' AND type = ?", (device_id, start, end, type_)).fetchall()

    def event_copies(self, device_id: str, type_: str, ts: float) -> list[tuple[str, float]]:
        """(data, received_at) of a device's latest stored events (at most 64) of one type at
        device time `ts`, the latest first."""
        return self._conn.execute(
            "SELECT data, received_at FROM events WHERE device_id = ? AND ts = ?"
            " AND channel = 'event' AND type = ? ORDER BY received_at DESC LIMIT 64",
            (device_id, ts, type_)).fetchall()

    def find_stored_many(self, keys: set[tuple[str, str, float]],
                         ) -> dict[tuple[str, str, float], list[tuple[int | None, str]]]:
        """`find_stored` for many (device_id, channel, ts) at once: a statement per few
        hundred keys instead of one each (a round trip each on PostgreSQL). Every key asked
        for is in the answer, with [] when nothing is stored."""
        found: dict[tuple[str, str, float], list[tuple[int | None, str]]] = {
            key: [] for key in keys}
        telemetry = sorted({(d, ts) for d, c, ts in keys if c == "telemetry"})
        others = sorted({(d, ts) for d, c, ts in keys if c != "telemetry"})
        for table, channel, wanted in (("telemetry", "'telemetry'", telemetry),
                                       ("events", "x.channel", others)):
            for part in chunks(wanted, 300):
                pairs = ", ".join("(?, ?)" for _ in part)
                # A join on the keys, not `(device_id, ts) IN (VALUES …)`: SQLite scans the
                # whole table for the latter, and looks each key up in the index for this.
                rows = self._conn.execute(
                    f"WITH k(d, t) AS (VALUES {pairs}) SELECT x.device_id, {channel}, x.ts,"
                    f" x.seq, x.data FROM k JOIN {table} x ON x.device_id = k.d AND x.ts = k.t",
                    [v for pair in part for v in pair]).fetchall()
                for device_id, row_channel, ts, seq, data in rows:
                    hit = found.get((device_id, row_channel, ts))
                    if hit is not None:
                        hit.append((seq, data))
        return found

    def save_windows(self, windows: list[tuple[str, str, SeqWindow]]) -> None:
        """Upsert (device_id, channel, window) rows of the dedup windows."""
        self._conn.executemany(_UPSERT_WINDOW, [(d, c, w.high, w.mask, w.ts, w.retired)
                                                for d, c, w in windows])

    def add_message(self, msg: StoredMessage) -> None:
        """Queue an accepted message for insert."""
        self.add_row(msg.device_id, msg.kind, msg.channel, msg.type, msg.ts, msg.received_at,
                     msg.seq, msg.stale, msg.data)

    def add_row(self, device_id: str, kind: str, channel: str, type_: str, ts: float,
                received_at: float, seq: int | None, stale: bool, data: str) -> None:
        """`add_message` without the record (the pipeline's per-message path)."""
        if channel == "telemetry":
            self._telemetry.append((device_id, kind, ts, received_at, seq, stale, data))
        else:
            self._events.append(
                (device_id, kind, channel, type_, ts, received_at, seq, stale, data))

    def add_dead_letter(self, dead: DeadLetter) -> None:
        """Queue a dead letter for insert."""
        self._dead.append(tuple(getattr(dead, c) for c in _DEAD_COLUMNS))

    def save_twin(self, twin: Twin) -> None:
        """Queue a twin upsert (the last call per device wins)."""
        self._twins[twin.device_id] = twin

    def flush(self) -> None:
        """Write everything queued so far."""
        # The cached repositories, if used: their waiting rows go before what refers to them.
        alerts = self.__dict__.get("alerts")
        if alerts is not None:
            alerts.save_new()  # before their audit rows
        tickets = self.__dict__.get("tickets")
        if tickets is not None:
            tickets.settle()  # before the events and links that refer to them
        if self._twins:
            self._conn.executemany(_UPSERT_TWIN, [_twin_row(t) for t in self._twins.values()])
            self._twins.clear()
        for sql, rows in ((_INSERT_TELEMETRY, self._telemetry), (_INSERT_EVENT, self._events),
                          (_INSERT_DEAD, self._dead), (INSERT_AUDIT, self._alert_audit),
                          (INSERT_EVENT, self._ticket_events),
                          (INSERT_NOTIFICATION, self._notifications),
                          (INSERT_LINK, self._links)):
            if rows:
                self._conn.executemany(sql, rows)
                rows.clear()


def twin_from_row(row: tuple[Any, ...]) -> Twin:
    """A twin from a row of TWIN_COLUMNS."""
    twin = Twin(*row)
    twin.online = bool(twin.online)
    if twin.last_telemetry is not None:
        twin.last_telemetry = orjson.loads(twin.last_telemetry)
    return twin


def _twin_row(twin: Twin) -> tuple[Any, ...]:
    # Spelled out (a loop of getattr per column cost more than the insert); the order is
    # TWIN_COLUMNS', which an import-time check below keeps honest.
    last = twin.last_telemetry
    return (twin.device_id, twin.online, twin.online_source, twin.online_changed,
            twin.last_seen, twin.battery_pct, twin.lat, twin.lon, twin.accuracy_m,
            twin.location_source, twin.location_ts,
            orjson.dumps(last).decode() if last is not None else None)


if TWIN_COLUMNS != ("device_id", "online", "online_source", "online_changed", "last_seen",
                    "battery_pct", "lat", "lon", "accuracy_m", "location_source",
                    "location_ts", "last_telemetry"):
    raise RuntimeError("Twin's fields changed: update _twin_row to match")
