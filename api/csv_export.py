"""CSV downloads for spreadsheet programs: UTF-8 with BOM, and no cell that a spreadsheet
would run as a formula.

Audit rows carry text that other people chose — a username as typed at the login form, a
browser's User-Agent, a resident id a family account put in a URL (refused reads are
audited too) — so every exported text cell is checked: one that would start a formula
(`=`, `+`, `-`, `@`, also after leading blanks or in their full-width forms, or a leading
tab or carriage return) is prefixed with `'` and stays text.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from fastapi import Response

FORMULA_STARTS = frozenset("=+-@＝＋－＠")
_BLANKS = " \u00a0\u3000\t\r\n\x0b\x0c"


def cell(value: Any) -> Any:
    """`value`, made inert if a spreadsheet would read it as a formula."""
    if not isinstance(value, str) or not value:
        return value
    if value[0] in "\t\r\n" or value.lstrip(_BLANKS)[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def csv_response(rows: Iterable[dict[str, Any]], columns: list[str], name: str) -> Response:
    """`rows` (only `columns`, in that order) as a CSV attachment called `name`."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: cell(v) for k, v in row.items()})
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})
