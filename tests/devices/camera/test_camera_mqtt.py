"""End to end: the analyzer publishes as a camera over MQTT; the gateway raises a critical alert."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from devices.camera.analyze import main
from gateway.service import Gateway
from tests.devices.camera import clips
from tests.support.mosquitto import Mosquitto
from tests.support.waiting import wait_for

T0_ISO = "2026-11-21T04:00:00+00:00"  # the gateway's manual clock (tests.conftest.T0)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> clips.Clip:
    return clips.throw(tmp_path_factory.mktemp("mqtt-clip"))


def test_falling_object_reaches_the_gateway_as_a_critical_alert(
    make_gateway: Callable[..., Gateway], mosquitto: Mosquitto, clip: clips.Clip
) -> None:
    gw = make_gateway()
    code = main(
        [
            "--video",
            str(clip.video),
            "--config",
            str(clip.config),
            "--mqtt-url",
            mosquitto.url,
            "--device-id",
            "CAM-3001",
            "--start-time",
            T0_ISO,
        ]
    )
    assert code == 0
    # online status, the event, offline status
    assert gw.pipeline.wait_processed(3, timeout=15)
    [event] = gw.store.query(
        "SELECT * FROM events WHERE device_id = 'CAM-3001' AND type = 'falling_object'"
    )
    assert event["channel"] == "event"
    assert wait_for(
        lambda: gw.store.query("SELECT * FROM alerts WHERE rule_id = 'camera.falling_object'"),
        timeout=10,
    )
    [alert] = gw.store.query("SELECT * FROM alerts WHERE rule_id = 'camera.falling_object'")
    assert (alert["device_id"], alert["severity"], alert["state"]) == (
        "CAM-3001",
        "critical",
        "active",
    )
    tickets = gw.store.query(
        "SELECT ticket_id FROM ticket_alerts WHERE alert_id = ?", (alert["id"],)
    )
    assert len(tickets) == 1, "the workflow opens a ticket for a critical camera alert"


def test_unreachable_broker_is_reported_not_raised(
    clip: clips.Clip, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "--video",
            str(clip.video),
            "--config",
            str(clip.config),
            "--mqtt-url",
            "mqtt://127.0.0.1:1",
            "--device-id",
            "CAM-3001",
        ]
    )
    assert code == 3
    assert "cannot reach" in capsys.readouterr().err
