"""Tables shown on a page and downloaded as CSV (supervision dashboard, compliance panel)."""

from __future__ import annotations

import csv
import decimal
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    """One table of a page: a title, column headers and rows (also its CSV)."""

    name: str
    title: str
    headers: Sequence[str]
    rows: list[list[object]]


# A cell whose first visible character is one of these is a formula to a spreadsheet (CSV
# injection): ASCII and full-width operators, since spreadsheets read both.
_OPERATORS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
# A leading tab, carriage return or line feed is a trigger by itself (OWASP).
_CONTROLS = ("\t", "\r", "\n")
# Leading blanks a spreadsheet skips before the operator: Unicode whitespace (\s, the
# ideographic space U+3000 included) and the invisible zero-width space, non-joiner, joiner,
# word joiner and BOM, which \s does not count.
_LEADING_BLANKS = re.compile(r"^[\s\u200b\u200c\u200d\u2060\ufeff]+")


def _is_number(value: object) -> bool:
    """A finite number the code produced: its text is a sign, digits and a point, never a
    formula, so it stays a number a spreadsheet can sum."""
    if isinstance(value, bool) or not isinstance(value, int | float | decimal.Decimal):
        return False
    return isinstance(value, int) or math.isfinite(value)


def safe_cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never evaluates (prefixed with one `'`
    when its first character after whitespace is an operator, or it starts with tab/CR/LF)."""
    if value is None:
        return ""
    text = str(value)
    if _is_number(value):
        return text
    first = _LEADING_BLANKS.sub("", text, count=1)[:1]
    hostile = text.startswith(_CONTROLS) or first in _OPERATORS
    return "'" + text if hostile else text


def to_csv(table: Table) -> bytes:
    """UTF-8 with a BOM, so Excel opens Chinese correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in table.headers])
    for row in table.rows:
        writer.writerow([safe_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
