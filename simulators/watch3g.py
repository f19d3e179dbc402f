"""A simulated 3G-protocol watch: TCP frames like a low-cost elderly watch sends them.

It sends `LK` keep-alives, `UD` positions and `AL` alarms (SOS, fall, taken off), resends an
unanswered `AL` as real watches do, and answers the server's `CR` (locate now) with `CR` and
a fresh `UD`. Run one with `python -m simulators.watch3g --connect HOST:PORT --id ID`.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from devices.vendors import watch3g

SOS, FALL, REMOVED, LOW_BATTERY = 1 << 16, 1 << 21, 1 << 20, 1 << 0


class SimulatedWatch:
    """One watch on one TCP connection; thread-safe sends, a reader thread for replies."""

    def __init__(self, host: str, port: int, device_id: str, *, maker: str = "SG",
                 lat: float = 35.4152, lon: float = 116.5871, battery: int = 80,
                 clock: Callable[[], float] | None = None) -> None:
        self.device_id = device_id
        self.maker = maker
        self.lat, self.lon, self.battery, self.steps = lat, lon, battery, 1200
        self._now = clock or time.time
        self.sock = socket.create_connection((host, port), timeout=10)
        self._lock = threading.Lock()
        self.received: list[watch3g.Frame] = []
        self.changed = threading.Condition()
        self.closed = False
        self._reader = threading.Thread(target=self._read, daemon=True,
                                        name=f"watch3g-{device_id}")
        self._reader.start()

    # -- what the watch sends ------------------------------------------------------------

    def send(self, content: str) -> None:
        """One frame of this watch."""
        with self._lock:
            self.sock.sendall(watch3g.encode(self.maker, self.device_id, content))

    def keepalive(self) -> None:
        """`LK,steps,rolls,battery`."""
        self.send(f"LK,{self.steps},0,{self.battery}")

    def _position(self, status: int, fix: bool = True) -> str:
        if not fix:  # no satellite seen since it started: no time, no position
            return (f"000000,000000,V,0.000000,N,0.000000,E,0.00,0,0,0,100,{self.battery},"
                    f"{self.steps},0,{status:08X}")
        at = datetime.fromtimestamp(self._now(), tz=UTC)
        return (f"{at:%d%m%y},{at:%H%M%S},A,{self.lat:.6f},N,{self.lon:.6f},E,0.0,0.0,45,8,"
                f"70,{self.battery},{self.steps},0,{status:08X},1,0,460,0,9360,4082,131")

    def position(self, keyword: str = "UD") -> None:
        """A position fix (`UD`, or `UD2` for one buffered out of coverage)."""
        self.send(f"{keyword},{self._position(0)}")

    def alarm(self, status: int, *, fix: bool = True) -> str:
        """An `AL` with these status bits (`fix=False`: pressed indoors, never a fix since
        power-on); returns its content (to resend it unchanged)."""
        content = f"AL,{self._position(status, fix)}"
        self.send(content)
        return content

    def heart(self, bpm: int) -> None:
        """A heart-rate measurement."""
        self.send(f"heart,{bpm}")

    # -- what the server sends -----------------------------------------------------------

    def _read(self) -> None:
        reader = watch3g.FrameReader(4096)
        try:
            while data := self.sock.recv(4096):
                for frame in reader.feed(data):
                    if frame.keyword == "CR":  # locate now: answer, then take a fix
                        self.send("CR")
                        self.position()
                    with self.changed:
                        self.received.append(frame)
                        self.changed.notify_all()
        except (OSError, watch3g.FrameError):
            pass
        with self.changed:
            self.closed = True
            self.changed.notify_all()

    def wait_for(self, keyword: str, count: int = 1, timeout: float = 10.0) -> bool:
        """Until the server sent `keyword` at least `count` times (or the connection ended)."""
        with self.changed:
            return self.changed.wait_for(
                lambda: sum(f.keyword == keyword for f in self.received) >= count
                or self.closed, timeout) and not (
                self.closed and sum(f.keyword == keyword for f in self.received) < count)

    def wait_closed(self, timeout: float = 10.0) -> bool:
        """Until the server closed the connection."""
        with self.changed:
            return self.changed.wait_for(lambda: self.closed, timeout)

    def close(self) -> None:
        """Hang up."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def main() -> None:
    """Run one watch: keep-alive and a fix every `--every` seconds; `--sos` presses SOS."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connect", default="127.0.0.1:5901", help="bridge HOST:PORT")
    parser.add_argument("--id", required=True, help="the watch id (registered, codec watch3g)")
    parser.add_argument("--every", type=float, default=60.0, help="seconds between reports")
    parser.add_argument("--sos", action="store_true", help="press SOS after the first fix")
    args = parser.parse_args()
    host, _, port = args.connect.rpartition(":")
    watch = SimulatedWatch(host, int(port), args.id)
    watch.keepalive()
    watch.position()
    if args.sos:
        watch.alarm(SOS)
    while not watch.closed:
        time.sleep(args.every)
        watch.steps += 40
        watch.keepalive()
        watch.position()


if __name__ == "__main__":
    main()
