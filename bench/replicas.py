"""Replica benchmark: the flood drained by 1 gateway on SQLite, then 1, 2 and 3 replicas on
PostgreSQL sharing `$share`, and the failover time when a replica is SIGKILLed.

Real parts: Mosquitto (generated config), PostgreSQL started from the machine's binaries in a
temporary folder (as the tests do: fsync=off, throw-away data), the gateway's real settings
and rule pack, 10k registered devices; every replica is a process of its own.

    .venv/bin/python bench/replicas.py [--messages 40000] [--configs sqlite1,pgsolo1,pg1,pg2,pg3]

(pgsolo1: one gateway on PostgreSQL that is not a replica: what replica mode itself costs.)

drain: N flood messages wait in the replicas' persistent sessions (Mosquitto deals a shared
    subscription round-robin, also to sessions whose client is away); then the replicas start
    together and the time until they have committed all N is measured.
cpu: each drain reports the CPU per message of its replicas and of the PostgreSQL server
    (from /proc: the postmaster, its live backends and those it reaped), and how many cores
    were busy; with sqlite1, the budget per message the 1.8 × target leaves on this machine.
failover: 2 replicas take a steady stream; one is SIGKILLed and the stream goes on for 1 s;
    the figure is the time from the kill until every message is committed (the survivor
    adopts the dead replica's session, with what the broker queued for it, once its heartbeat
    is `gateway.lease_s` old).

The last line of output is JSON, with a description of the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import Publishers, Traffic, machine, publish_now, register_fleet
from gateway.service import Gateway
from gateway.settings import Settings
from gateway.stop_signal import StopSignal
from gateway.storage.factory import open_store
from tests.support.mosquitto import start_mosquitto
from tests.support.postgres import PostgresServer, start_postgres

DEVICES = 10_000
STEADY_RATE = 1000.0  # msg/s during the failover run


def replica_settings(url: str, db_url: str, replica: str | None) -> Settings:
    """One replica's settings (or the single gateway's, `replica` None)."""
    extra: dict[str, Any] = {}
    if replica:
        extra = {"gateway": {"replica_id": replica}}
    return Settings(broker={"url": url, "client_id": "bench-gw", "shared_group": "bench"},
                    database={"url": db_url}, log_json=False, log_level="WARNING", **extra)


def child(args: argparse.Namespace) -> int:
    """One replica process: start, report committed messages every 0.1 s until killed."""
    gw = Gateway(replica_settings(args.broker, args.db, args.replica or None))
    if args.register:
        register_fleet(gw, DEVICES)
    gw.start()
    if not gw.mqtt.wait_connected(30):
        print("error not connected", flush=True)
        return 1
    print(f"ready {time.process_time()}", flush=True)
    stop = StopSignal((signal.SIGTERM,))
    m = gw.metrics
    while not stop.wait(0.1):
        print(f"processed {gw.pipeline.processed} {time.process_time()}"
              f" {m.replica_reloads._value.get():.0f} {m.replica_deferred._value.get():.0f}",
              flush=True)
    gw.stop()
    return 0


class Replica:
    """A replica process and the last count it reported."""

    def __init__(self, broker: str, db: str, name: str, *, register: bool = False) -> None:
        cmd = [sys.executable, __file__, "child", "--broker", broker, "--db", db,
               "--replica", name]
        if register:
            cmd.append("--register")
        self.name = name
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        self.processed = 0
        self.cpu_ready = self.cpu_last = 0.0  # the process's CPU seconds when ready / lately
        self.reloads = self.deferred = 0  # devices reloaded, messages put back (replicas)
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("ready"):
                self.cpu_ready = self.cpu_last = float(line.split()[1])
                self.ready.set()
            elif line.startswith("processed "):
                _, count, cpu, reloads, deferred = line.split()
                self.processed, self.cpu_last = int(count), float(cpu)
                self.reloads, self.deferred = int(reloads), int(deferred)

    @property
    def cpu_s(self) -> float:
        """CPU seconds spent since it was ready (start-up excluded)."""
        return self.cpu_last - self.cpu_ready

    def stop(self) -> None:
        """SIGTERM and wait (the gateway stops cleanly, keeping its session); a replica that
        will not stop is killed and named, never left running behind the bench."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                print(f"replica {self.name} did not stop on SIGTERM within 60 s: killed",
                      file=sys.stderr, flush=True)
                self.kill()

    def kill(self) -> None:
        """SIGKILL."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


_TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    # The fields after the command name, which may itself hold spaces or parentheses.
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()


def postgres_cpu_s(pg: PostgresServer | None) -> float:
    """CPU seconds the PostgreSQL server has used so far: the postmaster, the backends it
    has reaped, and the live ones."""
    if pg is None:
        return 0.0
    pid_file = next(pg.folder.rglob("postmaster.pid"))
    master = int(pid_file.read_text().split()[0])
    f = _stat(master)
    ticks = sum(int(v) for v in f[11:15])  # utime, stime, cutime, cstime
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            f = _stat(int(entry.name))
        except (FileNotFoundError, ProcessLookupError):
            continue  # exited while we looked
        if int(f[1]) == master:
            ticks += int(f[11]) + int(f[12])
    return ticks / _TICK


def _stored(db_url: str) -> int:
    s = open_store(db_url, default_path=Path("unused"), pool_size=1)
    try:
        row = s.query("SELECT (SELECT count(*) FROM telemetry) + (SELECT count(*) FROM events"
                      " WHERE channel = 'event') + (SELECT count(*) FROM dead_letters) AS n")
        return int(row[0]["n"])
    finally:
        s.close()


def _database(kind: str, folder: Path, pg: PostgresServer | None, name: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder / (name + '.db')}"
    assert pg is not None
    return pg.url(pg.fresh_database())


def drain_one(config: str, n: int, folder: Path, pg: PostgresServer | None) -> dict[str, Any]:
    """One configuration: sessions made, N published, replicas started, time to commit."""
    kind, count = config[:-1], int(config[-1])
    broker = start_mosquitto(folder / f"mosquitto-{config}")
    try:
        db = _database("sqlite" if kind == "sqlite" else "pg", folder, pg, config)
        # sqlite1 and pgsolo1: one gateway, not a replica; pgN: N replicas.
        names = [f"r{i}" for i in range(count)] if kind == "pg" else [""]
        # Make every session (and register the fleet once), then stop: the flood queues.
        first = True
        for name in names:
            r = Replica(broker.url, db, name, register=first)
            first = False
            if not r.ready.wait(120):
                raise RuntimeError(f"replica {name} did not start")
            r.stop()
        messages = Traffic(DEVICES, profile="flood").batch(n)
        publish_s = publish_now(broker.url, messages)
        print(f"{config}: published {n} in {publish_s:.1f}s", flush=True)
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        pg_cpu0 = postgres_cpu_s(pg if kind != "sqlite" else None)
        replicas = [Replica(broker.url, db, name) for name in names]
        while sum(r.processed for r in replicas) < n:
            if time.perf_counter() - t0 > 900:
                raise RuntimeError(f"{config}: drain did not finish")
            time.sleep(0.05)
        took = time.perf_counter() - t0
        pg_cpu = postgres_cpu_s(pg if kind != "sqlite" else None) - pg_cpu0
        replica_cpu = sum(r.cpu_s for r in replicas)
        shares = [r.processed for r in replicas]
        for r in replicas:
            r.stop()
        stored = _stored(db)
        cpu = {"replicas_us_per_msg": round(1e6 * replica_cpu / n, 1),
               "postgres_us_per_msg": round(1e6 * pg_cpu / n, 1),
               "total_us_per_msg": round(1e6 * (replica_cpu + pg_cpu) / n, 1),
               "cores_busy": round((replica_cpu + pg_cpu) / took, 2),
               # Round-robin routing: devices another replica changed, reloaded; messages
               # whose device another replica's transaction held, put back a batch.
               "reloads_per_msg": round(sum(r.reloads for r in replicas) / n, 3),
               "deferred_per_msg": round(sum(r.deferred for r in replicas) / n, 3)}
        print(f"{config}: {n} in {took:.2f}s ({n / took:,.0f}/s) shares {shares} cpu {cpu}",
              flush=True)
        return {"config": config, "seconds": round(took, 2), "rate": round(n / took),
                "cpu": cpu, "shares": shares, "stored_rows": stored,
                "load_average_1m_at_start": round(load, 2),
                "note": "includes process start-up (~1-2 s)"}
    finally:
        broker.stop()


def failover(folder: Path, pg: PostgresServer, lease_s: float) -> dict[str, Any]:
    """2 replicas under a steady stream; SIGKILL one; time until all published before the
    kill is committed."""
    broker = start_mosquitto(folder / "mosquitto-failover")
    db = pg.url(pg.fresh_database())
    replicas: list[Replica] = []
    try:
        a = Replica(broker.url, db, "fa", register=True)
        if not a.ready.wait(120):
            raise RuntimeError("replica fa did not start")
        b = Replica(broker.url, db, "fb")
        if not b.ready.wait(120):
            raise RuntimeError("replica fb did not start")
        replicas = [a, b]
        traffic = Traffic(DEVICES, profile="flood", seed=7)
        published = 0
        stop = threading.Event()
        lock = threading.Lock()

        def stream() -> None:
            nonlocal published
            import asyncio

            async def run() -> None:
                nonlocal published
                pubs = Publishers(broker.url, 2)
                await pubs.connect()
                interval = 0.05
                per_tick = int(STEADY_RATE * interval)
                next_at = time.perf_counter()
                while not stop.is_set():
                    batch = [traffic.message() for _ in range(per_tick)]
                    await pubs.send_all(iter(batch))
                    with lock:
                        published += len(batch)
                    next_at += interval
                    await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                pubs.close()

            asyncio.run(run())

        sender = threading.Thread(target=stream, daemon=True)
        sender.start()
        time.sleep(5.0)  # steady state
        killed = time.perf_counter()
        b.kill()
        # The stream goes on for a second: Mosquitto deals half of it to the dead replica's
        # session, where it waits until a survivor adopts that session.
        time.sleep(1.0)
        stop.set()
        sender.join(30)
        with lock:
            total = published
        recovered = None
        while time.perf_counter() - killed < 60:
            if _stored(db) >= total:
                recovered = time.perf_counter() - killed
                break
            time.sleep(0.05)
        print(f"failover: every message committed {recovered}s after the kill ({total} sent,"
              " the last 1 s of them after it)", flush=True)
        return {"failover_s": None if recovered is None else round(recovered, 2),
                "lease_s": lease_s, "steady_rate": STEADY_RATE, "published": total,
                "measured": "SIGKILL → every message published up to 1 s after it committed"}
    finally:
        for r in replicas:
            if r.proc.poll() is None:
                r.kill()
        broker.stop()


def main() -> int:
    """Run the configurations; print the figures, then the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode")
    c = sub.add_parser("child")
    c.add_argument("--broker", required=True)
    c.add_argument("--db", required=True)
    c.add_argument("--replica", default="")
    c.add_argument("--register", action="store_true")
    parser.add_argument("--messages", type=int, default=40_000)
    parser.add_argument("--configs", default="sqlite1,pgsolo1,pg1,pg2,pg3")
    parser.add_argument("--no-failover", action="store_true")
    args = parser.parse_args()
    if args.mode == "child":
        return child(args)
    results: dict[str, Any] = {"bench": "replicas", "messages": args.messages,
                               "devices": DEVICES, "traffic": "flood"}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pg = start_postgres()
        try:
            runs = [drain_one(cfg, args.messages, folder, pg)
                    for cfg in args.configs.split(",")]
            results["drains"] = runs
            by = {r["config"]: r["rate"] for r in runs}
            if "sqlite1" in by:
                results["ratios_to_sqlite1"] = {k: round(v / by["sqlite1"], 3)
                                                for k, v in by.items()}
                # What "2 replicas ≥ 1.8 × sqlite1" asks of the CPU on this machine: every
                # message's work, replica and PostgreSQL together, within this budget.
                results["cpu_budget_us_per_msg_for_1_8x"] = round(
                    (os.cpu_count() or 1) * 1e6 / (1.8 * by["sqlite1"]), 1)
            if not args.no_failover:
                results["failover"] = failover(folder, pg,
                                               Settings().gateway.lease_s)
        finally:
            pg.stop()
    results["postgres"] = "fsync=off, full_page_writes=off (tests' server); SQLite WAL FULL"
    results["machine"] = machine()
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
