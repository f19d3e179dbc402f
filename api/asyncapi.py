"""AsyncAPI 3 document of the MQTT contract, generated from the same models as docs/schemas."""

from __future__ import annotations

from typing import Any

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


def document(version: str, catalogue: KindCatalogue = CATALOGUE) -> dict[str, Any]:
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
            name = _camel(key, channel)
            messages[name] = {
                "name": name,
                "title": f"{kind.name_en} {channel} ({kind.name_zh})",
                "contentType": "application/json",
                "payload": _schema(adapters[channel], defs),
            }
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
        cmd = _camel(key, "cmd")
        messages[cmd] = {
            "name": cmd, "title": f"Command to a {kind.name_en}",
            "contentType": "application/json",
            "payload": {"type": "object", "required": ["id", "name"],
                        "properties": {"id": {"type": "string", "maxLength": 64},
                                       "name": {"type": "string"},
                                       "args": {"type": "object"}}},
        }
        channels[cmd] = {"address": f"scgw/v1/{key}/{{device_id}}/cmd",
                         "parameters": {"device_id": device_id},
                         "messages": {cmd: {"$ref": f"#/components/messages/{cmd}"}}}
        operations[_camel("send", key, "cmd")] = {
            "action": "send", "channel": {"$ref": f"#/channels/{cmd}"},
            "summary": "The gateway sends commands; the device answers on cmd/ack",
            "bindings": {"mqtt": {"qos": 1}},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "scgw MQTT contract", "version": f"v1 (gateway {version})",
                 "description": "What devices publish to the smart-community gateway and what "
                                "it sends them. See docs/vendor-guide.md."},
        "defaultContentType": "application/json",
        "servers": {"broker": {"host": "broker:8883", "protocol": "mqtts",
                               "description": "Per-device username/password; ACL per device"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": defs},
    }
