"""The published contracts: AsyncAPI beside OpenAPI, and schemathesis finds no 5xx."""

from __future__ import annotations

import re

from api.asyncapi import _camel
from devices.catalogue import CATALOGUE


def _refs(node, found):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref":
                found.add(v)
            else:
                _refs(v, found)
    elif isinstance(node, list):
        for v in node:
            _refs(v, found)
    return found


def test_asyncapi_covers_every_kind_and_channel_and_its_refs_resolve(api):
    doc = api.client.get("/asyncapi.json").json()
    assert doc["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in doc["channels"].values()}
    for key, kind in CATALOGUE.kinds.items():
        for suffix in ("telemetry", "event", "status", "errors",
                       *(["cmd", "cmd/ack"] if kind.commands else []),
                       *(["event/ack"] if kind.urgent else [])):
            assert f"scgw/v1/{key}/{{device_id}}/{suffix}" in addresses
        # A generated client must not wait for confirmations nobody sends, nor answer
        # commands nobody sends (vendor round 2).
        if not kind.urgent:
            assert f"scgw/v1/{key}/{{device_id}}/event/ack" not in addresses
        if not kind.commands:
            assert f"scgw/v1/{key}/{{device_id}}/cmd/ack" not in addresses
        event = doc["components"]["messages"][_camel(key, "event")]
        assert event["x-urgent"] == sorted(kind.urgent)
    # The server is the configured broker, not a placeholder.
    assert doc["servers"]["broker"]["host"] == api.gateway.settings.broker.url.split("//")[1]
    # Commands carry their argument model and expiry.
    opening = doc["components"]["messages"]["lockerCmdOpenCompartment"]["payload"]
    assert "expires_at" in opening["required"]
    assert "compartment" in opening["properties"]["args"]["required"]
    for ref in _refs(doc, set()):
        node = doc
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]  # KeyError = a dangling reference
    event = doc["components"]["messages"]["wristbandEvent"]["payload"]
    types = {re.sub(r".*/", "", r["$ref"]) for r in event["oneOf"]}
    assert {"SosEvent", "FallEvent"} <= types
    assert api.client.get("/openapi.json").status_code == 200
