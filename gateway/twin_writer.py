"""Writing twins: a chunk per transaction from a checkpoint, or every batch's (replicas).

Writing every message's twin in its batch was a fifth of the pipeline's cost; the twins are a
cache of the stored messages, and presence changes are written at once. A checkpoint takes
the twins changed since the last one and writes them a chunk per transaction, its own and
the next batches' (10k twins in one go would stall the messages behind them for 100 ms or
more). Replicas write every batch's twins in the batch: another replica may read them next.
"""

from __future__ import annotations

import itertools

from gateway.storage.records import Twin
from gateway.storage.tx import StoreTx
from gateway.twin import TwinTracker

CHUNK = 256  # twins a checkpoint writes per transaction (~3 ms)


class TwinWriter:
    """Twins taken for writing, and which of them the open transaction wrote."""

    def __init__(self, twins: TwinTracker) -> None:
        self._twins = twins
        self._pending: dict[str, Twin] = {}  # by device id
        self._writing: list[str] = []  # written in the open transaction

    def checkpoint(self, tx: StoreTx) -> None:
        """Take the twins changed since the last checkpoint; write the first chunk."""
        for twin in self._twins.take_dirty():
            self._pending[twin.device_id] = twin
        self.write_chunk(tx)

    def write_chunk(self, tx: StoreTx, most: int = CHUNK) -> None:
        """Write up to `most` of the taken twins in `tx`."""
        pending = self._pending
        if not pending:
            return
        for device_id in itertools.islice(pending, most):
            tx.save_twin(pending[device_id])
            self._writing.append(device_id)

    def write_all(self, tx: StoreTx) -> None:
        """Every changed twin, now (a replica's batch; the last write at stop)."""
        for twin in self._twins.take_dirty():
            self._pending[twin.device_id] = twin
        self.write_chunk(tx, len(self._pending))

    def forget(self, device_ids: set[str]) -> None:
        """Drop taken twins of devices reloaded from the table (another replica's are newer)."""
        for device_id in device_ids:
            self._pending.pop(device_id, None)

    def committed(self) -> None:
        """The transaction committed: what it wrote is no longer pending."""
        for device_id in self._writing:
            self._pending.pop(device_id, None)
        self._writing = []

    def rolled_back(self) -> None:
        """The transaction failed: what it wrote stays pending for a later one."""
        self._writing = []
