"""AsyncAPI 3 document of the MQTT contract, generated from the same models as docs/schemas."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import TypeAdapter

from devices.base import CommandAck, Status
from devices.catalogue import CATALOGUE, KindCatalogue

REF = "#/components/schemas/{model}"
_CHANNELS = (("telemetry", "telemetry", 0), ("event", "event", 1), ("status", "status", 1),
             ("cmd_ack", "cmd/ack", 1))


def _schema(adapter: TypeAdapter[Any], defs: dict[str, Any]) -> dict[str, Any]:
    schema = adapter.json_schema(ref_template=REF)
    defs.update(schema.pop("$defs", {}))
    return schema


def _camel(*parts: str) -> str:
    head, *rest = [p.replace("/", "_") for p in parts]
    return head + "".join(p.title().replace("_", "") for p in rest)


def document(version: str, broker_url: str,
             catalogue: KindCatalogue = CATALOGUE) -> dict[str, Any]:
    """The whole AsyncAPI 3.0 document: one channel per kind and topic, the gateway's view."""
    defs: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    device_id = {"description": "The device's id, also its MQTT username"}
    for key, kind in catalogue.kinds.items():
        adapters = {
            "telemetry": TypeAdapter(kind.telemetry),
            "event": catalogue.event_adapter(key),
            "status": TypeAdapter(Status),
            "cmd_ack": TypeAdapter(CommandAck),
        }
        for channel, suffix, qos in _CHANNELS:
            if channel == "cmd_ack" and not kind.command_specs:
                continue  # nothing to answer
            name = _camel(key, channel)
            messages[name] = {
                "name": name,
                "title": f"{kind.name_en} {channel} ({kind.name_zh})",
                "contentType": "application/json",
                "payload": _schema(adapters[channel], defs),
            }
            if channel == "event":
                # Machine-readable: which types page and are confirmed on event/ack, and the
                # words firmware uses for them that are read as those types.
                messages[name]["x-urgent"] = sorted(kind.urgent)
                messages[name]["x-urgent-aliases"] = dict(kind.urgent_aliases)
            channels[name] = {
                "address": f"scgw/v1/{key}/{{device_id}}/{suffix}",
                "parameters": {"device_id": device_id},
                "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            }
            operations[_camel("receive", key, channel)] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{name}"},
                "summary": f"Devices publish {channel} (QoS {qos}"
                           f"{', retained' if channel == 'status' else ''})",
                "bindings": {"mqtt": {"qos": qos, "retain": channel == "status"}},
            }
        for spec in kind.command_specs:
            name = _camel(key, "cmd", spec.name)
            messages[name] = {
                "name": name, "title": f"{spec.name}: {spec.description}",
                "contentType": "application/json",
                "payload": {
                    "type": "object", "required": ["id", "name", "args", "expires_at"],
                    "properties": {
                        "id": {"type": "string", "maxLength": 64},
                        "name": {"const": spec.name},
                        "args": _schema(TypeAdapter(spec.args), defs),
                        "expires_at": {"type": "integer", "description":
                                       "Epoch ms; never act on the command after it "
                                       f"(default {spec.ttl_s:g} s after sending, at most "
                                       f"{spec.max_ttl_s:g} s)"}}},
                "x-result": _schema(TypeAdapter(spec.result), defs),
            }
        if kind.command_specs:
            cmd = _camel(key, "cmd")
            channels[cmd] = {
                "address": f"scgw/v1/{key}/{{device_id}}/cmd",
                "parameters": {"device_id": device_id},
                "messages": {m: {"$ref": f"#/components/messages/{m}"}
                             for m in (_camel(key, "cmd", c) for c in kind.commands)}}
            operations[_camel("send", key, "cmd")] = {
                "action": "send", "channel": {"$ref": f"#/channels/{cmd}"},
                "summary": "The gateway sends commands; the device answers on cmd/ack before "
                           "expires_at (MQTT 5 message expiry set too)",
                "bindings": {"mqtt": {"qos": 1}},
            }
        answers = [("errors", "refusal", 0, "Why one of the device's messages was refused")]
        if kind.urgent:
            answers.insert(0, (
                "event/ack", "eventAck", 1, "Confirmation of an urgent event "
                f"({', '.join(sorted(kind.urgent))}), echoing its seq: resend the event until "
                "it arrives (other events are not confirmed)"))
        for suffix, message, qos, summary in answers:
            name = _camel(key, suffix)
            channels[name] = {"address": f"scgw/v1/{key}/{{device_id}}/{suffix}",
                              "parameters": {"device_id": device_id},
                              "messages": {message: {"$ref": f"#/components/messages/{message}"}}}
            operations[_camel("send", key, suffix)] = {
                "action": "send", "channel": {"$ref": f"#/channels/{name}"},
                "summary": summary, "bindings": {"mqtt": {"qos": qos}}}
    messages["eventAck"] = {
        "name": "eventAck", "title": "Urgent event confirmed", "contentType": "application/json",
        "payload": {"type": "object", "required": ["seq", "type", "status", "ts"], "properties": {
            "seq": {"type": ["integer", "null"]}, "type": {"type": "string"},
            "status": {"enum": ["stored", "duplicate"]},
            "ts": {"type": "integer", "description": "The event's own ts, epoch ms"},
            "salvaged": {"type": "string", "description": "Present when the event's payload "
                         "broke the contract and was repaired to page all the same: what was "
                         "wrong and what was kept (fix the payload)"},
            "clock_skew_s": {"type": "integer", "description": "Present when the device clock "
                             "is more than 5 minutes off: its ts minus the gateway's receipt, "
                             "seconds (a whole number of hours: a time-zone mix-up)"},
            "clock": {"type": "string", "description": "With clock_skew_s: what is wrong with "
                      "the clock, in words"}}}}
    messages["refusal"] = {
        "name": "refusal", "title": "A message was refused", "contentType": "application/json",
        "payload": {"type": "object", "required": ["topic", "reason", "detail"], "properties": {
            "topic": {"type": "string"}, "reason": {"type": "string"},
            "detail": {"type": "string"}, "seq": {"type": ["integer", "null"]},
            "received_at": {"type": "integer"},
            "salvaged": {"type": "boolean", "description": "True: an urgent event stored and "
                         "paged all the same; the reason and detail say what to fix"}}}}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "scgw MQTT contract", "version": f"v1 (gateway {version})",
                 "description": "What devices publish to the smart-community gateway and what "
                                "it sends them. See docs/vendor-guide.md."},
        "defaultContentType": "application/json",
        "servers": {"broker": {"host": urlsplit(broker_url).netloc or broker_url,
                               "protocol": urlsplit(broker_url).scheme or "mqtts",
                               "description": "Username = client id = device id; the password "
                                              "issued at registration; ACL per device"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": defs},
    }
