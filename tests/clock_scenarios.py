"""The instants the unit and integration tiers are proven at besides their default one.

`make test-dates` (and so `.ci/run`) runs both tiers once per line this prints, with
PORTAL_TEST_NOW set to it (tests/conftest.py starts every test's clock there). The days are
derived from the holiday schedule the installed `chinesecalendar` knows, so they stay hard
cases when a new release covers another year:

* ``new-year`` — 09:00 on the first weekday after 1 January of the first year whose schedule is
  NOT loaded: deadlines there are provisional and publicity periods are refused;
* ``year-end`` — 23:30 Shanghai time on 31 December of the last loaded year: the next day, in
  UTC still "today", belongs to a year that is not loaded;
* ``spring-festival`` — 10:00 on the middle day of the last loaded year's Spring Festival
  holiday: today is not a working day, and a week of them is off.

``python -m tests.clock_scenarios`` prints ``name instant`` lines.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import chinese_calendar

from portal.workdays import WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def scenarios() -> dict[str, dt.datetime]:
    """The named instants, from the schedule the installed package covers."""
    last = WorkCalendar().latest_loaded_year()
    if last is None:
        raise SystemExit("chinesecalendar covers no year: cannot choose the test dates")
    first = dt.date(last + 1, 1, 2)
    while first.weekday() >= 5:
        first += dt.timedelta(days=1)
    festival = [day for day in (dt.date(last, 1, 1) + dt.timedelta(days=n) for n in range(120))
                if chinese_calendar.get_holiday_detail(day)
                == (True, chinese_calendar.Holiday.spring_festival.value)]
    if not festival:
        raise SystemExit(f"no Spring Festival holiday found in {last}")
    return {
        "new-year": _at(first, 9),
        "year-end": _at(dt.date(last, 12, 31), 23, 30),
        "spring-festival": _at(festival[len(festival) // 2], 10),
    }


if __name__ == "__main__":
    for name, instant in scenarios().items():
        print(name, instant.isoformat())
