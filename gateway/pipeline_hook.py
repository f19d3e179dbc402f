"""What the pipeline runs: the hooks that react to messages, and the jobs on its thread."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from gateway.envelope import Envelope
from gateway.storage.records import Twin
from gateway.storage.tx import StoreTx

TaskJob = Callable[[float, StoreTx], None]


class PipelineHook(Protocol):
    """Something that reacts to accepted messages inside the batch's transaction (rules)."""

    def on_message(self, env: Envelope, twin: Twin, tx: StoreTx) -> None:
        """An accepted, non-duplicate message."""
        ...

    def on_presence(self, twin: Twin, kind: str, now: float, tx: StoreTx) -> None:
        """A device went online or offline (message, status, or timeout)."""
        ...

    # Optional: `on_batch_end(tx)`, called once per batch before the commit (the rules
    # engine writes its changed states there); `on_duplicate(env, tx)` for a message found
    # to be a repeat; `on_refused(raw, rejection)` for one that was dead-lettered;
    # `savepoint(tx)` before a message of a batch retried with care runs in a savepoint of
    # its own, and `savepoint_failed(tx)` when that savepoint rolled back (undo in memory).


@dataclass(slots=True, frozen=True)
class Task:
    """A scheduled job the pipeline thread runs in its own transaction."""

    name: str
    job: TaskJob
    now: float
    quiet: bool = False  # the caller gets the exception; no need to log it as a failure
    # Called once the job's transaction has ended: None after the commit, else the error.
    settled: Callable[[BaseException | None], None] | None = None
