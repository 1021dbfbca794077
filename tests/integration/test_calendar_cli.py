"""`flask --app wsgi calendar …` against a real (migrated) database.

Assertions use dates, years and exit codes, never English words, because the CLI speaks the
configured default language.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from portal import db, workdays
from portal.models import AuditEntry, CalendarDay, CalendarOverride, CalendarYear

# The shape of PRODUCT.md's example; these are NOT the real 2027 holidays (not yet published).
SCHEDULE_2027: dict[str, Any] = {
    "year": 2027,
    "source": "国务院办公厅关于2027年部分节假日安排的通知（测试数据）",
    "holidays": [["2027-01-01", "2027-01-03"], ["2027-02-06", "2027-02-13"]],
    "workdays": ["2027-02-20"],
}


def _state(app: Flask) -> dict[str, object]:
    """Everything a calendar command may write."""
    with app.app_context():
        session = db.session()
        counts: dict[str, object] = {
            model.__tablename__: session.scalar(select(func.count()).select_from(model))
            for model in (CalendarOverride, CalendarYear, CalendarDay, AuditEntry)
        }
        counts["overrides"] = sorted(tuple(row) for row in session.execute(
            select(CalendarOverride.day, CalendarOverride.is_workday, CalendarOverride.origin)
        ))
        counts["last_day"] = session.scalar(select(func.max(CalendarDay.day)))
        return counts


def _audit_actions(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        return [(row.action, row.target) for row in db.session().execute(
            select(AuditEntry.action, AuditEntry.target).order_by(AuditEntry.seq)
        )]


def _not_loaded_message(app: Flask, year: int) -> str:
    with app.app_context():
        return workdays.year_not_loaded_message(year)


def _write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_period_of_an_ordinary_week(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["calendar", "period", "2026-11-30"])
    assert result.exit_code == 0, result.output
    [line] = result.output.splitlines()
    assert "2026-11-30" in line
    assert "2026-12-04" in line


def test_period_start_on_a_holiday_moves_and_says_so(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["calendar", "period", "2026-10-01"])
    assert result.exit_code == 0, result.output
    moved, period = result.output.splitlines()
    assert "2026-10-01" in moved
    assert "2026-10-08" in moved
    assert "2026-10-08" in period
    assert "2026-10-13" in period


def test_period_with_more_days(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["calendar", "period", "2026-09-30", "--days", "10"])
    assert result.exit_code == 0, result.output
    assert "2026-10-19" in result.output


@pytest.mark.parametrize("days", ["4", "0", "-1"])
def test_period_shorter_than_five_days_is_a_usage_error(runner: FlaskCliRunner, days: str) -> None:
    result = runner.invoke(args=["calendar", "period", "2026-11-30", "--days", days])
    assert result.exit_code == 2
    assert "--days" in result.output
    assert "2026-12" not in result.output


@pytest.mark.parametrize("start", ["2026-02-30", "20261130", "2026/11/30", "tomorrow"])
def test_period_with_a_bad_date_is_a_usage_error(runner: FlaskCliRunner, start: str) -> None:
    result = runner.invoke(args=["calendar", "period", start])
    assert result.exit_code == 2
    assert start in result.output


@pytest.mark.parametrize("start", ["2026-12-28", "2027-03-01"])
def test_period_needing_an_unloaded_year_fails(
    app: Flask, runner: FlaskCliRunner, start: str
) -> None:
    result = runner.invoke(args=["calendar", "period", start])
    assert result.exit_code == 1
    assert _not_loaded_message(app, 2027) in result.output
    assert "2027" in _not_loaded_message(app, 2027)


def test_show_a_package_year(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["calendar", "show", "2026"])
    assert result.exit_code == 0, result.output
    header, *lines = result.output.splitlines()
    assert "2026" in header
    # 19 weekday holidays and 6 make-up weekend days in the 2026 schedule.
    assert len(lines) == 25
    by_day = {line.split()[0]: line.split() for line in lines}
    assert by_day["2026-10-01"][1] == "Thu"
    assert by_day["2026-10-01"][3] == "chinesecalendar"
    assert by_day["2026-02-14"][1] == "Sat"
    assert by_day["2026-02-14"][2] != by_day["2026-10-01"][2]  # workday vs holiday
    assert "2026-11-30" not in by_day


def test_show_an_unloaded_year_fails(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["calendar", "show", "2027"])
    assert result.exit_code == 1
    assert _not_loaded_message(app, 2027) in result.output


def test_show_rejects_an_impossible_year(runner: FlaskCliRunner) -> None:
    assert runner.invoke(args=["calendar", "show", "0"]).exit_code == 2


def test_set_overrides_a_day_and_is_audited(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["calendar", "set", "2026-12-02", "holiday"])
    assert result.exit_code == 0, result.output
    assert "2026-12-02" in result.output
    assert _audit_actions(app)[-1] == ("calendar.set", "2026-12-02")
    result = runner.invoke(args=["calendar", "period", "2026-11-30"])
    assert "2026-12-07" in result.output
    shown = runner.invoke(args=["calendar", "show", "2026"]).output.splitlines()
    assert any(line.startswith("2026-12-02 Wed") and line.endswith("manual") for line in shown)


def test_set_in_an_unloaded_year_does_not_load_it(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["calendar", "set", "2027-03-01", "holiday"])
    assert result.exit_code == 0, result.output
    assert "2027" in result.output.splitlines()[-1]  # the reminder that 2027 is not loaded
    shown = runner.invoke(args=["calendar", "show", "2027"])
    assert shown.exit_code == 0, shown.output
    [line] = shown.output.splitlines()[1:]
    assert line.startswith("2027-03-01 Mon")
    assert line.endswith("manual")
    result = runner.invoke(args=["calendar", "period", "2027-03-02"])
    assert result.exit_code == 1
    assert _not_loaded_message(app, 2027) in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["calendar", "set", "2026-13-01", "holiday"],
        ["calendar", "set", "2026-12-02", "weekend"],
        ["calendar", "set", "2026-12-02"],
    ],
)
def test_set_with_bad_input_is_a_usage_error(
    app: Flask, runner: FlaskCliRunner, args: list[str]
) -> None:
    before = _state(app)
    assert runner.invoke(args=args).exit_code == 2
    assert _state(app) == before


def test_import_loads_a_year(app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    path = _write_json(tmp_path / "2027.json", SCHEDULE_2027)
    result = runner.invoke(args=["calendar", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "2027" in result.output
    assert _audit_actions(app)[-1] == ("calendar.import", "2027")
    state = _state(app)
    assert state["calendar_year"] == 1
    assert str(state["last_day"]) == "2029-12-31"
    result = runner.invoke(args=["calendar", "period", "2027-02-17"])
    assert result.exit_code == 0, result.output
    assert "2027-02-22" in result.output  # the make-up Saturday 2027-02-20 counts
    shown = runner.invoke(args=["calendar", "show", "2027"])
    assert shown.exit_code == 0, shown.output
    assert SCHEDULE_2027["source"] in shown.output
    days = {line.split()[0]: line.split()[-1] for line in shown.output.splitlines()[1:]}
    assert days == {"2027-01-01": "import", "2027-02-08": "import", "2027-02-09": "import",
                    "2027-02-10": "import", "2027-02-11": "import", "2027-02-12": "import",
                    "2027-02-20": "import"}


def test_import_accepts_a_byte_order_mark(runner: FlaskCliRunner, tmp_path: Path) -> None:
    path = tmp_path / "2027.json"
    path.write_text(json.dumps(SCHEDULE_2027, ensure_ascii=False), encoding="utf-8-sig")
    result = runner.invoke(args=["calendar", "import", str(path)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (json.dumps({**SCHEDULE_2027, "holidays": [["2027-01-01", "2027-01-05"],
                                                   ["2027-01-04", "2027-01-06"]]}),
         ["holidays[0]", "holidays[1]", "2027-01-04"]),
        (json.dumps({**SCHEDULE_2027, "workdays": ["2027-02-22", "2027-13-01"]}),
         ["workdays[0]", "2027-02-22", "workdays[1]", "2027-13-01"]),
        (json.dumps({**SCHEDULE_2027, "holidays": [["2028-01-01", "2028-01-03"]]}),
         ["holidays[0][0]", "2028-01-01", "holidays[0][1]", "2028-01-03"]),
        ('{"year": 2027, "source": "x", "holidays": [], "workdays": [], "year": 2028}', ["year"]),
        ('{"year": 2027, "source": "x", "holidays": [', []),
        ("[]", []),
    ],
)
def test_refused_import_lists_problems_and_writes_nothing(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, content: str, named: list[str]
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    before = _state(app)
    result = runner.invoke(args=["calendar", "import", str(path)])
    assert result.exit_code == 1
    for text in named:
        assert text in result.output
    assert _state(app) == before


def test_import_of_a_file_that_is_not_utf8_writes_nothing(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "gbk.json"
    path.write_bytes(json.dumps(SCHEDULE_2027, ensure_ascii=False).encode("gbk"))
    before = _state(app)
    assert runner.invoke(args=["calendar", "import", str(path)]).exit_code == 1
    assert _state(app) == before


def test_import_of_a_missing_file_is_a_usage_error(runner: FlaskCliRunner, tmp_path: Path) -> None:
    result = runner.invoke(args=["calendar", "import", str(tmp_path / "none.json")])
    assert result.exit_code == 2
