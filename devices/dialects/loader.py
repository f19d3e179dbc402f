"""Loading dialect files: the built-in ones and those of a configured folder, with line numbers.

Every error names the file, the line and the field (`acme.yaml:14: messages.0.fields.hr:
…`), whether it comes from YAML, from the pydantic model or from compiling the mappings.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from devices.catalogue import CATALOGUE, KindCatalogue
from devices.dialects.engine import DialectCodec
from devices.dialects.errors import DialectError, Loc
from devices.dialects.model import Dialect
from devices.yaml_text import load_yaml

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"
SUFFIXES = (".yaml", ".yml")


def _lines(node: yaml.Node, path: Loc, out: dict[Loc, int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key.start_mark.line)
            out[(*path, name)] = key.start_mark.line + 1
            _lines(value, (*path, name), out)
            out[(*path, name)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), out)


def _line_of(lines: dict[Loc, int], loc: Loc) -> int | None:
    for end in range(len(loc), -1, -1):
        found = lines.get(tuple(loc[:end]))
        if found is not None:
            return found
    return None


def _clean_loc(loc: tuple[Any, ...]) -> Loc:
    # pydantic adds the union member it tried (`str`, `FieldRule`, validators) to the location.
    return tuple(p for p in loc if not (isinstance(p, str) and (
        p in ("str", "FieldRule") or p.startswith(("function-", "dict[")))))


def parse(text: str, file: Path | str, catalogue: KindCatalogue = CATALOGUE) -> DialectCodec:
    """Validate and compile the text of one dialect file."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DialectError(f"not YAML: {getattr(exc, 'problem', exc)}", file=file,
                           line=mark.line + 1 if mark else None) from exc
    lines: dict[Loc, int] = {}
    if node is not None:
        _lines(node, (), lines)
    if not isinstance(data, dict):
        raise DialectError("a dialect file holds one mapping (dialect, kinds, messages, …)",
                           file=file, line=1)
    try:
        dialect = Dialect.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        # A field may be a string or a rule: the deepest location is the one that explains
        # (`…hr.convert: Input should be …`, not `…hr: Input should be a valid string`).
        first = max(errors, key=lambda e: len(_clean_loc(e["loc"])))
        loc = _clean_loc(first["loc"])
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        raise DialectError(first["msg"] + more, loc=loc, file=file,
                           line=_line_of(lines, loc)) from exc
    try:
        return DialectCodec(dialect, catalogue)
    except DialectError as exc:
        raise exc.located(file, _line_of(lines, exc.loc)) from exc


def load_file(path: Path, catalogue: KindCatalogue = CATALOGUE) -> DialectCodec:
    """One dialect file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DialectError(f"cannot read: {exc}", file=path) from exc
    codec = parse(text, path, catalogue)
    codec.source = path
    return codec


def dialect_files(folder: Path) -> list[Path]:
    """The dialect files of a folder, in name order."""
    if not folder.is_dir():
        raise DialectError("no such folder", file=folder)
    return sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file())


def load_folders(folders: Iterable[Path],
                 catalogue: KindCatalogue = CATALOGUE) -> list[DialectCodec]:
    """Every dialect of the folders; a name used twice is an error naming both files."""
    found: dict[str, DialectCodec] = {}
    for folder in folders:
        for path in dialect_files(folder):
            codec = load_file(path, catalogue)
            twin = found.get(codec.name)
            if twin is not None:
                raise DialectError(f"dialect {codec.name!r} is also defined in {twin.source}",
                                   loc=("dialect",), file=path)
            found[codec.name] = codec
    return list(found.values())
