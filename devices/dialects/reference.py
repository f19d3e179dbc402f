"""The dialect-file reference, generated from the pydantic model (for docs/vendor-guide.md)."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from devices.dialects.model import (
    Dialect,
    EventMap,
    Example,
    FieldRule,
    HubStatus,
    MessageRule,
    TopicSpec,
)

SECTIONS: tuple[tuple[str, type[BaseModel]], ...] = (
    ("Dialect file (top level)", Dialect),
    ("`topics[]`", TopicSpec),
    ("`hub_status`", HubStatus),
    ("`messages[]`", MessageRule),
    ("`messages[].event`", EventMap),
    ("`messages[].fields.<our field>`", FieldRule),
    ("`examples[]`", Example),
)


_NAMES = {str: "text", int: "integer", float: "number", bool: "boolean", type(None): "null"}


def _name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " / ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_name(a) for a in args if a is not type(None))
    if origin is list:
        return f"list of {_name(args[0])}"
    if origin is dict:
        return f"map of {_name(args[0])} → {_name(args[1])}"
    if annotation is typing.Any:
        return "any JSON"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation.__name__
    if isinstance(annotation, str):  # a forward reference: `FieldSpec`
        return "text or FieldRule" if annotation == "FieldSpec" else annotation
    return _NAMES.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _type(annotation: Any) -> str:
    return _name(annotation).replace("|", "\\|")


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    factory = info.default_factory
    value = factory() if factory is not None else info.default  # type: ignore[call-arg]
    if value is PydanticUndefined or value in (None, "", [], {}):
        return ""
    return f"`{value}`"


def render() -> str:
    """Markdown tables of every dialect-file field: name, type, default, meaning."""
    out: list[str] = []
    for title, model in SECTIONS:
        out += [f"#### {title}", "", (model.__doc__ or "").strip(), "",
                "| field | type | default | meaning |", "|---|---|---|---|"]
        for name, info in model.model_fields.items():
            meaning = (info.description or "").replace("|", "\\|").replace("\n", " ")
            out.append(f"| `{name}` | {_type(info.annotation)} | {_default(info)} | {meaning} |")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
