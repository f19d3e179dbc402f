"""Every example in docs/vendor-guide.md is published verbatim and has the documented outcome."""

from __future__ import annotations

import re
from pathlib import Path

from devices.catalogue import CATALOGUE
from tests.conftest import STANDARD_DEVICES, T0, device

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "vendor-guide.md"
_BLOCK = re.compile(
    r"<!-- (publish|reject): (?:(\w+) )?(scgw/\S+) -->\n```(?:json|text)\n(.*?)\n```", re.S
)


def _examples() -> list[tuple[str, str | None, str, bytes]]:
    text = GUIDE.read_text(encoding="utf-8")
    found = []
    for action, reason, topic, body in _BLOCK.findall(text):
        found.append((action, reason or None, topic, body.encode()))
    return found


def test_guide_has_an_example_for_every_message_type():
    examples = _examples()
    published = [(t, b) for a, _, t, b in examples if a == "publish"]
    channels = {t.split("/", 4)[4] for t, _ in published}
    assert channels == {"telemetry", "event", "status", "cmd/ack"}
    for kind in CATALOGUE.kinds.values():
        assert any(f"/{kind.key}/" in t and t.endswith("/telemetry") for t, _ in published)
        for word in kind.vocabulary():
            assert any(f'"type": "{word}"' in b.decode() for t, b in published
                       if f"/{kind.key}/" in t), f"no example for {kind.key} {word}"


def test_guide_documents_every_field_and_dead_letter_reason():
    from gateway.rejections import REJECT_REASONS

    text = GUIDE.read_text(encoding="utf-8")
    for kind in CATALOGUE.kinds.values():
        models = (kind.telemetry, *kind.events)
        for model in models:
            for field in model.model_fields:
                assert f"`{field}`" in text, f"{model.__name__}.{field} is not documented"
    for reason in REJECT_REASONS:
        assert f"`{reason}`" in text, f"dead-letter reason {reason} is not documented"


def _guide_devices() -> list:
    """A registration for every device the guide's examples publish as (of the topic's kind)."""
    standard = {d.id for d in STANDARD_DEVICES}
    found = {}
    for _, _, topic, _ in _examples():
        kind, device_id = topic.split("/")[2:4]
        if device_id not in standard and CATALOGUE.get(kind) is not None:
            found[device_id] = device(device_id, kind)
    return list(found.values())


def test_every_example_is_accepted_or_rejected_as_documented(make_gateway, publisher):
    gw = make_gateway(devices=[*STANDARD_DEVICES, *_guide_devices()])
    examples = _examples()
    for _, _, topic, body in examples:
        publisher.publish(topic, body)
    assert gw.pipeline.wait_processed(len(examples), timeout=15)
    dead = gw.store.query("SELECT topic, reason, detail FROM dead_letters ORDER BY id")
    expected_dead = [(t, r) for a, r, t, _ in examples if a == "reject"]
    # As a multiset: events come on the event lane, the rest on the main session, so the
    # order across channels is not the order of publishing (docs/operations.md).
    assert sorted((d["topic"], d["reason"]) for d in dead) == sorted(expected_dead), dead
    published = [(t, b) for a, _, t, b in examples if a == "publish"]
    accepted = sum(
        gw.metrics.value("scgw_messages_accepted_total", kind=k, channel=c)
        for k in CATALOGUE.kinds for c in ("telemetry", "event", "status", "cmd_ack")
    )
    assert accepted == len(published)
    rows = gw.store.query("SELECT count(*) AS n FROM telemetry")[0]["n"]
    assert rows == sum(1 for t, _ in published if t.endswith("/telemetry"))


SCHEMAS = GUIDE.parent / "schemas"


def _schema_for(topic: str) -> Path:
    kind, channel = topic.split("/")[2], topic.split("/", 4)[4]
    name = {"status": "status.json", "cmd/ack": "cmd_ack.json"}.get(channel,
                                                                    f"{kind}.{channel}.json")
    return SCHEMAS / name


def test_every_json_example_matches_the_published_schema():
    import orjson
    from jsonschema import Draft202012Validator

    checked = 0
    for action, _, topic, body in _examples():
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            assert action == "reject" or topic.endswith("/status"), (
                f"{topic}: a published example that is not JSON must be a bare status word")
            continue
        validator = Draft202012Validator(orjson.loads(_schema_for(topic).read_bytes()))
        errors = [e.message for e in validator.iter_errors(document)]
        if action == "publish":
            assert not errors, (topic, body, errors)
            checked += 1
    assert checked >= 20


def test_the_schemas_refuse_what_the_gateway_refuses():
    import orjson
    from jsonschema import Draft202012Validator

    event = Draft202012Validator(orjson.loads((SCHEMAS / "wristband.event.json").read_bytes()))
    assert not event.is_valid({"ts": 1795233480000})  # `type` is required
    assert event.is_valid({"ts": 1795233480000, "type": "sos", "seq": 3})
    telemetry = Draft202012Validator(orjson.loads(
        (SCHEMAS / "wristband.telemetry.json").read_bytes()))
    assert not telemetry.is_valid({"ts": 1795233480000, "heart_rate_bpm": "71"})
    assert not telemetry.is_valid({"ts": 1795233480, "heart_rate_bpm": 71})  # epoch seconds


def test_the_guide_lists_every_command_with_its_lifetime():
    text = GUIDE.read_text(encoding="utf-8")
    for kind in CATALOGUE.kinds.values():
        for spec in kind.command_specs:
            row = next((line for line in text.splitlines()
                        if line.startswith(f"| {kind.key} | `{spec.name}` |")), None)
            assert row is not None, f"{kind.key} {spec.name} is missing from the guide"
            assert f"{spec.ttl_s:g} s / {spec.max_ttl_s:g} s" in row, row


def test_the_guide_names_every_kind_its_urgent_events_and_offline_timeout():
    text = " ".join(GUIDE.read_text(encoding="utf-8").split())
    kinds = text[text.index("`kind` is one of"):][:400]
    urgent = text[text.index("Urgent events:"):][:600]
    offline = text[text.index("shown offline too (defaults:"):][:400]
    for key, kind in CATALOGUE.kinds.items():
        assert f"`{key}`" in kinds, key
        for word in kind.urgent:
            assert f"`{word}`" in urgent, (key, word)
        minutes = kind.offline_timeout_s / 60
        shown = f"{minutes:g} min" if minutes < 60 else f"{minutes / 60:g} h"
        assert f"{key} {shown}" in offline, (key, shown)


# -- dialect examples: published verbatim on the vendor's own topic ------------------------

_DIALECT_BLOCK = re.compile(
    r"<!-- dialect-(publish|reject): (?:(\w+) )?(\w+) (\w+) (\S+) -->\n```json\n(.*?)\n```", re.S)


def _dialect_examples() -> list[tuple[str, str | None, str, str, str, bytes]]:
    text = GUIDE.read_text(encoding="utf-8")
    return [(a, r or None, codec, kind, topic, body.encode())
            for a, r, codec, kind, topic, body in _DIALECT_BLOCK.findall(text)]


def test_every_dialect_example_is_accepted_or_refused_and_answered_as_documented(
        make_gateway, publisher, mosquitto):
    import orjson

    from tests.gateway.test_confirmations import Listener
    from tests.support.waiting import wait_for

    examples = _dialect_examples()
    assert {codec for _, _, codec, _, _, _ in examples} >= {"watch4g", "owntracks"}
    registered = {}
    for _, _, codec, kind, topic, _ in examples:
        device_id = topic.split("/")[1]
        registered[device_id] = device(device_id, kind, codec=codec)
    gw = make_gateway(devices=list(registered.values()))
    answers = [f"scgw/v1/{d.kind}/{d.id}/{s}" for d in registered.values()
               for s in ("event/ack", "errors")]
    listener = Listener(mosquitto.port, answers)
    try:
        for _, _, _, _, topic, body in examples:
            publisher.publish(topic, body)
        assert gw.pipeline.wait_processed(len(examples), timeout=15)
        dead = gw.store.query("SELECT topic, reason FROM dead_letters ORDER BY id")
        assert [(d["topic"], d["reason"]) for d in dead] == [
            (t, r) for a, r, _, _, t, _ in examples if a == "reject"]
        # What the guide says comes back, on the topics it names.
        text = " ".join(GUIDE.read_text(encoding="utf-8").split())
        expected = len(dead) + sum(
            1 for a, _, _, _, _, b in examples if a == "publish" and b'"SOS"' in b)
        assert wait_for(lambda: len(listener.got) == expected, 10), listener.got
        for topic, body in listener.got:
            if topic.endswith("/event/ack"):
                shown = f"`{topic}` as `{orjson.dumps(body).decode()}`".replace(",", ", ")
                shown = shown.replace(":", ": ")
                assert shown in text, shown
            else:
                assert f"`{topic}`" in text and f'"detail": "{body["detail"]}"' in text, body
    finally:
        listener.close()


# -- "Trying it from a shell": the commands run as printed ----------------------------------

def _shell(name: str) -> list[str]:
    """The commands of a `<!-- shell: name -->` block, continuation lines joined, without
    comments and without the lines that set B, ID and PASS (the test provides those)."""
    text = GUIDE.read_text(encoding="utf-8")
    block = re.search(rf"<!-- shell: {name} -->\n```sh\n(.*?)\n```", text, re.S)
    assert block, name
    commands = []
    for line in block.group(1).replace("\\\n", " ").splitlines():
        line = line.split("   # ")[0].strip()
        if line and not line.startswith("#") and not re.match(r"(B|ID)=", line):
            commands.append(line)
    return commands


def _json_after(name: str) -> dict:
    """The JSON block the guide shows right after the `name` shell block."""
    import orjson

    text = GUIDE.read_text(encoding="utf-8")
    after = text[text.index(f"<!-- shell: {name} -->"):]
    return orjson.loads(re.search(r"```json\n(.*?)\n```", after, re.S).group(1))


def _run(command: str, mosquitto, **extra: str):
    import os
    import subprocess

    env = {**os.environ, "B": f"-h 127.0.0.1 -p {mosquitto.port}", "ID": "WB-1001",
           "PASS": "anything", **extra}
    return subprocess.run(["bash", "-c", command], env=env, capture_output=True, timeout=30)


def _needs_clients() -> None:
    import shutil

    import pytest

    for tool in ("mosquitto_rr", "mosquitto_sub", "mosquitto_pub"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")


def test_the_shell_recipes_print_what_the_guide_shows(make_gateway, mosquitto):
    import orjson

    from gateway.clock import ManualClock

    _needs_clients()
    # The recipes' times are fixed (2026-11-21): the gateway's clock is set just after them,
    # or their urgent event would be judged a month old one day.
    make_gateway(gw_clock=ManualClock(T0))
    [errors] = _shell("errors")
    done = _run(errors, mosquitto)
    assert done.returncode == 0, done.stderr
    got, shown = orjson.loads(done.stdout), _json_after("errors")
    assert {k: v for k, v in got.items() if k != "received_at"} == {
        k: v for k, v in shown.items() if k != "received_at"}
    [confirm] = _shell("confirm")
    done = _run(confirm, mosquitto)
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout) == _json_after("confirm")


def test_the_shell_command_recipe_answers_a_command(make_gateway, mosquitto):
    import time

    import orjson

    from gateway.clock import ManualClock
    from tests.support.waiting import wait_for

    _needs_clients()
    gw = make_gateway(gw_clock=ManualClock(time.time()))
    session, wait, answer = _shell("command")
    assert _run(session, mosquitto).returncode == 0
    command = gw.pipeline.call("cmd", lambda now, tx: gw.commands.send(
        tx, device_id="WB-1001", kind="wristband", name="locate_now", args={}, actor="op",
        now=now), time.time())
    waited = _run(wait, mosquitto)
    assert waited.returncode == 0, waited.stderr
    topic, body = waited.stdout.decode().split(" ", 1)
    assert topic == "scgw/v1/wristband/WB-1001/cmd"
    assert orjson.loads(body)["id"] == command
    example_id = re.search(r'"id": "(cmd-[0-9a-f]+)"', answer).group(1)
    done = _run(answer.replace(example_id, command), mosquitto)
    assert done.returncode == 0, done.stderr
    assert wait_for(lambda: gw.store.query("SELECT state FROM commands WHERE id = ?",
                                           (command,)) == [{"state": "succeeded"}], 10)
