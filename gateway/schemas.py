"""JSON Schema of every payload, generated from the device models, for vendors and docs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from pydantic import TypeAdapter

from devices.base import CommandAck, Status
from devices.catalogue import CATALOGUE, KindCatalogue

SCHEMA_DIR = Path("docs/schemas")


def payload_schemas(catalogue: KindCatalogue = CATALOGUE) -> dict[str, dict[str, Any]]:
    """File name → JSON Schema, one per kind and channel, plus the shared status and ack."""
    out: dict[str, dict[str, Any]] = {}
    for key, kind in catalogue.kinds.items():
        out[f"{key}.telemetry.json"] = _schema(
            TypeAdapter(kind.telemetry), f"{kind.name_en} telemetry ({kind.name_zh})"
        )
        out[f"{key}.event.json"] = _schema(
            catalogue.event_adapter(key), f"{kind.name_en} events: {', '.join(kind.vocabulary())}"
        )
    out["status.json"] = _schema(TypeAdapter(Status), "Device status (presence), every kind")
    out["cmd_ack.json"] = _schema(TypeAdapter(CommandAck), "Command result, every kind")
    return out


def _schema(adapter: TypeAdapter[Any], title: str) -> dict[str, Any]:
    schema = adapter.json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = title
    return schema


def render(schema: dict[str, Any]) -> bytes:
    """Stable, reviewable bytes for a committed schema file."""
    return orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


def export(folder: Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema into `folder`, removing stale files; return the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    schemas = payload_schemas()
    for old in folder.glob("*.json"):
        if old.name not in schemas:
            old.unlink()
    written = []
    for name, schema in schemas.items():
        path = folder / name
        path.write_bytes(render(schema))
        written.append(path)
    return written
