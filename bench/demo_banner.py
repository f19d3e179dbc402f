"""A newcomer's first minute: a fresh clone, `make demo`, and the time until the banner.

Clones this repository's HEAD into a temporary folder, runs `make demo` there (virtualenv,
runtime install, migrations, embedded broker, seed, gateway, API), waits for the banner line
"API and console: …", stops the demo, and measures the demo's virtualenv on disk.

    .venv/bin/python bench/demo_banner.py [--timeout 900] [--keep]

pip's download cache is whatever the machine has (say which when you report: a cold cache
adds the downloads). Port 8080 and 1883 must be free. The last line of output is JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import machine

ROOT = Path(__file__).resolve().parents[1]
BANNER = "API and console:"


def _size_mb(folder: Path) -> float:
    total = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
    return round(total / 1e6, 1)


def main() -> int:
    """Clone, start, time, stop, measure; print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--keep", action="store_true", help="leave the clone in place")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="scgw-demo-"))
    clone = work / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    log = (work / "demo.out").open("w+", encoding="utf-8")
    start = time.perf_counter()
    demo = subprocess.Popen(["make", "demo"], cwd=clone, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, text=True)
    took = None
    try:
        with (work / "demo.out").open(encoding="utf-8") as reader:
            seen = ""
            while time.perf_counter() - start < args.timeout and demo.poll() is None:
                seen += reader.read()
                if BANNER in seen:
                    took = time.perf_counter() - start
                    break
                time.sleep(0.1)  # polling a log file: there is nothing to wait on
    finally:
        os.killpg(demo.pid, signal.SIGINT)
        try:
            demo.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
        log.close()
    out = {
        "bench": "demo_banner",
        "banner_seen": took is not None,
        "seconds_to_banner": round(took, 1) if took is not None else None,
        "venv_mb": _size_mb(clone / ".venv"),
        "load_average_1m_at_start": round(load, 2),
        "machine": machine(),
    }
    if took is None:
        print((work / "demo.out").read_text(encoding="utf-8")[-3000:])
    if args.keep:
        print(f"clone kept in {clone}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(out))
    return 0 if took is not None else 1


if __name__ == "__main__":
    sys.exit(main())
