"""Jobs on the pipeline thread: operator actions and scheduled work (the twins' checkpoint,
a replica's reload of devices), each in a transaction of its own, queued behind the messages
already waiting (mixed into the Pipeline)."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

from gateway.coherence import GLOBAL, DeviceCoherence, StaleStateError
from gateway.dedup import Deduplicator
from gateway.inbox import Inbox
from gateway.interactive import InteractiveGate
from gateway.metrics import GatewayMetrics
from gateway.pipeline_hook import Task
from gateway.storage.base import Store
from gateway.storage.tx import StoreTx
from gateway.twin import TwinTracker
from gateway.twin_writer import TwinWriter

log = logging.getLogger(__name__)

T = TypeVar("T")


class TaskRunner:
    """Runs a Task in its own transaction, with the pipeline's commit and rollback hooks."""

    _inbox: Inbox
    _interactive: InteractiveGate
    _coherence: DeviceCoherence | None
    _store: Store
    _twins: TwinTracker
    _twin_writer: TwinWriter
    _kind_of: Callable[[str], str | None]
    dedup: Deduplicator
    _metrics: GatewayMetrics
    before_commit: list[Callable[[StoreTx], None]]
    on_commit: list[Callable[[], None]]
    on_rollback: list[Callable[[], None]]

    def call(self, name: str, fn: Callable[[float, StoreTx], T], now: float,
             timeout: float = 10.0) -> T:
        """Run `fn(now, tx)` on the pipeline thread in its own transaction; return its result.

        Operator actions go through here so they never race the messages and timers that
        touch the same in-memory state. An exception from `fn` rolls its transaction back and
        is re-raised to the caller.
        """
        future: Future[T] = Future()
        result: list[T] = []

        def job(at: float, tx: StoreTx) -> None:
            result.append(fn(at, tx))

        def settled(error: BaseException | None) -> None:
            # Only after the commit: whoever called sees the effects in every reader.
            if error is None:
                future.set_result(result[0])
            else:
                future.set_exception(error)

        # The caller (an API request, usually) waits on this thread: it must not step aside.
        self._interactive.pipeline_call(True)
        try:
            self._inbox.put(Task(name, job, now, quiet=True, settled=settled))
            return future.result(timeout=timeout)
        finally:
            self._interactive.pipeline_call(False)

    def _run_task(self, task: Task) -> None:
        co = self._coherence
        try:
            for attempt in itertools.count(1):
                try:
                    with self._store.transaction() as tx:
                        if co is not None:
                            co.claim(tx, ())
                        task.job(task.now, tx)
                        for last in self.before_commit:
                            last(tx)
                        if co is not None:
                            co.finish(tx, task.now)
                    break
                except StaleStateError:
                    self._twins.presence_rolled_back()
                    self._fire(self.on_rollback)
                    if attempt >= 3:
                        raise
            self._twins.presence_committed()
            self._twin_writer.committed()
            self._fire(self.on_commit)
        except Exception as exc:  # a job's failure is logged and counted; the loop goes on
            self._twins.presence_rolled_back()
            self._twin_writer.rolled_back()  # still pending: written by a later transaction
            self._fire(self.on_rollback)
            if task.settled is not None:
                task.settled(exc)
            if not task.quiet:
                self._metrics.task_errors.labels(task.name).inc()
                log.exception("scheduled job %s failed", task.name)
            return
        if task.settled is not None:
            task.settled(None)

    @staticmethod
    def _fire(callbacks: list[Callable[[], None]]) -> None:
        for callback in callbacks:
            callback()

    def reload_devices(self, tx: StoreTx, device_ids: set[str]) -> None:
        """Replace some devices' twins and dedup windows with the stored ones (replicas)."""
        device_ids = device_ids - {GLOBAL}
        if not device_ids:
            return
        self.dedup.reload_devices(tx, device_ids)
        kinds = {d: k for d in device_ids if (k := self._kind_of(d)) is not None}
        self._twins.reload(tx.load_twins_for(sorted(device_ids)), device_ids, kinds)
        self._twin_writer.forget(device_ids)

    def checkpoint_twins(self, now: float, tx: StoreTx) -> None:
        """Take the twins changed since the last checkpoint for writing (a scheduled job;
        see gateway/twin_writer.py)."""
        self._twin_writer.checkpoint(tx)

    def flush_twins(self, tx: StoreTx) -> None:
        """Write every changed twin now (at stop, with the pipeline thread gone)."""
        self._twin_writer.write_all(tx)
        self._twin_writer.committed()

