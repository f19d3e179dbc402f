"""A band stream for crash tests: telemetry with sequence numbers, an SOS every so often,
published from a thread while the test kills things; what was sent, to compare with what
was stored."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import orjson

from tests.support.clients import Publisher


def _now() -> str:
    return datetime.now(UTC).isoformat()


class BandStream:
    """`total` telemetry messages round the `bands` (seq = index), an SOS with every
    `sos_every`-th; `start()` publishes them from a thread, `join()` waits for every PUBACK."""

    def __init__(self, url: str, bands: list[str], total: int, sos_every: int, *,
                 rate_per_s: float | None = None) -> None:
        self.bands, self.total, self.sos_every = bands, total, sos_every
        # Devices send at a pace: a test that kills things "mid-stream" needs a stream that
        # lasts longer than its kills on a fast machine (unpaced, three replicas drained it
        # all before the second kill on a quiet one).
        self.rate_per_s = rate_per_s
        self._paced = threading.Event()  # never set: its wait is the pacing
        self._pub = Publisher(url)
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def band(self, i: int) -> str:
        """The band that sends message `i`."""
        return self.bands[i % len(self.bands)]

    def sos_sent(self) -> dict[str, int]:
        """SOS presses per band."""
        sent: dict[str, int] = {}
        for i in range(0, self.total, self.sos_every):
            sent[self.band(i)] = sent.get(self.band(i), 0) + 1
        return sent

    def start(self) -> None:
        """Publish from a thread."""
        self._thread.start()

    def join(self, timeout: float) -> bool:
        """Wait until the broker acknowledged everything; whether it did."""
        self._thread.join(timeout)
        return self.done.is_set()

    def close(self) -> None:
        """Disconnect the publisher."""
        self._pub.close()

    def _run(self) -> None:
        infos = []
        start = time.monotonic()
        for i in range(self.total):
            if self.rate_per_s:
                ahead = start + i / self.rate_per_s - time.monotonic()
                if ahead > 0:
                    self._paced.wait(ahead)
            band = self.band(i)
            body = {"ts": _now(), "seq": i, "heart_rate_bpm": 60 + i % 40}
            infos.append(self._pub.publish_nowait(f"scgw/v1/wristband/{band}/telemetry",
                                                  orjson.dumps(body)))
            if i % self.sos_every == 0:  # the alert path too: repeats coalesced per batch
                sos = {"ts": _now(), "seq": i, "type": "sos"}
                infos.append(self._pub.publish_nowait(f"scgw/v1/wristband/{band}/event",
                                                      orjson.dumps(sos)))
            if i % 500 == 499:  # bounded in flight: the broker holds what it acknowledged
                for info in infos:
                    info.wait_for_publish(30)
                infos.clear()
        for info in infos:
            info.wait_for_publish(30)
        self.done.set()
