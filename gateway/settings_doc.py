"""A reference table of every setting, generated from the pydantic models (docs/settings.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from gateway.settings import Settings

_ROOT = Path(__file__).resolve().parent.parent


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "(required)"
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return "(section)"
    if isinstance(value, SecretStr):
        return "(secret)"
    if value is None or value == "":
        return ""
    if isinstance(value, Path) and value.is_absolute() and value.is_relative_to(_ROOT):
        value = value.relative_to(_ROOT)  # files shipped in the package, wherever it lives
    return f"`{value}`"


def _rows(model: type[BaseModel], prefix: str, env: str) -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            rows += _rows(annotation, f"{prefix}{name}.", f"{env}{name.upper()}__")
            continue
        rows.append(f"| `{prefix}{name}` | `{env}{name.upper()}` | {_default(field)} "
                    f"| {field.description or ''} |")
    return rows


def render() -> str:
    """The whole Markdown page."""
    head = [
        "# Settings reference",
        "",
        "Generated from `gateway/settings/` by `scgw settings doc` (a test fails when this",
        "page is stale). Set them in the environment (`SCGW_<SECTION>__<FIELD>`) or in a YAML",
        "file named by `SCGW_CONFIG` / `--config`, using the dotted names as nested keys.",
        "Unknown keys are refused; secrets come from the environment, and",
        "`environment: production` refuses the development JWT secret and the embedded broker.",
        "",
        "| setting | environment variable | default | meaning |",
        "|---|---|---|---|",
    ]
    return "\n".join(head + _rows(Settings, "", "SCGW_")) + "\n"
