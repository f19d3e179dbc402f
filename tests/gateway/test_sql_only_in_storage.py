"""SQL lives in one place: no SQL text, no sqlite3 and no raw connection outside
gateway/storage/."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("api", "devices", "gateway", "mqttwire", "rules", "simulators")
ALLOWED = ROOT / "gateway" / "storage"
# A string that starts like a statement (after optional whitespace), in any case.
_SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|PRAGMA|BEGIN|COMMIT|"
                  r"WITH|REPLACE)\s", re.IGNORECASE)
_SQL_INSIDE = re.compile(r"\b(SELECT\s.+\sFROM|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b",
                         re.IGNORECASE | re.DOTALL)
# A fragment that only a query contains, wherever it starts (a WHERE clause handed to a helper).
_SQL_FRAGMENT = re.compile(r"\b(SELECT\s+\w+(\s*,\s*\w+)*\s+FROM\s+\w+|FROM\s+\w+\s+WHERE|"
                           r"INSERT\s+(OR\s+\w+\s+)?INTO\s+\w+|\w+\s*=\s*\?)",
                           re.IGNORECASE)


def _offences(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + ([node.module] if isinstance(
                node, ast.ImportFrom) and node.module else [])
            if any(n == "sqlite3" or n.startswith("sqlite3.") for n in names):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: imports sqlite3")
        elif isinstance(node, ast.Attribute) and node.attr == "connection":
            # A unit of work hands out repositories; its raw connection stays in storage.
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: uses a raw `.connection`")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if (_SQL.match(text) and _SQL_INSIDE.search(text)) or _SQL_FRAGMENT.search(text):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: SQL {text[:40]!r}")
        elif isinstance(node, ast.JoinedStr):
            # An interpolated value reads as a word, so "SELECT {cols} FROM t" still matches.
            parts = "".join(v.value if isinstance(v, ast.Constant) and isinstance(v.value, str)
                            else "x" for v in node.values)
            if (_SQL.match(parts) and _SQL_INSIDE.search(parts)) or _SQL_FRAGMENT.search(parts):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: SQL {parts[:40]!r}")
    return found


def test_no_sql_and_no_sqlite3_outside_storage():
    offences = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if ALLOWED in path.parents:
                continue
            offences += _offences(path)
    assert not offences, "SQL belongs in gateway/storage/:\n" + "\n".join(offences)


def test_the_walk_would_see_sql():
    probe = ROOT / "gateway" / "storage" / "sqlite.py"
    assert _offences(probe), "the detector finds nothing in the one place SQL lives"
