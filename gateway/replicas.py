"""A gateway among replicas: its heartbeat, the timers' lease, and adopting the broker session
of a replica that died (see docs/operations.md, "District deployment")."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from gateway.clock import Clock
from gateway.event_lane import Sessions
from gateway.metrics import GatewayMetrics
from gateway.settings import ReplicaSettings
from gateway.storage.common import SqlStore
from gateway.storage.migrate import StoreError
from gateway.storage.tx import StoreTx

log = logging.getLogger(__name__)

TIMERS = "timers"  # the lease whose holder runs the scheduled jobs that must run once
ADOPTED_GENERATIONS = 1_000_000_000  # connection numbers of the k-th adopted session start here
SKEW_WARN_S = 1.0  # a replica this far off the database's clock fires its timers that much off


def session_lease(replica: str) -> str:
    """The lease a survivor holds while it holds `replica`'s broker session."""
    return f"session:{replica}"


class ReplicaRole:
    """What one replica does for the others, on the scheduler thread.

    - A heartbeat every `heartbeat_s`: a replica silent for `lease_s` is taken for dead.
    - The timers' lease: its holder runs the jobs that must happen once (rule timers, SLAs,
      the offline sweep, the outbox, retention). Each such job renews the lease inside its
      own transaction and does nothing when another replica holds it, so two replicas never
      run the same tick even if one was paused past its lease.
    - One clock for all of that: heartbeats and leases are stamped and judged by the
      database's clock, so a replica whose own clock runs ahead neither takes live replicas
      for dead nor keeps the lease past its term. With a manual clock (tests, simulations)
      the database's clock would not follow it, so the injected clock judges instead.
    - Adoption: with Mosquitto, a shared subscription keeps handing a dead replica's
      persistent session its share of the messages, queued until it returns. A survivor
      connects with the dead replica's client id, which takes that session over (queued and
      unacknowledged messages included), and hands it back when the replica's heartbeat
      resumes.
    """

    def __init__(self, settings: ReplicaSettings, replica_id: str, client_id: str,
                 store: SqlStore, clock: Clock, metrics: GatewayMetrics,
                 adopt: Callable[[str, int], Sessions]) -> None:
        self._settings = settings
        self.replica_id = replica_id
        self._client_id = client_id
        self._store = store
        self._clock = clock
        self._metrics = metrics
        self._make_ingest = adopt  # (replica id, generation base) → a started client
        self._lease_until = 0.0
        self.adopted: dict[str, Sessions] = {}  # dead replica id → its session, held here
        self._adoptions = 0
        self.last_beat = 0.0  # clock time of the last heartbeat that reached the database
        self.offset = 0.0  # the database's clock minus ours, at the last heartbeat
        self.beats = 0  # heartbeats that reached the database
        self._lock = threading.Lock()

    # -- start-up ------------------------------------------------------------------------

    def announce(self) -> float:
        """Heartbeat before connecting; returns how long to wait first (a survivor holding
        our session must see the heartbeat and let go, or the two would take it from each
        other in turn)."""
        with self._store.side_transaction() as tx:
            now = self._lease_now(tx, self._clock.time())
            held_by = tx.replicas.lease_holder(session_lease(self.replica_id), now)
            tx.replicas.heartbeat(self.replica_id, self._client_id, now)
        return 2 * self._settings.heartbeat_s if held_by else 0.0

    # -- every heartbeat_s ---------------------------------------------------------------

    def beat(self, local_now: float) -> None:
        """Heartbeat, try for the timers' lease, adopt or hand back sessions."""
        s = self._settings
        adopt: list[tuple[str, str]] = []
        lost: list[str] = []
        try:
            # One row locked per transaction: replicas beating at the same moment wait on
            # each other's row instead of deadlocking across two.
            with self._store.side_transaction() as tx:
                now = self._lease_now(tx, local_now)
                held = tx.replicas.take_lease(TIMERS, self.replica_id, now, s.lease_s)
            with self._store.side_transaction() as tx:
                tx.replicas.heartbeat(self.replica_id, self._client_id, now)
                silent = tx.replicas.silent(now, s.lease_s) if s.adopt_sessions else []
            for replica, client_id in silent:
                if replica == self.replica_id:
                    continue
                with self._store.side_transaction() as tx:
                    mine = tx.replicas.take_lease(session_lease(replica), self.replica_id,
                                                  now, s.lease_s)
                if mine and replica not in self.adopted:
                    adopt.append((replica, client_id))
                elif not mine and replica in self.adopted:
                    lost.append(replica)  # we were too late to renew: another survivor has it
        except StoreError:
            log.warning("heartbeat of %s failed; the timers' lease lapses unless renewed",
                        self.replica_id, exc_info=True)
            self._lease_until = 0.0
            self._metrics.timer_leader.set(0)
            return
        # In our own clock's terms, as the scheduler asks `leading` with its time.
        self._lease_until = local_now + s.lease_s if held else 0.0
        self._metrics.timer_leader.set(1 if held else 0)
        dead = {r for r, _ in silent}
        for replica in [r for r in self.adopted if r not in dead] + lost:
            self._hand_back(replica)
        for replica, client_id in adopt:
            self._adopt(replica, client_id)
        self.last_beat = local_now
        self.beats += 1

    def _lease_now(self, tx: StoreTx, local_now: float) -> float:
        """The time heartbeats and leases are stamped and judged by (see the class)."""
        if not self._clock.realtime:
            return local_now
        # Our clock read around the query, not `local_now`: a job may run well after the
        # time it was due (behind a batch), and that lag is not a clock's error.
        before = self._clock.time()
        now = tx.replicas.db_time()
        offset = now - (before + self._clock.time()) / 2
        if abs(offset) > SKEW_WARN_S >= abs(self.offset):
            log.warning("replica %s's clock is %.1f s off the database's: leases still hold, "
                        "but its timers fire that much off; check its time sync (NTP)",
                        self.replica_id, -offset)
        self.offset = offset
        self._metrics.clock_offset.set(offset)
        return now

    def leading(self, now: float) -> bool:
        """Whether this replica held the timers' lease at its last renewal."""
        return now < self._lease_until

    def holds_timers(self, tx: StoreTx, now: float) -> bool:
        """Renew the timers' lease inside `tx` (its row stays locked until `tx` ends); False
        when another replica holds it."""
        return tx.replicas.take_lease(TIMERS, self.replica_id, self._lease_now(tx, now),
                                      self._settings.lease_s)

    # -- sessions ------------------------------------------------------------------------

    def _adopt(self, replica: str, client_id: str) -> None:
        with self._lock:
            self._adoptions += 1
            base = self._adoptions * ADOPTED_GENERATIONS
        log.warning("replica %s silent: %s takes over its broker session %s", replica,
                    self.replica_id, client_id)
        self.adopted[replica] = self._make_ingest(replica, base)

    def _hand_back(self, replica: str) -> None:
        log.info("replica back: handing its broker session back", extra={"replica": replica})
        self.adopted.pop(replica).stop()

    def stop(self) -> None:
        """Let go of adopted sessions (their messages stay queued for their owners)."""
        for replica in list(self.adopted):
            self.adopted.pop(replica).stop()
