"""JMESPath expressions of a dialect, compiled once; plain paths run as direct lookups.

Most mappings are plain paths (`lat`, `data.hr`, `pos[0]`). The jmespath interpreter costs
about 3 µs per search, which alone would break the budget of a dialect decode (1.3 × our
own JSON path), so those are turned into a chain of dict/list lookups with JMESPath's
semantics (a missing key or a wrong type gives null). Everything else (functions, filters,
projections, `||`) runs through the library itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

Getter = Callable[[Any], Any]
ALL = "*"  # the expression reads the whole payload (`@`), not named fields


class ExpressionError(ValueError):
    """A JMESPath expression that does not parse."""


def _steps(node: dict[str, Any]) -> list[tuple[bool, Any]] | None:
    """The lookups of a plain path: (is_key, key or index); None when it is not plain."""
    kind = node["type"]
    if kind == "field":
        return [(True, node["value"])]
    if kind == "subexpression":
        out: list[tuple[bool, Any]] = []
        for child in node["children"]:
            steps = _steps(child)
            if steps is None:
                return None
            out += steps
        return out
    if kind == "index_expression":
        left, right = node["children"]
        steps = _steps(left)
        if steps is None or right["type"] != "index":
            return None
        return [*steps, (False, right["value"])]
    return None


def _chain(steps: list[tuple[bool, Any]]) -> Getter:
    if len(steps) == 1 and steps[0][0]:
        key = steps[0][1]

        def one(obj: Any) -> Any:
            return obj.get(key) if type(obj) is dict else None
        return one

    def walk(obj: Any) -> Any:
        for is_key, key in steps:
            if is_key:
                if type(obj) is not dict:
                    return None
                obj = obj.get(key)
            else:
                if type(obj) is not list:
                    return None
                try:
                    obj = obj[key]
                except IndexError:
                    return None
        return obj
    return walk


def _truthy(value: Any) -> bool:
    # JMESPath's notion of false: null, false, empty string/list/object (0 is true).
    return not (value is None or value is False or value in ("", [], {}))


def compile_getter(text: str) -> Getter:
    """A function payload → value for a JMESPath expression."""
    try:
        parsed = jmespath.compile(text)
    except JMESPathError as exc:
        raise ExpressionError(f"not a JMESPath expression: {exc}") from exc
    steps = _steps(parsed.parsed)
    if steps is not None:
        return _chain(steps)
    return parsed.search


def compile_condition(text: str) -> Callable[[Any], bool]:
    """A predicate for a `when`: the expression's value, JMESPath-truthy."""
    try:
        parsed = jmespath.compile(text)
    except JMESPathError as exc:
        raise ExpressionError(f"not a JMESPath expression: {exc}") from exc
    node = parsed.parsed
    if node["type"] == "comparator" and node["value"] in ("eq", "ne"):
        left, right = node["children"]
        steps = _steps(left)
        if steps is not None and right["type"] == "literal":
            get, want, equal = _chain(steps), right["value"], node["value"] == "eq"
            # JMESPath compares with strict types: 1 is not true and "1" is not 1.
            return lambda obj: (_same(get(obj), want)) is equal
    search = parsed.search
    return lambda obj: _truthy(search(obj))


def _same(a: Any, b: Any) -> bool:
    if type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a == b
    return a == b


def roots(text: str) -> frozenset[str]:
    """Top-level payload fields an expression reads (`*` when it reads the whole payload)."""
    return frozenset(_roots(jmespath.compile(text).parsed))


def _roots(node: dict[str, Any]) -> set[str]:
    kind = node["type"]
    children = node.get("children", [])
    if kind == "field":
        return {node["value"]}
    if kind in ("current", "identity"):
        return {ALL}
    if kind in ("literal", "index", "slice", "raw_string"):
        return set()
    if kind in ("subexpression", "index_expression", "pipe", "projection", "value_projection",
                "flatten", "filter_projection"):
        # Only the leftmost part reads the payload; the rest reads what it returned.
        return _roots(children[0]) if children else set()
    found: set[str] = set()
    for child in children:  # functions, comparisons, and/or/not, multi-selects
        found |= _roots(child)
    return found
