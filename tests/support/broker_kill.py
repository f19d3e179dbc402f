"""SIGKILL the broker under live traffic and account for every message (test and bench).

Devices (the simulators' own MQTT connections) publish telemetry and SOS events through a
Mosquitto running the shipped `deploy/mosquitto/scgw.d/*.conf`, to a gateway in its own
process. The broker is killed and restarted several times. Afterwards every message the
broker acknowledged is looked for in the gateway's database: what is missing was lost,
what is there twice was doubled.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import orjson

from simulators.mqtt import DeviceConnections
from tests.support.mosquitto import Mosquitto, free_port, start_mosquitto
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy" / "mosquitto" / "scgw.d"
SLACK_S = 0.5  # scheduling slop allowed around the documented window


# The broker as most tests (and the first attack run) had it: nothing on disk.
MEMORY_ONLY = "persistence false\nmax_queued_messages 0\nset_tcp_nodelay true\n"


def deploy_conf(folder: Path) -> tuple[str, float]:
    """The shipped persistence and limit settings, with the data folder moved to `folder`."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(DEPLOY.glob("*.conf")))
    text = text.replace("persistence_location /var/lib/mosquitto/",
                        f"persistence_location {folder}/")
    autosave = next(float(line.split()[1]) for line in text.splitlines()
                    if line.startswith("autosave_interval"))
    return text, autosave


@dataclass
class KillReport:
    """What the run published, what the broker acknowledged, and what reached the database."""

    kills: int
    confirm: bool
    persistent: bool
    duration_s: float
    telemetry_acked: int = 0
    telemetry_lost: int = 0
    lost_outside_window: int = 0  # lost, but not acknowledged just before a kill
    urgent_sent: int = 0
    urgent_lost: int = 0
    urgent_resends: int = 0
    doubled: int = 0
    loss_per_kill: list[int] = field(default_factory=list)
    # Replicas only: Mosquitto does not restore shared subscriptions from its saved state
    # (2.0.11, measured), so what it accepts after a restart and before a replica has
    # subscribed again goes to nobody (docs/operations.md). Lost that way, per crash, and
    # how long after each restart a probe published then first reached the database.
    lost_before_resubscribe: list[int] = field(default_factory=list)
    resubscribed_after_s: list[float] = field(default_factory=list)
    # How old the broker's last save was at each crash (its autosave interval, or more when
    # it was starved of CPU).
    save_age_at_kill_s: list[float | None] = field(default_factory=list)
    # Each message lost outside every window: its key, when it was acknowledged relative to
    # each crash, and any dead letter the gateway kept for it — so a failure explains itself.
    outside: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready."""
        return asdict(self)


class _Traffic:
    """Publishes telemetry and SOS events as the devices, remembering when each was acked.

    No lock is shared with paho's callbacks (paho calls `on_publish` holding its own lock,
    which `publish` needs too): acks are noted by message id, matched up at the end. Each
    device sends fewer than 65 535 messages, so a message id names one message.
    """

    def __init__(self, connections: DeviceConnections, devices: list[str], *, rate_hz: float,
                 sos_every: int, confirm: bool) -> None:
        self.connections = connections
        self.devices = devices
        self.period = 1.0 / rate_hz
        self.sos_every = sos_every
        self.confirm = confirm
        self.published: dict[tuple[str, int], tuple[str, str, int]] = {}  # (device, mid) → key
        self.acks: dict[tuple[str, int], float] = {}  # (device, mid) → when acked
        self.sent: set[tuple[str, str, int]] = set()
        self.stop = threading.Event()
        for device_id in devices:
            connections.clients[device_id].on_publish = self._on_publish(device_id)
        self.thread = threading.Thread(target=self._run, name="kill-traffic", daemon=True)

    def _on_publish(self, device_id: str):  # a paho callback factory
        def handler(client: object, userdata: object, mid: int, reason: object,
                    properties: object) -> None:
            self.acks.setdefault((device_id, mid), time.monotonic())
        return handler

    def unacked(self) -> int:
        """Publishes the broker has not acknowledged yet."""
        return sum(1 for mid in list(self.published) if mid not in self.acks)

    def acked(self) -> dict[tuple[str, str, int], float]:
        """(device, channel, seq) → when the broker acknowledged it."""
        return {key: self.acks[mid] for mid, key in list(self.published.items())
                if mid in self.acks}

    def _run(self) -> None:
        tick = 0
        while not self.stop.wait(self.period):
            tick += 1
            now_ms = int(time.time() * 1000)
            for n, device_id in enumerate(self.devices):
                if (tick + n) % self.sos_every == 0:
                    channel, body = "event", {"ts": now_ms, "seq": tick, "type": "sos"}
                else:
                    channel, body = "telemetry", {"ts": now_ms, "seq": tick,
                                                  "heart_rate_bpm": 60 + tick % 40}
                topic = f"scgw/v1/wristband/{device_id}/{channel}"
                payload = orjson.dumps(body)
                info = self.connections.clients[device_id].publish(topic, payload, qos=1)
                self.published[(device_id, info.mid)] = (device_id, channel, tick)
                self.sent.add((device_id, channel, tick))
                if channel == "event" and self.confirm:
                    self.connections.urgent.sent(device_id, topic, payload, time.monotonic())


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (a clean stop), then SIGKILL if it will not go."""
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    """Rows of a query on the gateway's database (none while its tables do not exist yet)."""
    if url.startswith("sqlite:///"):
        try:
            with sqlite3.connect(f"file:{url.removeprefix('sqlite:///')}?mode=ro", uri=True,
                                 timeout=10) as conn:
                return conn.execute(sql).fetchall()
        except sqlite3.OperationalError:
            return []
    import psycopg  # only the PostgreSQL runs need it

    try:
        with psycopg.connect(url) as conn:
            return conn.execute(sql).fetchall()
    except psycopg.errors.UndefinedTable:
        return []


def _stored(url: str) -> list[tuple[str, str, int]]:
    rows = _rows(url, "SELECT device_id, 'telemetry', seq FROM telemetry"
                      " UNION ALL SELECT device_id, 'event', seq FROM events WHERE type = 'sos'")
    return [(str(d), str(c), int(str(s))) for d, c, s in rows if s is not None]


def _first_landing(connections: DeviceConnections, probe_id: str, url: str, round_: int,
                   ) -> float:
    """Publish the probe's telemetry every 0.1 s until one reaches the database; return when
    that one was published (monotonic clock): a replica had subscribed by then."""
    topic = f"scgw/v1/wristband/{probe_id}/telemetry"
    client = connections.clients[probe_id]
    sent: dict[int, float] = {}
    base = (round_ + 1) * 100_000  # this round's seqs
    # Sent at once from here on (not held until the device reconnects), so a probe's
    # publish time is when the broker routed it.
    assert wait_for(client.is_connected, 30, interval=0.05), "the probe never reconnected"

    first: list[int] = []  # the earliest probe seq stored, once one is

    def landed() -> bool:
        seq = base + len(sent)
        sent[seq] = time.monotonic()
        client.publish(topic, orjson.dumps({"ts": int(time.time() * 1000), "seq": seq,
                                            "heart_rate_bpm": 70}), qos=1)
        rows = _rows(url, f"SELECT min(seq) FROM telemetry WHERE device_id = '{probe_id}'"
                          f" AND seq >= {base}")
        if rows and rows[0][0] is not None:
            first.append(int(str(rows[0][0])))
        return bool(first)
    assert wait_for(landed, 60, interval=0.1), "no replica subscribed again"
    return sent[first[0]]


def run(folder: Path, *, kills: int = 5, devices: int = 10, rate_hz: float = 10.0,
        sos_every: int = 20, interval_s: float = 2.0, confirm: bool = True,
        persistent: bool = True, gateway_away: bool = True, database_url: str | None = None,
        replicas: tuple[str, ...] = (), trace: bool = False) -> KillReport:
    """Run the traffic, kill the broker `kills` times, and account for every message.

    `database_url`: the gateway's database (default: a SQLite file in `folder`).
    `replicas`: run that many gateway replicas on one shared subscription instead of one
    gateway (needs a PostgreSQL `database_url`); each crash then finds the next replica away.
    `persistent`: the shipped broker settings; otherwise a broker that keeps nothing on disk.
    `confirm`: devices resend urgent events until the gateway confirms them.
    `trace`: the broker logs every packet (`folder/broker/mosquitto.log`) and each gateway
    logs at INFO to `folder/gw-<name>.log`, to follow a lost message.
    `gateway_away`: the gateway is stopped for `interval_s` before each crash (an upgrade, a
    network cut), so the broker holds a backlog for it when it dies — the case that loses
    the most — and started again after the broker is back.
    """
    conf, autosave = deploy_conf(folder / "broker-data")
    if not persistent:
        conf = MEMORY_ONLY
    if trace:
        conf += "\nlog_type all\nconnection_messages true\n"
    (folder / "broker-data").mkdir(parents=True, exist_ok=True)
    port = free_port()

    def start_broker() -> Mosquitto:
        return start_mosquitto(folder / "broker", port=port, extra=conf, test_defaults=False)

    broker = start_broker()
    ids = [f"WB-K{n:03d}" for n in range(devices)]
    probe_id = "WB-KPROBE"  # tells when the replicas subscribed again (not in the traffic)
    url = database_url or f"sqlite:///{folder / 'gw.db'}"
    env = {**os.environ, "SCGW_BROKER__URL": broker.url, "SCGW_BROKER__CLIENT_ID": "gw-kill",
           "SCGW_DATABASE__URL": url, "SCGW_LOG_JSON": "false", "SCGW_LOG_LEVEL": "ERROR"}
    if replicas:
        env["SCGW_BROKER__SHARED_GROUP"] = "kill"
    devices_csv = folder / "devices.csv"
    devices_csv.write_text("id,kind,grid\n" + "".join(f"{d},wristband,G-01\n"
                                                   for d in [*ids, probe_id]))
    subprocess.run([sys.executable, "-m", "gateway", "devices", "import", str(devices_csv)],
                   env=env, cwd=folder, check=True, capture_output=True)

    def start_gateway(replica: str | None) -> subprocess.Popen[bytes]:
        mine = {**env, "SCGW_GATEWAY__REPLICA_ID": replica} if replica else env
        if not trace:
            return subprocess.Popen([sys.executable, "-m", "gateway", "run"], env=mine,
                                    cwd=folder, stdout=subprocess.DEVNULL)
        with (folder / f"gw-{replica or 'one'}.log").open("ab") as log:
            return subprocess.Popen([sys.executable, "-m", "gateway", "run"],
                                    env={**mine, "SCGW_LOG_LEVEL": "INFO"}, cwd=folder,
                                    stdout=subprocess.DEVNULL, stderr=log)

    names: list[str | None] = list(replicas) or [None]
    gateways = {name: start_gateway(name) for name in names}
    wills = {d: (f"scgw/v1/wristband/{d}/status", b"offline") for d in [*ids, probe_id]}
    connections = DeviceConnections(broker.url, wills, client_prefix="")
    traffic: _Traffic | None = None
    kill_times: list[float] = []
    last_saves: list[float | None] = []
    resubscribed: list[float] = []
    started = time.monotonic()
    try:
        connections.connect()
        probe = connections.clients[ids[0]]

        def probe_landed() -> bool:
            probe.publish(f"scgw/v1/wristband/{ids[0]}/status", b"online", qos=1)
            rows = _rows(url, "SELECT count(*) FROM events WHERE channel = 'status'")
            if not rows or not int(str(rows[0][0])):
                return False
            # Every replica is up (it beats before it subscribes).
            beating = _rows(url, "SELECT count(*) FROM replicas") if replicas else [(0,)]
            return int(str(beating[0][0])) == len(replicas)
        assert wait_for(probe_landed, 60, interval=0.5), "the gateway never subscribed"
        subscribed = time.time()
        saved = folder / "broker-data" / "mosquitto.db"
        # The broker must have saved the gateway's session once before the first crash.
        assert not persistent or wait_for(
            lambda: saved.exists() and saved.stat().st_mtime > subscribed,
            autosave + 10, interval=0.1), "the broker never saved its state"
        traffic = _Traffic(connections, ids, rate_hz=rate_hz, sos_every=sos_every,
                           confirm=confirm)
        traffic.thread.start()
        pause = threading.Event()
        for round_ in range(kills):
            pause.wait(interval_s)
            away = names[round_ % len(names)]
            if gateway_away:
                _stop(gateways[away])
                pause.wait(interval_s)
            # When the broker last saved, on our monotonic clock: a CPU-starved broker saves
            # late, and the documented loss is what it acknowledged after its last save.
            last_saves.append(saved.stat().st_mtime - time.time() + time.monotonic()
                              if persistent and saved.exists() else None)
            broker.process.send_signal(signal.SIGKILL)
            broker.process.wait(timeout=10)
            kill_times.append(time.monotonic())
            broker = start_broker()
            if gateway_away:
                gateways[away] = start_gateway(away)
            if replicas:
                resubscribed.append(_first_landing(connections, probe_id, url, round_))
        pause.wait(interval_s)
        traffic.stop.set()
        traffic.thread.join(timeout=10)
        wait_for(lambda: not traffic.unacked(), 60, interval=0.2)  # every publish acked
        if confirm:
            wait_for(lambda: not connections.urgent.waiting(), 90, interval=0.2)
        expected = {k for k in traffic.acked() if k[1] == "telemetry"} | {
            k for k in traffic.sent if k[1] == "event"}
        wait_for(lambda: expected <= set(_stored(url)), 20, interval=0.5)
    finally:
        connections.close()
        for gateway in gateways.values():
            _stop(gateway)
        broker.stop()
    assert traffic is not None
    rows = _stored(url)
    stored = set(rows)
    report = KillReport(kills=kills, confirm=confirm, persistent=persistent,
                        duration_s=round(time.monotonic() - started, 1))
    report.doubled = len(rows) - len(stored)
    acked_telemetry = {k: t for k, t in traffic.acked().items() if k[1] == "telemetry"}
    report.telemetry_acked = len(acked_telemetry)
    lost = {k: t for k, t in acked_telemetry.items() if k not in stored}
    report.telemetry_lost = len(lost)
    # Each crash may lose what was acknowledged within `autosave` before it, or since the
    # broker's last save when that was later than the interval promised.
    since = [min(k - autosave, saved_at if saved_at is not None else k) - SLACK_S
             for k, saved_at in zip(kill_times, last_saves, strict=True)]
    report.loss_per_kill = [sum(1 for t in lost.values() if start <= t <= k)
                            for start, k in zip(since, kill_times, strict=True)]
    report.save_age_at_kill_s = [round(k - s, 2) if s is not None else None
                                 for k, s in zip(kill_times, last_saves, strict=True)]
    # With replicas, also what was accepted between a restart and the first replica's
    # new subscription (the earliest probe that landed was published after it).
    until = resubscribed or kill_times
    report.lost_before_resubscribe = [sum(1 for t in lost.values() if k < t <= r)
                                      for k, r in zip(kill_times, until, strict=True)]
    report.resubscribed_after_s = [round(r - k, 2) for k, r in zip(kill_times, resubscribed,
                                                                   strict=False)]
    report.lost_outside_window = (report.telemetry_lost - sum(report.loss_per_kill)
                                  - sum(report.lost_before_resubscribe))
    for key, t in sorted(lost.items(), key=lambda item: item[1]):
        if not any(start <= t <= r for start, r in zip(since, until, strict=True)):
            dead = _rows(url, "SELECT reason, payload FROM dead_letters"
                              f" WHERE topic LIKE '%/{key[0]}/%'")
            report.outside.append(
                f"{key}: acked {[round(t - k, 2) for k in kill_times]} s from the crashes;"
                f" dead letters of the device: {dead[:5]}")
    urgent = {k for k in traffic.sent if k[1] == "event"}
    report.urgent_sent = len(urgent)
    report.urgent_lost = len(urgent - stored)
    report.urgent_resends = connections.urgent.resent
    return report
