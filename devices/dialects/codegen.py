"""Field mappings compiled into one Python function per message target.

A closure per field cost a call per field and then some; a dialect decode must stay within
1.3 × our own JSON path. So the fields of a target are written out as straight-line code:
dict lookups inlined, the common conversions (a number that already is one, epoch seconds)
inlined, the rest calling the converter. No text of the dialect file enters the generated
source: keys, constants and converters are passed in as named values, so a dialect can
never inject code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jmespath

from devices.dialects.convert import MS_SINCE_2000, converter
from devices.dialects.errors import DialectError, Loc
from devices.dialects.expr import ExpressionError, _steps, compile_getter, roots
from devices.dialects.model import FieldRule, FieldSpec
from devices.errors import PayloadError

RECEIVED_AT = "received_at"
Builder = Callable[[dict[str, Any], int], dict[str, Any]]
_UNIT = {"s": 1000, "ms": 1, "us": 0.001}


def as_rule(spec: FieldSpec) -> FieldRule:
    """A field spec as a rule (a plain string is a `path`)."""
    return FieldRule(path=spec) if isinstance(spec, str) else spec


def field_roots(spec: FieldSpec, loc: Loc) -> frozenset[str]:
    """The top-level vendor fields a field reads (a bad expression names its field)."""
    rule = as_rule(spec)
    if rule.fields is not None:
        return frozenset().union(*(field_roots(s, (*loc, "fields", n))
                                   for n, s in rule.fields.items()))
    if rule.path is None:
        return frozenset()
    try:
        return roots(rule.path)
    except jmespath.exceptions.JMESPathError as exc:
        raise DialectError(f"not a JMESPath expression: {exc}", loc=(*loc, "path")) from exc


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.names: dict[str, Any] = {"PayloadError": PayloadError}
        self._n = 0

    def const(self, value: Any) -> str:
        self._n += 1
        name = f"_k{self._n}"
        self.names[name] = value
        return name

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)


def _get(w: _Writer, rule: FieldRule, loc: Loc, depth: int) -> None:
    """Code that leaves the path's value (or None) in `v`."""
    assert rule.path is not None
    try:
        parsed = jmespath.compile(rule.path).parsed
        steps = _steps(parsed)
        getter = compile_getter(rule.path) if steps is None else None
    except (ExpressionError, jmespath.exceptions.JMESPathError) as exc:
        raise DialectError(f"not a JMESPath expression: {exc}", loc=(*loc, "path")) from exc
    if steps is None:
        w.emit(depth, f"v = {w.const(getter)}(obj)")
        return
    first = True
    for is_key, key in steps:
        k = w.const(key)
        if first and is_key:
            w.emit(depth, f"v = obj.get({k})")
        elif is_key:
            w.emit(depth, f"v = v.get({k}) if type(v) is dict else None")
        else:
            src = "obj" if first else "v"
            w.emit(depth, f"v = {src}[{k}] if type({src}) is list and "
                          f"-len({src}) <= {k} < len({src}) else None")
        first = False


def _convert(w: _Writer, rule: FieldRule, target: str) -> str:
    """The expression converting `v` for `target` (fast paths inline)."""
    general = converter(rule)
    if general is None:
        return "v"
    call = f"{w.const(general)}(v)"
    simple = rule.split is None and rule.table is None and rule.scale is None \
        and rule.offset is None and rule.digits is None
    if not simple:
        return call
    number = "(type(v) is int or type(v) is float)"
    if rule.convert == "integer":
        return f"v if type(v) is int else {call}"
    if rule.convert in ("number", "percent"):
        return f"v if {number} else {call}"  # JSON numbers are finite (orjson refuses NaN)
    if rule.convert == "time":
        # Whole numbers below what would be milliseconds since 2000 only: a float may be
        # infinite (a lenient read of `1e400`), and a time in ms where seconds are due gets
        # the converter's own refusal naming it (red team, round 2).
        return (f"round(v * {w.const(_UNIT[rule.unit])}) if type(v) is int and "
                f"v < {MS_SINCE_2000} else {call}")
    return call


def _field(w: _Writer, name: str, spec: FieldSpec, loc: Loc, target: str,
           depth: int) -> None:
    rule = as_rule(spec)
    key = w.const(name)
    label = w.const(".".join(str(p) for p in loc if p != "fields")[-60:] or name)
    if rule.otherwise == RECEIVED_AT and loc[-1] != "ts":
        raise DialectError("`otherwise: received_at` is only for `ts`", loc=loc)
    if rule.fields is not None:
        sub = f"s{len(w.lines)}"
        w.emit(depth, f"{sub} = {{}}")
        for child, child_spec in rule.fields.items():
            _field(w, child, child_spec, (*loc, "fields", child), sub, depth)
        w.emit(depth, f"if {sub}:")
        w.emit(depth + 1, f"{target}[{key}] = {sub}")
        if rule.required:
            w.emit(depth, "else:")
            w.emit(depth + 1, f"raise PayloadError({label} + ': no value')")
        return
    if rule.value is not None:
        w.emit(depth, f"{target}[{key}] = {w.const(rule.value)}")
        return
    _get(w, rule, loc, depth)
    w.emit(depth, "if v is None:")
    if rule.otherwise == RECEIVED_AT:
        w.emit(depth + 1, f"{target}[{key}] = now_ms")
    elif rule.otherwise is not None:
        w.emit(depth + 1, f"{target}[{key}] = {w.const(rule.otherwise)}")
    elif rule.required:
        missing = w.const(f"the vendor payload has no {rule.path!r}")
        w.emit(depth + 1, f"raise PayloadError({label} + ': ' + {missing})")
    else:
        w.emit(depth + 1, "pass")
    w.emit(depth, "else:")
    expr = _convert(w, rule, target)
    if expr != "v":
        w.emit(depth + 1, f"f = {label}")
    w.emit(depth + 1, f"{target}[{key}] = {expr}")


def compile_fields(fields: dict[str, FieldSpec], loc: Loc) -> Builder:
    """One function (vendor payload, receipt epoch ms) → our fields, for these mappings."""
    w = _Writer()
    w.emit(0, "def build(obj, now_ms):")
    w.emit(1, "out = {}")
    w.emit(1, "f = ''")
    w.emit(1, "try:")
    for name, spec in fields.items():
        _field(w, name, spec, (*loc, "fields", name), "out", 2)
    w.emit(2, "pass")
    w.emit(1, "except PayloadError as exc:")
    w.emit(2, "raise PayloadError(f + ': ' + str(exc) if f else str(exc), "
              "reason=exc.reason) from exc")
    w.emit(1, "return out")
    source = "\n".join(w.lines)
    namespace = dict(w.names)
    exec(compile(source, f"<dialect {'.'.join(map(str, loc))}>", "exec"), namespace)
    return namespace["build"]  # type: ignore[no-any-return]
