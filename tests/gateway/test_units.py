"""Settings, scheduler, registry import, schema export: the parts with no broker."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway import schemas
from gateway.clock import ManualClock
from gateway.registry import DeviceRegistry, RegistryError, read_import_file
from gateway.scheduler import Scheduler
from gateway.settings import Settings
from gateway.storage.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schemas_match_the_models():
    committed = {p.name: p.read_bytes() for p in (ROOT / "docs" / "schemas").glob("*.json")}
    generated = {name: schemas.render(s) for name, s in schemas.payload_schemas().items()}
    assert committed.keys() == generated.keys(), "run `scgw schemas export`"
    stale = [n for n in generated if committed[n] != generated[n]]
    assert not stale, f"stale schemas {stale}: run `scgw schemas export`"


def test_committed_settings_reference_matches_the_models():
    from gateway.settings_doc import render

    committed = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    assert committed == render(), "run `scgw settings doc`"
    assert "`SCGW_BROKER__URL`" in committed and "`SCGW_LIMITS__MAX_PAYLOAD_BYTES`" in committed


def test_settings_refuse_unknown_keys_and_dev_secrets_in_production(monkeypatch):
    with pytest.raises(ValidationError, match="extra"):
        Settings(brokr={"url": "mqtt://x"})
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(environment="production", broker={"url": "mqtt://b:1883"})
    monkeypatch.setenv("SCGW_API__JWT_SECRET", "s3cret-from-env")  # guessable offline
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(environment="production", broker={"url": "mqtts://b", "username": "gw-1",
                                                   "password": "pw"})
    monkeypatch.setenv("SCGW_API__JWT_SECRET", "a-long-random-secret-from-the-env-0123456789")
    with pytest.raises(ValidationError, match="token_key needs at least 16"):
        Settings(environment="production", plates={"token_key": "short"},
                 broker={"url": "mqtts://b", "username": "gw-1", "password": "pw"})
    with pytest.raises(ValidationError, match="BROKER__USERNAME"):
        Settings(environment="production", broker={"url": "mqtts://b"})
    ok = Settings(environment="production",
                  broker={"url": "mqtts://b", "username": "gw-1", "password": "pw"})
    assert ok.broker.port == 8883 and ok.broker.tls
    assert not ok.docs_public and Settings().docs_public
    with pytest.raises(ValidationError, match="unknown device kinds"):
        Settings(offline_timeout_s={"toaster": 5})
    assert Settings(offline_timeout_s={"camera": 60}).offline_timeout_s["wristband"] == 1800


def test_settings_file_and_environment(tmp_path, monkeypatch):
    cfg = tmp_path / "scgw.yaml"
    cfg.write_text("broker:\n  url: mqtt://broker.local:1884\nlimits:\n  batch_size: 7\n")
    monkeypatch.setenv("SCGW_CONFIG", str(cfg))
    monkeypatch.setenv("SCGW_LIMITS__BATCH_SIZE", "9")
    s = Settings()
    assert (s.broker.host, s.broker.port, s.limits.batch_size) == ("broker.local", 1884, 9)


def test_scheduler_runs_jobs_when_the_manual_clock_reaches_them():
    clock = ManualClock(1000.0)
    sched = Scheduler(clock)
    seen: list[tuple[str, float]] = []
    sched.every("tick", 10, lambda now: seen.append(("tick", now)))
    sched.at("once", 1025, lambda now: seen.append(("once", now)))
    assert sched.run_due() == 0
    clock.advance(10)
    sched.run_due()
    clock.advance(20)  # 1030: a missed tick is not replayed twice, the one-shot runs once
    sched.run_due()
    clock.advance(100)
    sched.run_due()
    assert seen == [("tick", 1010), ("tick", 1030), ("once", 1030), ("tick", 1130)]


def test_a_failing_job_is_counted_and_the_others_still_run():
    clock = ManualClock(0.0)
    failed: list[str] = []
    sched = Scheduler(clock, on_error=failed.append)
    ran: list[float] = []

    def broken(now: float) -> None:
        raise OSError("disk gone")

    sched.every("broken", 10, broken)
    sched.every("fine", 10, ran.append)
    clock.advance(10)
    assert sched.run_due() == 2
    assert failed == ["broken"] and ran == [10.0]


def test_scheduler_thread_wakes_on_clock_advance():
    import threading

    clock = ManualClock(0.0)
    sched = Scheduler(clock)
    fired = threading.Event()
    sched.at("later", 3600, lambda now: fired.set())
    sched.start()
    try:
        assert not fired.wait(0.05)
        clock.advance(3600)
        assert fired.wait(5)
    finally:
        sched.stop()


def test_import_file_validation_is_all_or_nothing(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,kind,install_date\nWB-1,wristband,2024-01-01\nAC 2,access,\n"
                   "LK-3,locker,yesterday\nX-4,toaster,\n")
    with pytest.raises(RegistryError) as info:
        read_import_file(bad)
    lines = str(info.value).splitlines()
    # Every bad row, by its line in the file, with the field and the reason.
    assert [line.split(": ")[1] for line in lines] == ["line 3", "line 4", "line 5"]
    assert "id: String should match pattern" in lines[0]
    assert "install_date: String should match pattern" in lines[1]
    assert "kind: 'toaster' is not a kind; one of access, alarm_pole, camera" in lines[2]
    env = {"SCGW_DATABASE__URL": f"sqlite:///{tmp_path / 'x.db'}", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "gateway", "devices", "import", str(bad)],
                         env=env, cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 1 and "3 problem(s); nothing imported" in out.stderr
    assert "Traceback" not in out.stderr
    dup = tmp_path / "dup.yaml"
    dup.write_text("- {id: A, kind: access}\n- {id: A, kind: access}\n")
    with pytest.raises(RegistryError, match="repeated"):
        read_import_file(dup)
    codec = tmp_path / "codec.yaml"
    codec.write_text("devices:\n  - {id: B, kind: wristband, codec: mystery}\n")
    with pytest.raises(RegistryError, match="unknown codec"):
        read_import_file(codec)


def test_cli_imports_devices_and_registry_keeps_created_at(tmp_path):
    db = tmp_path / "r.db"
    devices = tmp_path / "devices.yaml"
    devices.write_text(
        "devices:\n"
        "  - {id: WB-7, kind: wristband, codec: hx_band, grid: G-03, resident_id: R-zhao}\n"
        "  - {id: AC-7, kind: access, site: s1, building: '2', unit: '1'}\n"
    )
    env = {"SCGW_DATABASE__URL": f"sqlite:///{db}", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "gateway", "devices", "import", str(devices)],
                         env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert "imported 2 devices" in out.stdout and "2 new" in out.stdout
    listed = subprocess.run([sys.executable, "-m", "gateway", "devices", "list"],
                            env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert "WB-7\twristband\tactive" in listed.stdout
    store = SqliteStore(db)
    clock = ManualClock(2_000_000_000.0)
    registry = DeviceRegistry(store, clock)
    registry.load()
    created = registry.get("WB-7").created_at
    assert registry.get("WB-7").codec == "hx_band"
    registry.register(read_import_file(devices))
    assert registry.get("WB-7").created_at == created
    assert registry.get("WB-7").updated_at == 2_000_000_000.0
    store.close()
