"""The synthetic-video camera mode: a rendered clip analysed and published as the camera."""

from __future__ import annotations

import threading

import orjson
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from simulators.camera_video import main
from tests.support.waiting import wait_for


def test_camera_video_mode_publishes_as_the_camera(mosquitto, tmp_path):
    seen: list[tuple[str, bytes]] = []
    ready = threading.Event()
    watcher = paho.Client(CallbackAPIVersion.VERSION2, client_id="watch-cam")
    watcher.on_subscribe = lambda *a: ready.set()
    watcher.on_message = lambda c, u, m: seen.append((m.topic, m.payload))
    watcher.connect("127.0.0.1", mosquitto.port)
    watcher.subscribe("scgw/v1/camera/CAM-V1/#", qos=1)
    watcher.loop_start()
    assert ready.wait(5)
    try:
        code = main(["--broker", mosquitto.url, "--device-id", "CAM-V1", "--scene", "facade",
                     "--seed", "2", "--duration", "4", "--out", str(tmp_path)])
        assert code == 0
        assert any(tmp_path.rglob("*.mp4"))

        def statuses() -> list[dict]:
            return [orjson.loads(p) for t, p in seen if t.endswith("/status")]

        assert wait_for(statuses, 5)
        assert statuses()[0]["state"] == "online"
    finally:
        watcher.loop_stop()
        watcher.disconnect()
