"""Console lists computed once for every console asking at the same moment.

A new alert reaches every open console through the live stream, and every console then
reloads its alert list and ticket board at once: ten consoles meant ten identical queries and
ten identical JSON bodies, one after another on one interpreter, and the last console waited
ten times as long (p99 118–168 ms during a backlog drain). Here the first request of a kind
computes and the others arriving meanwhile wait for its answer; an answer also serves later
requests while nothing was committed since and it is under `MAX_AGE_S` old.

A request is served an answer computed from a snapshot taken after it arrived, or — when it
joined one in progress — at most one computation earlier (a few milliseconds); never one
older than a commit it could have seen, except on replicas, whose commits elsewhere this
process does not count: there only requests arriving together share an answer.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request, Response

MAX_AGE_S = 1.0  # an answer is reused at most this long, even with no commit in between
MAX_KEPT = 256  # answers kept (one per route, query and visibility scope)


@dataclass
class _Answer:
    version: Hashable
    at: float
    done: threading.Event = field(default_factory=threading.Event)
    value: object = None
    error: BaseException | None = None


class CommitCount:
    """Counts the pipeline's commits (a hook on `Pipeline.on_commit`)."""

    def __init__(self) -> None:
        self.value = 0

    def __call__(self) -> None:
        self.value += 1


class SharedReads:
    """Single-flight reads keyed by (route, query, who may see what), thread-safe.

    `version()` changes with every commit that may change what the lists show (and with
    the gateway clock's second: SLA clocks run on it); `reuse` False keeps only the joining
    of requests in progress (replicas)."""

    def __init__(self, version: Callable[[], Hashable], *, reuse: bool = True) -> None:
        self._version = version
        self._reuse = reuse
        self._answers: OrderedDict[Hashable, _Answer] = OrderedDict()
        self._lock = threading.Lock()
        self.computed = 0  # answers computed (the rest were shared)
        self.shared = 0

    def read(self, key: Hashable, compute: Callable[[], object]) -> object:
        """`compute()`'s value for `key`: computed now, or shared with a request in progress
        or one computed since the last commit. When the one in progress fails, each request
        that waited for it computes its own (and meets the error itself, if it lasts)."""
        now = time.monotonic()
        with self._lock:
            version = self._version()
            answer = self._answers.get(key)
            fresh = answer is not None and (not answer.done.is_set() or (
                self._reuse and answer.version == version and now - answer.at <= MAX_AGE_S
                and answer.error is None))
            if fresh:
                assert answer is not None
                self.shared += 1
                lead = False
            else:
                answer = _Answer(version, now)
                self._answers[key] = answer
                self._answers.move_to_end(key)
                while len(self._answers) > MAX_KEPT:
                    self._answers.popitem(last=False)
                self.computed += 1
                lead = True
        if lead:
            try:
                answer.value = compute()
            except BaseException as exc:
                answer.error = exc
                raise
            finally:
                answer.done.set()
            return answer.value
        answer.done.wait()
        if answer.error is not None:
            return compute()
        return answer.value


def shared_json(request: Request, user: Any,
                build: Callable[[], tuple[bytes, dict[str, str]]]) -> Response:
    """A console list as a JSON response, shared by requests for the same route, query and
    visibility scope (a grid worker's is its own grid and name; staff share one)."""
    scope = ((user.role, user.grid, user.username) if user.role == "grid_worker"
             else (user.role,))
    key = (request.url.path, tuple(sorted(request.query_params.multi_items())), scope)
    reads: SharedReads = request.app.state.shared_reads
    body, headers = reads.read(key, build)  # type: ignore[misc]
    return Response(body, media_type="application/json", headers=headers)
