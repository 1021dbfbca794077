"""The working-day calendar on real holiday seasons (State Council schedules for 2025 and 2026).

Expectations are the official schedules as shipped in chinesecalendar 1.11, which covers
2004–2026: 2027 is the first year not loaded. When a release adds 2027, the tests that need an
unloaded year fail at `test_installed_package_ends_with_2026` first; move them to 2028.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import chinese_calendar
import pytest
from flask import Flask
from flask_babel import Babel
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from portal import audit, state
from portal.config import Config
from portal.db import Base
from portal.models import AuditEntry, CalendarDay, CalendarOverride, CalendarYear
from portal.workdays import (
    CalendarImportError,
    Deadline,
    Period,
    PeriodTooShort,
    WorkCalendar,
    YearNotLoaded,
    deadline,
    import_year,
    load_calendar,
    missing_next_year,
    parse_import,
    publicity_period,
    rebuild_days,
    set_override,
    working_days_left,
    year_not_loaded_message,
)

D = date.fromisoformat

# The shape of PRODUCT.md's example; these are NOT the real 2027 holidays (not yet published).
# 2027-01-01 is a Friday, 2027-02-06 and 2027-02-20 are Saturdays.
SCHEDULE_2027: dict[str, Any] = {
    "year": 2027,
    "source": "国务院办公厅关于2027年部分节假日安排的通知（测试数据）",
    "holidays": [["2027-01-01", "2027-01-03"], ["2027-02-06", "2027-02-13"]],
    "workdays": ["2027-02-20"],
}

PACKAGE = WorkCalendar()  # the package alone, as on a fresh installation


@pytest.fixture
def db() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        yield session
    engine.dispose()


@pytest.fixture
def app_context(tmp_path: Path) -> Iterator[None]:
    """What the writers need: an app with an audit key, an instance folder (the audit
    chain's head is kept there) and gettext."""
    app = Flask(__name__)
    state.set_secrets(app, SimpleNamespace(audit_mac_key=b"k" * 32))
    state.set_config(app, Config(instance_path=tmp_path))
    Babel(app)
    with app.app_context():
        yield


@pytest.fixture
def writer(db: Session, app_context: None) -> Session:
    """A session on which set_override and import_year can run."""
    return db


def count(db: Session, model: type[Base]) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def days(db: Session) -> dict[date, CalendarDay]:
    return {row.day: row for row in db.scalars(select(CalendarDay))}


def test_installed_package_ends_with_2026() -> None:
    assert PACKAGE.is_loaded(2025)
    assert PACKAGE.is_loaded(2026)
    assert not PACKAGE.is_loaded(2027), "chinesecalendar now covers 2027: see module docstring"
    assert not PACKAGE.is_loaded(2003)
    assert PACKAGE.latest_loaded_year() == 2026


def test_make_up_days_used_below_are_real() -> None:
    # The 调休 Saturdays/Sundays and holidays these tests rely on, straight from the package.
    for day in ("2025-09-28", "2025-10-11", "2026-02-14", "2026-02-28", "2026-10-10"):
        assert D(day).weekday() >= 5
        assert chinese_calendar.is_workday(D(day))
    for day in ("2025-10-01", "2025-10-08", "2026-02-16", "2026-02-23", "2026-10-01", "2026-10-07"):
        assert D(day).weekday() < 5
        assert not chinese_calendar.is_workday(D(day))


def test_ordinary_week() -> None:
    assert publicity_period(PACKAGE, D("2026-11-30")) == Period(
        requested_start=D("2026-11-30"), start=D("2026-11-30"), end=D("2026-12-04"),
        working_days=5, moved=False,
    )


@pytest.mark.parametrize(
    ("requested", "start", "end"),
    [
        # Spring Festival 2026: holiday 2026-02-15..23, make-up Saturdays 02-14 and 02-28.
        ("2026-02-14", "2026-02-14", "2026-02-27"),  # starts on the make-up Saturday
        ("2026-02-12", "2026-02-12", "2026-02-25"),  # counts 02-14, then jumps the holiday
        ("2026-02-28", "2026-02-28", "2026-03-05"),
        # National Day 2025: holiday 10-01..08, make-up 09-28 (Sunday) and 10-11 (Saturday).
        ("2025-09-28", "2025-09-28", "2025-10-10"),
        ("2025-09-30", "2025-09-30", "2025-10-13"),  # counts the make-up Saturday 10-11
        # National Day 2026: holiday 10-01..07, make-up Saturday 10-10.
        ("2026-09-30", "2026-09-30", "2026-10-12"),
    ],
)
def test_periods_across_holiday_seasons(requested: str, start: str, end: str) -> None:
    period = publicity_period(PACKAGE, D(requested))
    assert (period.start, period.end, period.moved) == (D(start), D(end), False)


@pytest.mark.parametrize(
    ("requested", "start", "end"),
    [
        ("2026-02-15", "2026-02-24", "2026-02-28"),  # Sunday in the holiday; ends on make-up day
        ("2026-02-18", "2026-02-24", "2026-02-28"),  # a Wednesday in the Spring Festival
        ("2025-10-01", "2025-10-09", "2025-10-14"),
        ("2026-10-01", "2026-10-08", "2026-10-13"),
        ("2026-11-28", "2026-11-30", "2026-12-04"),  # an ordinary Saturday
    ],
)
def test_non_working_start_moves_to_next_working_day(requested: str, start: str, end: str) -> None:
    period = publicity_period(PACKAGE, D(requested))
    assert period == Period(D(requested), D(start), D(end), 5, moved=True)


def test_longer_period_across_national_day_2026() -> None:
    # 09-30, then 10-08, 09, 10 (Saturday), 12, 13, 14, 15, 16, 19.
    assert publicity_period(PACKAGE, D("2026-09-30"), 10).end == D("2026-10-19")


@pytest.mark.parametrize("working_days", [4, 1, 0, -5])
def test_period_shorter_than_five_working_days_is_refused(working_days: int) -> None:
    with pytest.raises(PeriodTooShort):
        publicity_period(PACKAGE, D("2026-11-30"), working_days)


def test_period_ending_on_the_last_loaded_day_is_allowed() -> None:
    assert publicity_period(PACKAGE, D("2026-12-25")).end == D("2026-12-31")


@pytest.mark.parametrize("start", ["2026-12-28", "2026-12-31", "2027-03-01", "2027-01-01"])
def test_period_needing_an_unloaded_year_is_refused(start: str) -> None:
    with pytest.raises(YearNotLoaded) as info:
        publicity_period(PACKAGE, D(start))
    assert info.value.year == 2027


def test_year_not_loaded_message_names_the_year() -> None:
    assert year_not_loaded_message(2027) == (
        "The 2027 holiday schedule has not been published yet. "
        "Ask an administrator to import it before publishing."
    )


@settings(database=None)  # no example database left in the working tree
@given(
    start=st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31)),
    working_days=st.integers(min_value=5, max_value=20),
)
def test_period_holds_exactly_n_working_days(start: date, working_days: int) -> None:
    if len(chinese_calendar.get_workdays(start, date(2026, 12, 31))) < working_days:
        # The period would run into 2027: refused, never guessed.
        with pytest.raises(YearNotLoaded):
            publicity_period(PACKAGE, start, working_days)
        return
    period = publicity_period(PACKAGE, start, working_days)
    assert len(chinese_calendar.get_workdays(period.start, period.end)) == working_days
    assert chinese_calendar.is_workday(period.start)
    assert chinese_calendar.is_workday(period.end)
    # Nothing working was skipped when the start moved.
    assert not chinese_calendar.get_workdays(start, period.start - timedelta(days=1))
    assert period.moved == (period.start != start)


@pytest.mark.parametrize(
    ("event", "working_days", "due"),
    [
        ("2025-09-30", 15, "2025-10-28"),  # 受理告知 within 15 working days, over National Day
        ("2026-09-30", 5, "2026-10-13"),  # the receipt day does not count (publicity: 10-12)
        ("2026-10-01", 1, "2026-10-08"),  # received on a holiday
        ("2026-02-13", 1, "2026-02-14"),  # the make-up Saturday counts
        ("2026-11-27", 5, "2026-12-04"),
    ],
)
def test_deadline_follows_the_civil_law_rule(event: str, working_days: int, due: str) -> None:
    assert deadline(PACKAGE, D(event), working_days) == Deadline(D(due), provisional=False)


def test_deadline_into_unloaded_year_is_provisional_until_the_year_is_imported(
    writer: Session,
) -> None:
    # 12-21..25 and 12-28..31 are 9 days; then weekends only: 2027-01-01 and 01-04..08.
    assert deadline(load_calendar(writer), D("2026-12-18"), 15) == Deadline(D("2027-01-08"), True)
    import_year(writer, SCHEDULE_2027, audit.CLI)
    # Now 2027-01-01 is a holiday, so the 15th working day is 01-11.
    assert deadline(load_calendar(writer), D("2026-12-18"), 15) == Deadline(D("2027-01-11"), False)


def test_deadline_stays_provisional_when_it_counted_guessed_days(writer: Session) -> None:
    # 2028 imported, 2027 not: the deadline lands in 2028 but counted 2027's guessed days.
    import_year(writer, {"year": 2028, "source": "测试数据", "holidays": [], "workdays": []},
                audit.CLI)
    # 2027-12-29, 30, 31 (weekends-only guess), then 2028-01-03 and 01-04.
    assert deadline(load_calendar(writer), D("2027-12-28"), 5) == Deadline(D("2028-01-04"), True)
    assert deadline(load_calendar(writer), D("2027-12-31"), 5) == Deadline(D("2028-01-07"), False)


def test_working_days_left() -> None:
    assert working_days_left(PACKAGE, D("2026-09-28"), D("2026-10-12")) == 7
    assert working_days_left(PACKAGE, D("2026-10-01"), D("2026-10-12")) == 4
    assert working_days_left(PACKAGE, D("2026-10-12"), D("2026-10-12")) == 1
    assert working_days_left(PACKAGE, D("2026-10-11"), D("2026-10-11")) == 0
    assert working_days_left(PACKAGE, D("2026-10-13"), D("2026-10-12")) == 0
    with pytest.raises(YearNotLoaded):
        working_days_left(PACKAGE, D("2026-12-30"), D("2027-01-05"))


def test_import_loads_a_year(writer: Session) -> None:
    assert import_year(writer, SCHEDULE_2027, audit.CLI) == 2027
    cal = load_calendar(writer)
    assert cal.is_loaded(2027)
    assert publicity_period(cal, D("2027-02-05")).end == D("2027-02-18")  # over the holiday
    assert publicity_period(cal, D("2027-02-17")).end == D("2027-02-22")  # make-up 02-20 counts
    assert publicity_period(cal, D("2027-01-01")) == Period(
        D("2027-01-01"), D("2027-01-04"), D("2027-01-08"), 5, moved=True
    )
    # Only the days differing from the weekday rule are stored.
    overrides = {row.day: (row.is_workday, row.origin) for row in writer.scalars(
        select(CalendarOverride))}
    assert overrides == {
        D("2027-01-01"): (False, "import"),
        **{D(f"2027-02-{d:02}"): (False, "import") for d in range(8, 13)},
        D("2027-02-20"): (True, "import"),
    }
    year = writer.get(CalendarYear, 2027)
    assert year is not None
    assert year.source == SCHEDULE_2027["source"]
    entries = writer.scalars(select(AuditEntry)).all()
    assert [(e.action, e.target, e.actor) for e in entries] == [("calendar.import", "2027", "cli")]
    assert audit.verify(writer).ok


def test_reimport_replaces_imported_days_and_keeps_manual_ones(writer: Session) -> None:
    import_year(writer, SCHEDULE_2027, audit.CLI)
    set_override(writer, D("2027-02-08"), True, audit.CLI)  # manual, inside the holiday
    corrected = copy.deepcopy(SCHEDULE_2027)
    corrected["holidays"] = [["2027-02-06", "2027-02-10"]]
    corrected["workdays"] = []
    corrected["source"] = "更正"
    import_year(writer, corrected, audit.CLI)
    cal = load_calendar(writer)
    assert cal.status(D("2027-01-01")) == (True, False)  # no longer a holiday
    assert cal.status(D("2027-02-08")) == (True, False)  # the manual override still wins
    assert cal.origin(D("2027-02-08")) == "manual"
    assert cal.status(D("2027-02-09")) == (False, False)
    assert cal.status(D("2027-02-11")) == (True, False)
    assert cal.status(D("2027-02-20")) == (False, False)  # no make-up Saturday any more
    assert cal.imported_years == {2027: "更正"}
    assert count(writer, CalendarYear) == 1
    assert audit.verify(writer).entries == 3


def test_single_override_does_not_load_a_year(writer: Session) -> None:
    set_override(writer, D("2027-03-01"), False, audit.CLI)
    cal = load_calendar(writer)
    assert not cal.is_loaded(2027)
    assert cal.status(D("2027-03-01")) == (False, True)
    assert cal.status(D("2027-03-02")) == (True, True)
    with pytest.raises(YearNotLoaded):
        publicity_period(cal, D("2027-03-02"))
    with pytest.raises(YearNotLoaded):
        cal.is_workday(D("2027-03-01"))
    row = days(writer)[D("2027-03-01")]
    assert (row.is_workday, row.provisional) == (False, True)
    assert missing_next_year(cal, D("2026-11-02")) == 2027
    [entry] = writer.scalars(select(AuditEntry)).all()
    assert (entry.action, entry.target) == ("calendar.set", "2027-03-01")


def test_manual_override_changes_periods_in_a_loaded_year(writer: Session) -> None:
    set_override(writer, D("2026-12-02"), False, audit.CLI)
    set_override(writer, D("2026-12-05"), True, audit.CLI)  # a Saturday
    cal = load_calendar(writer)
    # 11-30, 12-01, (12-02 off), 12-03, 12-04, 12-05.
    assert publicity_period(cal, D("2026-11-30")).end == D("2026-12-05")
    set_override(writer, D("2026-12-05"), False, audit.CLI)  # changed again: one row per day
    assert publicity_period(load_calendar(writer), D("2026-11-30")).end == D("2026-12-07")
    assert count(writer, CalendarOverride) == 2


def test_manual_override_wins_over_import(writer: Session) -> None:
    import_year(writer, SCHEDULE_2027, audit.CLI)
    set_override(writer, D("2027-02-20"), False, audit.CLI)
    cal = load_calendar(writer)
    assert cal.status(D("2027-02-20")) == (False, False)
    assert publicity_period(cal, D("2027-02-17")).end == D("2027-02-23")


def _bad(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(SCHEDULE_2027)
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (_bad(holidays=[["2027-01-01", "2027-01-03"], ["2027-01-03", "2027-01-05"]]),
         "holidays[0] (2027-01-01 to 2027-01-03) and holidays[1] (2027-01-03 to 2027-01-05) "
         "overlap."),
        (_bad(holidays=[["2027-02-06", "2027-02-13"], ["2027-02-06", "2027-02-13"]]),
         "holidays[0] (2027-02-06 to 2027-02-13) and holidays[1] (2027-02-06 to 2027-02-13) "
         "overlap."),
        (_bad(holidays=[["2027-02-01", "2027-02-28"], ["2027-02-06", "2027-02-13"]], workdays=[]),
         "holidays[0] (2027-02-01 to 2027-02-28) and holidays[1] (2027-02-06 to 2027-02-13) "
         "overlap."),
        (_bad(holidays=[["2026-12-31", "2027-01-03"]]),
         "holidays[0][0]: 2026-12-31 lies outside 2027."),
        (_bad(workdays=["2028-01-08"]), "workdays[0]: 2028-01-08 lies outside 2027."),
        (_bad(workdays=["2027-02-22"]),
         "workdays[0]: 2027-02-22 is a Monday; only a Saturday or Sunday can be made a working "
         "day."),
        (_bad(workdays=["2027-02-07"]),
         "workdays[0]: 2027-02-07 lies inside the holiday holidays[1] (2027-02-06 to 2027-02-13)."),
        (_bad(workdays=["2027-02-20", "2027-02-20"]), "workdays[1]: 2027-02-20 is listed twice."),
        (_bad(workdays=["2027-02-30"]),
         "workdays[0]: '2027-02-30' is not a valid date written YYYY-MM-DD."),
        (_bad(holidays=[["2027/01/01", "2027-01-03"]]),
         "holidays[0][0]: '2027/01/01' is not a valid date written YYYY-MM-DD."),
        (_bad(holidays=[["20270101", "2027-01-03"]]),
         "holidays[0][0]: '20270101' is not a valid date written YYYY-MM-DD."),
        (_bad(holidays=[["2027-01-03", "2027-01-01"]]),
         "holidays[0]: starts on 2027-01-03, after its last day 2027-01-01."),
        (_bad(holidays=[["2027-01-01"]]), "holidays[0]: expected a pair [first day, last day]."),
        (_bad(holidays=[[20270101, "2027-01-03"]]),
         "holidays[0][0]: expected a date written YYYY-MM-DD, found a number."),
        (_bad(holidays="2027-01-01"), "holidays: expected a list, found a string."),
        (_bad(year="2027"), "year: expected a number such as 2027, found a string."),
        (_bad(year=True), "year: expected a number such as 2027, found true/false."),
        (_bad(year=20277), "year: 20277 is not between 2000 and 2199."),
        (_bad(source="  "), "source: must name the notice the schedule comes from."),
        (_bad(source="通" * 201), "source: 201 characters, at most 200."),
        (_bad(source=None), "source: expected text, found null."),
        (_bad(note="x"), "'note': unknown key (expected year, source, holidays, workdays)."),
        ({"year": 2027, "source": "x", "holidays": []}, "workdays: missing."),
        ([SCHEDULE_2027], "The file must hold one object with the keys year, source, holidays "
                          "and workdays."),
    ],
)
def test_invalid_import_is_refused_and_writes_nothing(
    writer: Session, data: object, problem: str
) -> None:
    import_year(writer, SCHEDULE_2027, audit.CLI)
    tables = (CalendarOverride, CalendarYear, CalendarDay, AuditEntry)
    before = {m: count(writer, m) for m in tables}
    overrides = load_calendar(writer)
    with pytest.raises(CalendarImportError) as info:
        import_year(writer, data, audit.CLI)
    assert info.value.problems == [problem]
    assert {m: count(writer, m) for m in before} == before
    assert load_calendar(writer) == overrides


def test_every_problem_is_listed_at_once() -> None:
    data = _bad(year=2027, source="", holidays=[["2027-13-01", "2027-01-03"]],
                workdays=["2027-01-04"], extra=1)
    with pytest.raises(CalendarImportError) as info:
        parse_import(data)
    assert info.value.problems == [
        "'extra': unknown key (expected year, source, holidays, workdays).",
        "source: must name the notice the schedule comes from.",
        "holidays[0][0]: '2027-13-01' is not a valid date written YYYY-MM-DD.",
        "workdays[0]: 2027-01-04 is a Monday; only a Saturday or Sunday can be made a working "
        "day.",
    ]


def test_parse_import_normalises() -> None:
    data = _bad(holidays=[["2027-02-06", "2027-02-13"], ["2027-01-01", "2027-01-03"]],
                source="  通知  ")
    parsed = parse_import(data)
    assert parsed.year == 2027
    assert parsed.source == "通知"
    assert parsed.holidays == ((D("2027-01-01"), D("2027-01-03")),
                               (D("2027-02-06"), D("2027-02-13")))
    assert parsed.workdays == (D("2027-02-20"),)


def test_rebuild_materialises_days_and_ordinals(db: Session) -> None:
    assert rebuild_days(db) == (date(2028, 12, 31) - date(2020, 1, 1)).days + 1
    rows = days(db)
    assert min(rows) == D("2020-01-01")
    assert max(rows) == D("2028-12-31")  # two years past the last loaded year
    assert rows[D("2020-01-01")].ordinal == 0  # New Year's Day
    assert rows[D("2020-01-02")].ordinal == 1
    assert (rows[D("2026-02-14")].is_workday, rows[D("2026-02-14")].provisional) == (True, False)
    assert (rows[D("2026-10-01")].is_workday, rows[D("2026-10-01")].provisional) == (False, False)
    assert (rows[D("2027-01-01")].is_workday, rows[D("2027-01-01")].provisional) == (True, True)
    # Working days in (a, b] are a subtraction, the package counting them one by one.
    for a, b in [("2020-01-01", "2026-12-31"), ("2025-09-30", "2025-10-28"),
                 ("2026-02-13", "2026-02-28"), ("2024-12-31", "2025-12-31")]:
        counted = len(chinese_calendar.get_workdays(D(a) + timedelta(days=1), D(b)))
        assert rows[D(b)].ordinal - rows[D(a)].ordinal == counted
    assert rows[D("2025-10-28")].ordinal - rows[D("2025-09-30")].ordinal == 15
    # Unloaded years count weekdays.
    assert rows[D("2027-01-08")].ordinal - rows[D("2026-12-31")].ordinal == 6


def test_rebuild_follows_imports(writer: Session) -> None:
    import_year(writer, SCHEDULE_2027, audit.CLI)
    rows = days(writer)
    assert max(rows) == D("2029-12-31")
    assert (rows[D("2027-01-01")].is_workday, rows[D("2027-01-01")].provisional) == (False, False)
    assert rows[D("2028-03-01")].provisional
    assert rows[D("2027-01-08")].ordinal - rows[D("2026-12-31")].ordinal == 5


@pytest.mark.parametrize(
    ("today", "missing"),
    [("2026-10-31", None), ("2026-11-01", 2027), ("2026-12-31", 2027), ("2025-11-15", None),
     ("2026-01-10", None)],
)
def test_missing_next_year(today: str, missing: int | None) -> None:
    assert missing_next_year(PACKAGE, D(today)) == missing


def test_missing_next_year_after_import(writer: Session) -> None:
    import_year(writer, SCHEDULE_2027, audit.CLI)
    assert missing_next_year(load_calendar(writer), D("2026-11-20")) is None
    assert missing_next_year(load_calendar(writer), D("2027-11-20")) == 2028
