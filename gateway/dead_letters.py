"""Writing a refused message: its dead-letter row, its counter, and the hooks that report it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from gateway.envelope import RawMessage
from gateway.metrics import GatewayMetrics
from gateway.rejections import RejectError
from gateway.storage.records import DeadLetter
from gateway.storage.tx import StoreTx

log = logging.getLogger(__name__)

# Devices (or topics) counted in one hour at most: past it the count starts again (made-up
# topics must not grow it without bound).
_KEYS_MAX = 100_000
# Past its rows of the hour, a device's refusals of one reason are summed up in one row this
# often (red team round 10: a row per refusal was 11.6 GB a day for 300 bands at their budget).
SUMMARY_S = 60.0


@dataclass
class _Repeats:
    """Refusals of one device, channel and reason not written one by one."""

    sample: RawMessage  # the first one, only its first `keep_bytes` held
    size: int  # … and its size
    rej: RejectError
    first_at: float
    last_at: float
    count: int = 0


class DeadLetters:
    """Keeps a refused message (its first `keep_bytes`) with its reason, counts it, and tells
    the hooks that have an `on_refused` (the device's `…/errors`, the clock watch)."""

    def __init__(self, keep_bytes: int, metrics: GatewayMetrics, hooks: Sequence[object],
                 payloads_per_hour: int = 0, rows_per_hour: int = 0,
                 key: Callable[[str], str] | None = None) -> None:
        self._keep = keep_bytes
        # Whose allowance a topic's refusals count against (gateway/flood.device_key): a hub
        # naming a new unregistered child in each message got a row each (red team round 12:
        # 166 rows in 40 s, ~1.3 GB of payloads a day per hub).
        self._key = key
        self._metrics = metrics
        self._hooks = hooks  # the pipeline's own list: hooks added later are told too
        self._per_hour = payloads_per_hour
        self._rows_per_hour = rows_per_hour
        # Payloads kept and rows written this hour, per device (or topic when no device is
        # known) and channel.
        self._hour = -1
        self._kept: dict[str, int] = {}
        self._rows: dict[str, int] = {}
        self._repeats: dict[tuple[str, str], _Repeats] = {}

    def write(self, tx: StoreTx, raw: RawMessage, rej: RejectError,
              size: int | None = None) -> None:
        """Store (or sum up), count and report one refusal (`size`: the message's, when
        `raw` holds only its first bytes)."""
        # Per device and channel: a hundred refused heartbeats used the hour's budget, and the
        # device's next refused alarm kept no payload to investigate (red team round 10).
        channel = "event" if "/event" in raw.topic else "other"
        owner = self._key(raw.topic) if self._key is not None else None
        key = f"{owner or rej.device_id or raw.topic[:200]}|{channel}"
        self._new_hour(raw.received_at)
        # Made-up topics must not grow the summaries without bound: past the cap, rows again.
        if self._row_written(key) or (len(self._repeats) >= _KEYS_MAX
                                      and (key, rej.reason) not in self._repeats):
            self._add_row(tx, raw, rej, key, raw.received_at, rej.detail, size)
        else:
            self._sum_up(key, raw, rej)
        self._metrics.rejected.labels(rej.reason).inc()
        for hook in self._hooks:
            on_refused = getattr(hook, "on_refused", None)
            if on_refused is not None:
                on_refused(raw, rej)
        log.info("dead letter",
                 extra={"reason": rej.reason, "topic": raw.topic[:512], "detail": rej.detail[:200]})

    def summaries_due(self, now: float) -> bool:
        """Whether some summed-up refusals have waited `SUMMARY_S` for their row."""
        return any(now - r.first_at >= SUMMARY_S for r in self._repeats.values())

    def write_summaries(self, tx: StoreTx, now: float | None = None) -> None:
        """One row for each device, channel and reason whose refusals were summed up for
        `SUMMARY_S` (all of them when `now` is None: a clean stop)."""
        for (key, reason), rep in list(self._repeats.items()):
            if now is not None and now - rep.first_at < SUMMARY_S:
                continue
            del self._repeats[(key, reason)]
            detail = (f"{rep.count} refusals ({reason}) between {rep.first_at:.3f} and "
                      f"{rep.last_at:.3f} (epoch s), summed up in this row past the device's "
                      f"{self._rows_per_hour} rows of the hour; the first one's detail: "
                      f"{rep.rej.detail}")
            self._add_row(tx, rep.sample, rep.rej, key, rep.first_at, detail, rep.size)

    def _add_row(self, tx: StoreTx, raw: RawMessage, rej: RejectError, key: str, at: float,
                 detail: str, size: int | None = None) -> None:
        # Each reason its own payload budget: a hundred refused `low_battery` events of one
        # firmware bug left the next refused alarm word with nothing to read (red team
        # round 11).
        keep = self._keep if self._payload_kept(f"{key}|{rej.reason}") else 0
        tx.add_dead_letter(DeadLetter(
            received_at=at, topic=raw.topic[:512], reason=rej.reason,
            detail=detail[:1000], device_id=rej.device_id, payload=raw.payload[:keep],
            payload_size=size if size is not None else len(raw.payload)))

    def _sum_up(self, key: str, raw: RawMessage, rej: RejectError) -> None:
        rep = self._repeats.get((key, rej.reason))
        if rep is None:
            # Only what a row keeps is held for the minute: 300 bands' five 65-KB refusals
            # each held 104 MB until their summaries (red team round 12).
            # Nor the refusal's cause and traceback, which hold the payload read (red team
            # round 12 re-check: trimming the sample alone still held +108 MB).
            sample = replace(raw, payload=raw.payload[:self._keep])
            bare = RejectError(rej.reason, rej.detail[:1000], rej.device_id, rej.kind, rej.skew_s)
            rep = self._repeats[(key, rej.reason)] = _Repeats(
                sample, len(raw.payload), bare, raw.received_at, raw.received_at)
        rep.count += 1
        rep.last_at = raw.received_at

    def _new_hour(self, at: float) -> None:
        hour = int(at // 3600)
        if hour != self._hour or len(self._kept) > _KEYS_MAX or len(self._rows) > _KEYS_MAX:
            self._hour, self._kept, self._rows = hour, {}, {}

    def _row_written(self, key: str) -> bool:
        """Whether this refusal gets a row of its own: the first `rows_per_hour` of a device
        and channel each clock hour."""
        return _within(self._rows, key, self._rows_per_hour)

    def _payload_kept(self, key: str) -> bool:
        """Whether this row's payload is kept: the first `payloads_per_hour` of a device
        each clock hour (red team round 9: 20 bands wrote 16 MB of dead letters in 3 s)."""
        return _within(self._kept, key, self._per_hour)


def _within(counts: dict[str, int], key: str, limit: int) -> bool:
    """Count one for `key` when it is still under `limit` this hour (0: no limit)."""
    if not limit:
        return True
    used = counts.get(key, 0)
    if used >= limit:
        return False
    counts[key] = used + 1
    return True
