"""The working-day calendar: publicity periods, civil-law deadlines, overrides and year imports.

Working days follow the State Council holiday schedule including the weekend days made working
days (调休). Sources, strongest first: a manual override (`calendar set`), a whole-year import
(`calendar import`), the `chinesecalendar` package. A year is *loaded* when the package covers
it or it was imported as a whole; a single override never loads a year, because one known day
says nothing about the rest of the schedule.

Publicity periods are legal periods and are never guessed: they refuse unloaded years. Case
deadlines are internal targets, so they fall back to weekends only and say so (provisional).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from types import MappingProxyType

import chinese_calendar
from flask import current_app, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, delete, func, insert, select
from sqlalchemy.orm import Session

from portal import audit, events
from portal.db import transaction, utcnow
from portal.models import AuditEntry, CalendarDay, CalendarOverride, CalendarYear

# Regulation on the selection and appointment of cadres, art. 42: "公示期不少于五个工作日".
MIN_PUBLICITY_DAYS = 5
# The materialised calendar starts here; no notice or case of this portal is older.
MATERIALISED_FROM = date(2020, 1, 1)
# Years a whole-year import may name: wide enough for any real use, narrow enough to catch
# typos such as 20277 before they materialise centuries of calendar rows.
IMPORTABLE_YEARS = range(2000, 2200)
MAX_SOURCE_CHARS = 200  # CalendarYear.source

MANUAL = "manual"
IMPORT = "import"
PACKAGE = "chinesecalendar"
WEEKDAY_RULE = "weekday rule"

_ONE_DAY = timedelta(days=1)
_SATURDAY = 5
# date.fromisoformat also accepts forms such as 20270101 or 2027-W01-1; an import file must
# spell dates one way so that reviewers can read them.
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_IMPORT_KEYS = ("year", "source", "holidays", "workdays")
# Lazy: translated when a message is formatted, in that moment's language.
_WEEKDAY_NAMES = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
                  _l("Saturday"), _l("Sunday"))


class YearNotLoaded(Exception):
    """A computation needs a year whose holiday schedule is not loaded."""

    def __init__(self, year: int) -> None:
        super().__init__(f"the {year} holiday schedule is not loaded")
        self.year = year


class PeriodTooShort(ValueError):
    """A publicity period of fewer than five working days was asked for (条例第四十二条)."""


class CalendarImportError(ValueError):
    """A year's schedule file was refused; `problems` names every field or date at fault."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def year_not_loaded_message(year: int) -> str:
    """The user-facing explanation of YearNotLoaded, in the current language."""
    return _(
        "The %(year)s holiday schedule has not been published yet. "
        "Ask an administrator to import it before publishing.",
        year=year,
    )


def parse_iso_date(text: str) -> date:
    """The date written exactly YYYY-MM-DD; ValueError for anything else."""
    if not _ISO_DATE.fullmatch(text):
        raise ValueError(f"{text!r} is not written YYYY-MM-DD")
    return date.fromisoformat(text)


@dataclass(frozen=True)
class Period:
    """A publicity period: the editor sees `requested_start` moved to `start` when `moved`."""

    requested_start: date
    start: date
    end: date
    working_days: int
    moved: bool


@dataclass(frozen=True)
class Deadline:
    """A deadline; provisional when it reaches a year whose schedule is not loaded."""

    day: date
    provisional: bool


@cache
def _package_covers(year: int) -> bool:
    # The package knows which years it covers; asking it keeps a new release effective without
    # a code change.
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


@cache
def _package_last_year() -> int | None:
    if not _package_covers(MATERIALISED_FROM.year):
        return None
    year = MATERIALISED_FROM.year
    while _package_covers(year + 1):
        year += 1
    return year


@dataclass(frozen=True)
class WorkCalendar:
    """An immutable snapshot of the calendar sources; build it with `load_calendar`."""

    manual: Mapping[date, bool] = field(default_factory=lambda: MappingProxyType({}))
    imported: Mapping[date, bool] = field(default_factory=lambda: MappingProxyType({}))
    imported_years: Mapping[int, str] = field(default_factory=lambda: MappingProxyType({}))

    def is_loaded(self, year: int) -> bool:
        """Whether the year's official schedule is known (package or whole-year import)."""
        return year in self.imported_years or _package_covers(year)

    def latest_loaded_year(self) -> int | None:
        """The last loaded year from MATERIALISED_FROM on, if any."""
        years = [y for y in self.imported_years if y >= MATERIALISED_FROM.year]
        package = _package_last_year()
        if package is not None:
            years.append(package)
        return max(years, default=None)

    def _official(self, day: date) -> bool | None:
        """The day's status under the loaded schedule; None when its year is not loaded."""
        if day.year in self.imported_years:
            # An import lists only the days that differ from the weekday rule.
            return self.imported.get(day, day.weekday() < _SATURDAY)
        if _package_covers(day.year):
            return bool(chinese_calendar.is_workday(day))
        return None

    def status(self, day: date) -> tuple[bool, bool]:
        """(is_workday, provisional); an unloaded year counts weekends only, provisionally."""
        provisional = not self.is_loaded(day.year)
        if day in self.manual:
            return self.manual[day], provisional
        official = self._official(day)
        if official is None:
            official = day.weekday() < _SATURDAY
        return official, provisional

    def is_workday(self, day: date) -> bool:
        """Whether the day is a working day; raises YearNotLoaded rather than guess."""
        if not self.is_loaded(day.year):
            raise YearNotLoaded(day.year)
        return self.status(day)[0]

    def origin(self, day: date) -> str:
        """Which source decides the day: manual, import, chinesecalendar or the weekday rule."""
        if day in self.manual:
            return MANUAL
        if day.year in self.imported_years:
            return IMPORT if day in self.imported else WEEKDAY_RULE
        return PACKAGE if _package_covers(day.year) else WEEKDAY_RULE


def load_calendar(db: Session) -> WorkCalendar:
    """Snapshot the overrides and imported years (a few hundred rows) for in-memory counting."""
    manual: dict[date, bool] = {}
    imported: dict[date, bool] = {}
    rows = db.execute(
        select(CalendarOverride.day, CalendarOverride.is_workday, CalendarOverride.origin)
    )
    for day, is_workday, origin in rows:
        (manual if origin == MANUAL else imported)[day] = is_workday
    years = {year: source for year, source in db.execute(
        select(CalendarYear.year, CalendarYear.source)
    )}
    return WorkCalendar(
        MappingProxyType(manual), MappingProxyType(imported), MappingProxyType(years)
    )


def publicity_period(
    cal: WorkCalendar, start: date, working_days: int = MIN_PUBLICITY_DAYS
) -> Period:
    """The period of N working days counted from START inclusive (moved to a working day)."""
    if working_days < MIN_PUBLICITY_DAYS:
        raise PeriodTooShort(
            f"a publicity period lasts at least {MIN_PUBLICITY_DAYS} working days, "
            f"not {working_days}"
        )
    # Both loops end: every loaded year has working days, and the loaded years are finite, so
    # at worst is_workday reaches an unloaded year and raises.
    first = start
    while not cal.is_workday(first):
        first += _ONE_DAY
    end, counted = first, 1
    while counted < working_days:
        end += _ONE_DAY
        counted += cal.is_workday(end)
    return Period(start, first, end, working_days, moved=first != start)


def deadline(cal: WorkCalendar, event_day: date, working_days: int) -> Deadline:
    """The N-th working day after the event day (民法典第二百零一条: that day does not count)."""
    if working_days < 1:
        raise ValueError(f"a deadline is at least one working day, not {working_days}")
    day, counted, provisional = event_day, 0, False
    while counted < working_days:
        day += _ONE_DAY
        is_workday, guessed = cal.status(day)
        counted += is_workday
        provisional = provisional or guessed
    return Deadline(day, provisional)


def working_days_left(cal: WorkCalendar, today: date, end: date) -> int:
    """Working days from today (inclusive) through end (inclusive); 0 once end has passed."""
    if end < today:
        return 0
    return sum(cal.is_workday(today + timedelta(days=n)) for n in range((end - today).days + 1))


def missing_next_year(cal: WorkCalendar, today: date) -> int | None:
    """Next year, from November on, while its schedule is not loaded (admins get a warning)."""
    # The State Council publishes the next year's schedule around November.
    if today.month >= 11 and not cal.is_loaded(today.year + 1):
        return today.year + 1
    return None


def rebuild_days(db: Session) -> int:
    """Re-materialise every calendar_day row in the caller's transaction; returns the count.

    Then the feature packages' calendar hooks run in the same transaction (case deadlines are
    recomputed on the new calendar).
    """
    db.flush()
    cal = load_calendar(db)
    # Two years past the last loaded one, so deadlines near year end still find their days.
    last = date((cal.latest_loaded_year() or MATERIALISED_FROM.year) + 2, 12, 31)
    rows: list[dict[str, object]] = []
    ordinal = 0
    day = MATERIALISED_FROM
    while day <= last:
        is_workday, provisional = cal.status(day)
        ordinal += is_workday
        rows.append(
            {"day": day, "is_workday": is_workday, "ordinal": ordinal, "provisional": provisional}
        )
        day += _ONE_DAY
    db.execute(delete(CalendarDay))
    db.execute(insert(CalendarDay), rows)
    if has_app_context():
        # Casework's deadlines follow the calendar: it subscribes to this event.
        events.calendar_changed.send(current_app._get_current_object(),  # type: ignore[attr-defined]
                                     db=db)
    return len(rows)


def set_override(db: Session, day: date, is_workday: bool, actor: audit.Actor) -> None:
    """Make one day a working day or not (manual; wins over imports and the package)."""
    with transaction(db):
        # Audited first: the append serialises calendar writers (write lock on SQLite, advisory
        # lock on PostgreSQL), so the rebuild below sees any change committed meanwhile.
        audit.record(db, actor, "calendar.set", day.isoformat(), is_workday=is_workday)
        # One row per day: a manual override replaces an imported row for the same day.
        row = db.get(CalendarOverride, day)
        if row is None:
            db.add(CalendarOverride(day=day, is_workday=is_workday, origin=MANUAL))
        else:
            row.is_workday, row.origin = is_workday, MANUAL
        rebuild_days(db)


@dataclass(frozen=True)
class ParsedYear:
    """A validated whole-year schedule."""

    year: int
    source: str
    holidays: tuple[tuple[date, date], ...]
    workdays: tuple[date, ...]

    def overrides(self) -> dict[date, bool]:
        """The days that differ from the weekday rule: weekday holidays and working weekends."""
        days = {d: True for d in self.workdays}
        for start, end in self.holidays:
            day = start
            while day <= end:
                if day.weekday() < _SATURDAY:
                    days[day] = False
                day += _ONE_DAY
        return days


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    names = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


class _Problems:
    """Collects every problem of an import file so the administrator can fix them in one go."""

    def __init__(self, year: int | None) -> None:
        self.year = year
        self.items: list[str] = []

    def add(self, message: str) -> None:
        self.items.append(message)

    def day(self, value: object, where: str) -> date | None:
        """The date at `where`, or None after recording why it is not a date of the year."""
        if not isinstance(value, str):
            self.add(_("%(where)s: expected a date written YYYY-MM-DD, found %(type)s.",
                       where=where, type=_json_type(value)))
            return None
        try:
            day = parse_iso_date(value)
        except ValueError:
            self.add(_("%(where)s: %(value)s is not a valid date written YYYY-MM-DD.",
                       where=where, value=repr(value)))
            return None
        if self.year is not None and day.year != self.year:
            self.add(_("%(where)s: %(day)s lies outside %(year)s.",
                       where=where, day=value, year=self.year))
            return None
        return day

    def list_at(self, data: Mapping[str, object], key: str) -> list[object]:
        """The list under `key`, or an empty list after recording that it is not one."""
        value = data.get(key, [])
        if isinstance(value, list):
            return value
        self.add(_("%(key)s: expected a list, found %(type)s.", key=key, type=_json_type(value)))
        return []


def _parse_year(data: Mapping[str, object], problems: _Problems) -> int | None:
    year = data.get("year")
    if not isinstance(year, int) or isinstance(year, bool):
        if "year" in data:
            problems.add(_("year: expected a number such as 2027, found %(type)s.",
                           type=_json_type(year)))
        return None
    if year not in IMPORTABLE_YEARS:
        problems.add(_("year: %(year)s is not between %(first)s and %(last)s.", year=year,
                       first=IMPORTABLE_YEARS.start, last=IMPORTABLE_YEARS.stop - 1))
        return None
    return year


def _parse_source(data: Mapping[str, object], problems: _Problems) -> str:
    source = data.get("source", "")
    if not isinstance(source, str):
        problems.add(_("source: expected text, found %(type)s.", type=_json_type(source)))
        return ""
    source = source.strip()
    if "source" in data and not source:
        problems.add(_("source: must name the notice the schedule comes from."))
    if len(source) > MAX_SOURCE_CHARS:
        problems.add(_("source: %(n)s characters, at most %(max)s.",
                       n=len(source), max=MAX_SOURCE_CHARS))
    return source


def _parse_holidays(
    data: Mapping[str, object], problems: _Problems
) -> list[tuple[int, date, date]]:
    ranges: list[tuple[int, date, date]] = []
    for i, item in enumerate(problems.list_at(data, "holidays")):
        where = f"holidays[{i}]"
        if not isinstance(item, list) or len(item) != 2:
            problems.add(_("%(where)s: expected a pair [first day, last day].", where=where))
            continue
        start = problems.day(item[0], f"{where}[0]")
        end = problems.day(item[1], f"{where}[1]")
        if start is None or end is None:
            continue
        if start > end:
            problems.add(_("%(where)s: starts on %(start)s, after its last day %(end)s.",
                           where=where, start=start.isoformat(), end=end.isoformat()))
            continue
        ranges.append((i, start, end))
    # Sorted by first day, a range overlaps an earlier one exactly when it starts on or before
    # the latest last day seen so far.
    latest: tuple[int, date, date] | None = None
    for current in sorted(ranges, key=lambda r: (r[1], r[2], r[0])):
        if latest is not None and current[1] <= latest[2]:
            first, second = sorted((latest, current))
            problems.add(_("holidays[%(a)s] (%(a_start)s to %(a_end)s) and holidays[%(b)s] "
                           "(%(b_start)s to %(b_end)s) overlap.",
                           a=first[0], a_start=first[1].isoformat(), a_end=first[2].isoformat(),
                           b=second[0], b_start=second[1].isoformat(),
                           b_end=second[2].isoformat()))
        if latest is None or current[2] > latest[2]:
            latest = current
    return ranges


def _parse_workdays(
    data: Mapping[str, object], problems: _Problems, holidays: list[tuple[int, date, date]]
) -> list[date]:
    workdays: list[date] = []
    for i, item in enumerate(problems.list_at(data, "workdays")):
        where = f"workdays[{i}]"
        day = problems.day(item, where)
        if day is None:
            continue
        if day.weekday() < _SATURDAY:
            problems.add(_("%(where)s: %(day)s is a %(weekday)s; only a Saturday or Sunday can be "
                           "made a working day.", where=where, day=day.isoformat(),
                           weekday=_WEEKDAY_NAMES[day.weekday()]))
        for j, start, end in holidays:
            if start <= day <= end:
                problems.add(_("%(where)s: %(day)s lies inside the holiday holidays[%(j)s] "
                               "(%(start)s to %(end)s).", where=where, day=day.isoformat(), j=j,
                               start=start.isoformat(), end=end.isoformat()))
        if day in workdays:
            problems.add(_("%(where)s: %(day)s is listed twice.", where=where,
                           day=day.isoformat()))
        workdays.append(day)
    return workdays


def parse_import(data: object) -> ParsedYear:
    """Validate a decoded import file; raises CalendarImportError naming every problem."""
    if not isinstance(data, dict):
        raise CalendarImportError([_("The file must hold one object with the keys year, source, "
                                     "holidays and workdays.")])
    problems = _Problems(None)
    for key in data:
        if key not in _IMPORT_KEYS:
            problems.add(_("%(key)s: unknown key (expected year, source, holidays, workdays).",
                           key=repr(key)))
    for key in _IMPORT_KEYS:
        if key not in data:
            problems.add(_("%(key)s: missing.", key=key))
    year = _parse_year(data, problems)
    problems.year = year  # dates are checked against the year only once it is known
    source = _parse_source(data, problems)
    holidays = _parse_holidays(data, problems)
    workdays = _parse_workdays(data, problems, holidays)
    if problems.items or year is None:
        raise CalendarImportError(problems.items)
    return ParsedYear(
        year=year,
        source=source,
        holidays=tuple(sorted((start, end) for _i, start, end in holidays)),
        workdays=tuple(sorted(workdays)),
    )


def import_year(db: Session, data: object, actor: audit.Actor) -> int:
    """Load a whole year's official schedule (replacing an earlier import); returns the year."""
    parsed = parse_import(data)  # before the transaction: a refused file writes nothing
    first, last = date(parsed.year, 1, 1), date(parsed.year, 12, 31)
    with transaction(db):
        # Audited first: the append serialises calendar writers (see set_override).
        audit.record(db, actor, "calendar.import", str(parsed.year), source=parsed.source,
                     holidays=len(parsed.holidays), workdays=len(parsed.workdays))
        in_year = CalendarOverride.day.between(first, last)
        db.execute(
            delete(CalendarOverride)
            .where(in_year, CalendarOverride.origin == IMPORT)
        )
        # Manual overrides win over the import and share its primary key (the day): keep them.
        manual = set(db.scalars(
            select(CalendarOverride.day).where(in_year, CalendarOverride.origin == MANUAL)
        ))
        rows = [
            {"day": day, "is_workday": is_workday, "origin": IMPORT}
            for day, is_workday in sorted(parsed.overrides().items())
            if day not in manual
        ]
        if rows:
            db.execute(insert(CalendarOverride), rows)
        year_row = db.get(CalendarYear, parsed.year)
        if year_row is None:
            db.add(CalendarYear(year=parsed.year, source=parsed.source, imported_at=utcnow()))
        else:
            year_row.source, year_row.imported_at = parsed.source, utcnow()
        rebuild_days(db)
    return parsed.year


CALENDAR_ACTIONS = ("calendar.set", "calendar.import")


def _newest_calendar_entry() -> Select[int, datetime]:
    # One max() per action is one lookup in the (action, seq) index on both databases, however
    # long the log; a single max over `action IN (...)` lets the planner walk the log backwards.
    newest = [select(func.max(AuditEntry.seq)).where(AuditEntry.action == action)
              .scalar_subquery() for action in CALENDAR_ACTIONS]
    return (select(AuditEntry.seq, AuditEntry.at).where(AuditEntry.seq.in_(newest))
            .order_by(AuditEntry.seq.desc()).limit(1))


_NEWEST_CALENDAR_ENTRY = _newest_calendar_entry()
# The calendar's revision, (seq, at) of its newest audited change, as two scalar subqueries:
# the public pages read it in one statement with their other revisions (their cache key).
REVISION_COLUMNS = (
    _NEWEST_CALENDAR_ENTRY.with_only_columns(AuditEntry.seq).scalar_subquery(),
    _NEWEST_CALENDAR_ENTRY.with_only_columns(AuditEntry.at).scalar_subquery(),
)

