"""Every example in docs/vendor-guide.md is published verbatim and has the documented outcome."""

from __future__ import annotations

import re
from pathlib import Path

from devices.catalogue import CATALOGUE
from tests.conftest import STANDARD_DEVICES, device

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
    from gateway.decode import REJECT_REASONS

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
    assert [(d["topic"], d["reason"]) for d in dead] == expected_dead, dead
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
