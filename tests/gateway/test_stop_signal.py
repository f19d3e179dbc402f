"""SIGTERM always stops a process waiting on StopSignal, however often it polls.

With the old handler (`threading.Event.set()` from the signal handler), a process polling
`Event.wait(0.0001)` hung for good on about one SIGTERM in thirty: the handler waited for a
lock its own thread held inside `wait()`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WAITER = """
from gateway.stop_signal import StopSignal
stop = StopSignal()
print("ready", flush=True)
polls = 0
while not stop.wait(0.0001):
    polls += 1
print("stopped", stop.received, flush=True)
"""


def test_sigterm_stops_a_process_polling_for_it_every_time():
    for _ in range(30):
        proc = subprocess.Popen([sys.executable, "-c", WAITER], cwd=ROOT, text=True,
                                stdout=subprocess.PIPE)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        proc.terminate()
        try:
            out, _ = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise AssertionError("SIGTERM did not stop the waiting process") from None
        assert proc.returncode == 0 and out.strip() == "stopped 15"
