"""CSV cells a spreadsheet would evaluate are neutralised (portal.tables, finding 14 of #21).

OWASP's CSV-injection advice: a cell whose first character is `= + - @`, tab or carriage return
is prefixed with a single quote. Spreadsheets skip leading blanks and read full-width operators
as formulas too, so the check looks past leading whitespace (ASCII and Unicode, the ideographic
space included, and invisible zero-width characters) and knows the full-width forms.
"""

from __future__ import annotations

import csv
import decimal
import io

import pytest

from portal.tables import Table, safe_cell, to_csv

HOSTILE = [
    "=1+1", "+1", "-1", "@x", "=HYPERLINK(\"http://evil.example/\",\"点此\")", "-2+3",
    "@SUM(A1:A2)", "=cmd|' /C calc'!A0",
    # Leading tab, carriage return or newline: a formula trigger by themselves (OWASP).
    "\tx", "\rx", "\nx", "\t=1+1", "\r=1+1", "\n=1+1", "\r\n@SUM(A1)",
    # Blanks before the operator: spreadsheets skip them.
    " =1+1", "  +1", " -1", " @x", "\x0b=1", "\x0c=1", "\xa0=1+1", "\u2003=1+1",
    "\u3000=1+1", "\u3000\u3000-1",
    # Invisible zero-width characters before the operator.
    "\u200b=1+1", "\ufeff=1+1", "\u2060@x",
    # Full-width operators (a Chinese input method types these), alone or after blanks.
    "＝1+1", "＋1", "－1", "＠SUM(A1)", "\u3000＝HYPERLINK(\"x\")", " ＋1",
    "＝cmd|' /C calc'!A0",
]

PLAIN = [
    "正常文本", "a=b", "1-2", "—", "2026-10-01 – 2026-10-09", "'quoted", "#12 关于干部任前公示",
    "1 (50%)", "3 (1/2)", "", " ", "\u3000", "\u3000正文", " text", "x\n=1", "名称＝值",
    "A+B", "50%", "−1",  # U+2212 MINUS SIGN: not an operator to a spreadsheet
]


@pytest.mark.parametrize("cell", HOSTILE)
def test_a_hostile_cell_is_prefixed_with_one_quote(cell: str) -> None:
    assert safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", PLAIN)
def test_an_ordinary_cell_is_kept(cell: str) -> None:
    assert safe_cell(cell) == cell


@pytest.mark.parametrize(("value", "shown"), [
    (None, ""), (0, "0"), (5, "5"), (-3, "-3"), (2.5, "2.5"), (-0.5, "-0.5"),
    (decimal.Decimal("-1.25"), "-1.25"),
])
def test_numbers_stay_numbers(value: object, shown: str) -> None:
    # The exports' own numbers (counts, medians) stay numeric, so a spreadsheet can sum them:
    # a Python number's text is digits, a sign and a point, never a formula.
    assert safe_cell(value) == shown


@pytest.mark.parametrize("value", [float("nan"), float("-inf"), decimal.Decimal("-Infinity"),
                                   True])
def test_odd_numbers_are_text(value: object) -> None:
    # Not a finite number (or a bool): written as text, neutralised like any other text.
    text = str(value)
    assert safe_cell(value) == ("'" + text if text.startswith("-") else text)


def test_a_number_given_as_text_is_text() -> None:
    # Text that looks like a negative number may come from a user: neutralised.
    assert safe_cell("-3") == "'-3"


def test_the_csv_file_carries_the_neutralised_cells() -> None:
    table = Table("t", "T", ["\u3000=H", "名称"],
                  [["＝cmd|' /C calc'!A0", -3, "\t=1+1", "正常"], [" @x", 0, "a\n=b", "x"]])
    data = to_csv(table)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert rows == [["'\u3000=H", "名称"],
                    ["'＝cmd|' /C calc'!A0", "-3", "'\t=1+1", "正常"],
                    ["' @x", "0", "a\n=b", "x"]]
