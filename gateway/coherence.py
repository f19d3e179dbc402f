"""Per-device serialisation across gateway replicas: lock, revalidate, then bump (issue 22).

With a shared subscription the broker may hand a device's consecutive messages to different
replicas, each holding the device's twin, dedup windows, rule state and open alerts in
memory. Every transaction that reads or changes that state first *claims* the device: it
takes the device's lock (a PostgreSQL advisory lock held until the transaction ends) and
reads the device's stored version. When the version differs from the one this replica last
wrote or read, some other replica changed the device since: its state is reloaded from the
tables before use. Before the commit, the versions of the claimed devices are raised by one,
so every other replica reloads them in turn. A device changed without having been claimed
(a rule that updates another device's state) is claimed late; if its state turns out to
have been stale, the transaction fails with `StaleStateError` and is retried with that
device claimed first. After a rollback the claimed devices are reloaded on next use: the
in-memory state may hold changes the database never got.

With sticky routing (EMQX's hash by client id) a device stays on one replica and the cost is
one lock and one version read per batch; with round-robin routing it is a reload per device
per batch, which is correct and slower.

A batch does not wait for devices another replica's open transaction holds: it takes the
locks that are free and puts the held devices' messages back for its next batches; after
PUT_BACK_LIMIT batches in a row a device is waited for, so its messages wait at most that
long. Under round-robin routing nearly every pair of concurrent batches shares some device;
waiting would make the replicas take turns instead of working side by side.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Set
from typing import Protocol

from gateway.metrics import GatewayMetrics
from gateway.storage.migrate import StoreError
from gateway.storage.tx import StoreTx

log = logging.getLogger(__name__)

# How many batches in a row may put a device's messages back before one waits for it. Under
# round-robin routing the other replica's next transaction seldom holds the same device
# again, so a second try mostly succeeds; waiting at once made the replicas take turns.
PUT_BACK_LIMIT = 2
_UNKNOWN = -1  # never equal to a stored version: reload on next claim
# The version of what is not any one device's: rule switches, thresholds, silences. Read with
# the first claim of every transaction, locked and raised only by a transaction changing it.
# ("*" is never a device id.)
GLOBAL = "*"


class StaleStateError(StoreError):
    """A transaction changed devices whose in-memory state another replica had changed."""

    def __init__(self, device_ids: set[str]) -> None:
        super().__init__(f"{len(device_ids)} device(s) changed by another replica: "
                         + ", ".join(sorted(device_ids)[:5]))
        self.device_ids = device_ids


class Reloadable(Protocol):
    """A holder of per-device state that can replace some devices' state with the stored."""

    def reload_devices(self, tx: StoreTx, device_ids: set[str]) -> None:
        """Read the named devices' state from `tx`, dropping what is held in memory
        (`GLOBAL` among them: the state that is no device's)."""
        ...


class DeviceCoherence:
    """Claims devices for the open transaction and keeps the versions this replica saw."""

    def __init__(self, replica_id: str, metrics: GatewayMetrics) -> None:
        self.replica_id = replica_id
        self._metrics = metrics
        self.participants: list[Reloadable] = []
        # Report the devices they changed in the open transaction (and forget them).
        self.touch_sources: list[Callable[[], set[str]]] = []
        self._known: dict[str, int] = {}
        self._claimed: dict[str, int] = {}  # in the open transaction: device → version read
        self._first: set[str] = set()  # to claim at the start of the retried transaction
        self._global_read = False  # this transaction has compared the global version
        self._global_touched = False
        # Devices the last batch put back, with how many batches in a row have: waited for
        # once that reaches PUT_BACK_LIMIT.
        self._put_back: dict[str, int] = {}

    def start(self, tx: StoreTx) -> None:
        """Remember the stored versions; call before the state itself is loaded, so that a
        change made in between shows up as a newer version, never the reverse."""
        self._known = tx.replicas.all_versions()

    def claim(self, tx: StoreTx, device_ids: Iterable[str], *, defer: bool = False,
              ) -> set[str]:
        """Lock the devices for this transaction and reload those another replica changed.

        `defer`: devices whose lock another transaction holds are not waited for but
        returned, unclaimed (the caller processes their messages in its next batch; after
        PUT_BACK_LIMIT in a row they are waited for); devices this replica must reload
        first are always waited for.
        """
        wanted = set(device_ids) | self._first
        held: set[str] = set()
        if defer:
            # Waited for first, while this batch holds no other lock: two replicas each
            # holding what the other waits for would deadlock.
            back = self._put_back
            must = self._first | {d for d in wanted if back.get(d, 0) >= PUT_BACK_LIMIT}
            # (None to wait for: the global version is read with the others below.)
            stale = self._lock(tx, must) if must else set()
            free = {d for d in wanted - must if d not in self._claimed}
            held = tx.replicas.try_lock_devices(free)
            self._put_back = {d: back.get(d, 0) + 1 for d in held}
            taken = free - held
            stale |= self._lock(tx, taken, locked=taken)
        else:
            stale = self._lock(tx, wanted)
        self._first = set()
        if stale:
            for holder in self.participants:
                holder.reload_devices(tx, stale)
            self._metrics.replica_reloads.inc(len(stale))
        return held

    def touch_global(self) -> None:
        """This transaction changes what is no device's (a rule switch, a silence)."""
        self._global_touched = True

    def finish(self, tx: StoreTx, now: float) -> None:
        """Before the commit: claim what was changed unclaimed, then bump every claimed
        device's version (raises StaleStateError when a late claim finds stale state)."""
        touched: set[str] = set()
        for source in self.touch_sources:
            touched |= source()
        if self._global_touched:
            touched.add(GLOBAL)
        stale = self._lock(tx, touched)
        if stale:
            self._first |= stale
            self._metrics.replica_conflicts.inc()
            raise StaleStateError(stale)
        if self._claimed:
            tx.replicas.bump(list(self._claimed), self.replica_id, now)

    def committed(self) -> None:
        """The transaction committed: this replica's state is the stored one."""
        known = self._known
        for device_id, version in self._claimed.items():
            known[device_id] = version + 1
        self._claimed = {}
        self._global_read = self._global_touched = False

    def rolled_back(self) -> None:
        """The transaction failed: what memory holds for its devices may never have been
        stored, so they are reloaded, first thing in the next transaction."""
        doubtful = set(self._claimed)
        for source in self.touch_sources:
            doubtful |= source()  # changed in memory before the failure, maybe unclaimed
        if self._global_touched:
            doubtful.add(GLOBAL)  # a rule switch or silence held in memory, never stored
        for device_id in doubtful:
            self._known[device_id] = _UNKNOWN
        self._first |= doubtful
        self._claimed = {}
        self._global_read = self._global_touched = False

    def _lock(self, tx: StoreTx, device_ids: Set[str], locked: Set[str] = frozenset(),
              ) -> set[str]:
        """Claim `device_ids` (those in `locked` already hold their lock); return the stale."""
        new = sorted(d for d in device_ids if d not in self._claimed)
        check_global = not self._global_read
        if not new and not check_global:
            return set()
        tx.replicas.lock_devices([d for d in new if d not in locked])
        stored = tx.replicas.versions([*new, GLOBAL] if check_global else new)
        known = self._known
        stale = set()
        if check_global:
            self._global_read = True
            version = stored.get(GLOBAL, 0)
            if GLOBAL not in new and known.get(GLOBAL, 0) != version:
                stale.add(GLOBAL)
                known[GLOBAL] = version  # read, not claimed: nothing to bump
        for device_id in new:
            version = stored.get(device_id, 0)
            self._claimed[device_id] = version
            if known.get(device_id, 0) != version:
                stale.add(device_id)
        return stale
