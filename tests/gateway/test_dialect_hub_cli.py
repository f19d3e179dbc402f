"""`scgw dialects hub add` grants the hub the topics of the dialect it speaks: a vendor's box
was given Zigbee2MQTT's by default, and its smoke alarms were dropped by the broker unseen
(vendor round 5)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BOX = """\
dialect: acme_box
title: A gateway box with one MQTT login for its detectors
kinds: [smoke_detector]
topics:
  - {name: up, pattern: "acmebox/{hub}/{id}", hub: true}
messages:
  - name: alarm
    when: "ev != null"
    channel: event
    event: {code: ev, table: {SMOKE: smoke_alarm, CLR: alarm_cleared}}
    fields:
      ts: {path: t, convert: time, unit: s, required: true}
      seq: sn
examples:
  - name: smoke alarm
    kind: smoke_detector
    topic: acmebox/BOX1/sd01
    payload: {ev: SMOKE, t: 1795233600, sn: 7}
    expect: {channel: event, type: smoke_alarm}
"""


def _hub_add(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCGW_DIALECTS__FOLDER": str(tmp_path / "dialects"),
           "SCGW_DATABASE__URL": f"sqlite:///{tmp_path / 'gw.db'}"}
    return subprocess.run([sys.executable, "-m", "api", "dialects", "hub", "add", "BOX1", *args],
                          env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)


def test_a_hub_is_given_its_own_dialects_topics_or_asked_which(tmp_path: Path):
    (tmp_path / "dialects").mkdir()
    (tmp_path / "dialects" / "acme_box.yaml").write_text(BOX, encoding="utf-8")
    # Two dialects with hub topics (ours and the built-in Zigbee2MQTT): name one.
    done = _hub_add(tmp_path)
    assert done.returncode == 1
    assert "--dialect" in done.stderr and "acme_box, zigbee2mqtt" in done.stderr
    # Named, it goes on to the broker account (here refused: no provisioning configured).
    done = _hub_add(tmp_path, "--dialect", "acme_box")
    assert done.returncode == 2 and "provisioning" in done.stderr
    done = _hub_add(tmp_path, "--dialect", "owntracks")
    assert done.returncode == 1 and "no hub topics" in done.stderr
