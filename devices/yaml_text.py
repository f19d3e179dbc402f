"""YAML read with libyaml's safe loader when PyYAML has it (ten times faster than the pure-
Python one: every gateway start and every test that builds one parses the rule packs)."""

from __future__ import annotations

from typing import Any

import yaml

_SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str | bytes) -> Any:
    """The document in `text` (safe types only; yaml.YAMLError if it is not YAML)."""
    return yaml.load(text, Loader=_SafeLoader)
