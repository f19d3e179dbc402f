"""Fleet benchmark: 5,000 simulated wristbands from one process against a Mosquitto of our own.

Starts Mosquitto on a free port (generated config, `max_connections -1`), runs
`python -m simulators.fleet` at increasing target rates, and reports the highest rate sustained
(≥ 95 % of target sent and every message acknowledged) and where it saturates.
JSON on the last line, with a description of the machine.

    .venv/bin/python bench/fleet.py [--wristbands 5000] [--duration 10] [--rates 1000,2000,...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine() -> dict[str, object]:
    """CPU model, cores, Python and Mosquitto versions."""
    cpu = platform.processor() or ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    version = subprocess.run([binary, "-h"], capture_output=True, text=True).stdout.split("\n")[0]
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform(), "broker": version.strip()}


def start_broker(folder: Path, port: int) -> subprocess.Popen[bytes]:
    """Mosquitto with no connection cap and room for bursts."""
    conf = folder / "mosquitto.conf"
    conf.write_text("\n".join([
        f"listener {port} 127.0.0.1", "allow_anonymous true", "persistence false",
        "max_connections -1", "max_inflight_messages 0", "max_queued_messages 100000",
        "set_tcp_nodelay true", "user root", f"log_dest file {folder / 'mosquitto.log'}",
        "log_type error",
    ]) + "\n")
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([binary, "-c", str(conf)])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("mosquitto did not start")


def broker_cpu_s(pid: int) -> float:
    """CPU seconds the broker has used so far (user + system, from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_fleet(port: int, wristbands: int, rate: float, duration: float) -> dict[str, object]:
    """One fleet run as a child process; its JSON last line plus its CPU seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    cmd = [sys.executable, "-m", "simulators.fleet", "--broker", f"mqtt://127.0.0.1:{port}",
           "--wristbands", str(wristbands), "--rate", str(rate), "--duration", str(duration),
           "--quiet", "--prefix", f"B{int(rate)}-"]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(out.strip().splitlines()[-1])
    result["fleet_cpu_s"] = round(after.ru_utime + after.ru_stime
                                  - before.ru_utime - before.ru_stime, 2)
    return result


def main() -> int:
    """Run the ladder of target rates and print the verdict."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wristbands", type=int, default=5000)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--rates", default="1000,2500,5000,7500,10000,15000,20000,30000")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 2 * args.wristbands + 1024  # the broker (a child) inherits this limit too
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        broker = start_broker(Path(tmp), port)
        try:
            for rate in (float(r) for r in args.rates.split(",")):
                cpu0 = broker_cpu_s(broker.pid)
                result = run_fleet(port, args.wristbands, rate, args.duration)
                result["broker_cpu_s"] = round(broker_cpu_s(broker.pid) - cpu0, 2)
                ok = (result["connected"] == args.wristbands
                      and result["achieved_rate"] >= 0.95 * rate and result["errors"] == 0)
                result["sustained"] = ok
                runs.append(result)
                print(f"target {rate:>8,.0f}/s  achieved {result['achieved_rate']:>9,.1f}/s  "
                      f"acked {result['acknowledged']:>8}  errors {result['errors']}  "
                      f"p99 ack {result['ack_latency_ms']['p99']} ms  "
                      f"cpu fleet {result['fleet_cpu_s']} s broker {result['broker_cpu_s']} s  "
                      f"{'ok' if ok else 'SATURATED'}", flush=True)
                if not ok and result["achieved_rate"] < 0.8 * rate:
                    break
        finally:
            broker.terminate()
            broker.wait(timeout=10)
    sustained = [r for r in runs if r["sustained"]]
    best = max((r["achieved_rate"] for r in sustained), default=0.0)
    saturated = next((r for r in runs if not r["sustained"]), None)
    peak = max(r["achieved_rate"] for r in runs)
    summary = {
        "bench": "fleet", "wristbands": args.wristbands, "duration_s": args.duration,
        "sustained_rate": best, "peak_rate": peak,
        "saturates_at_target": saturated["target_rate"] if saturated else None,
        "runs": runs, "machine": machine(),
    }
    print(f"{args.wristbands} wristbands from one process: sustained {best:,.0f} msg/s; "
          f"peak {peak:,.0f} msg/s" + (f"; saturates at target {saturated['target_rate']:,.0f}/s"
                                       if saturated else ""))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
