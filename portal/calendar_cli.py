"""`flask --app wsgi calendar …`: inspect and maintain the working-day calendar."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from portal import audit, workdays
from portal.db import session as db_session

calendar_cli = AppGroup("calendar", help="The working-day calendar (holidays and 调休).")

_ISO_DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class IsoDate(click.ParamType):
    """A date written YYYY-MM-DD (a bad one is a usage error, exit 2)."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        """The date, or a usage error naming the value."""
        if isinstance(value, date):
            return value
        try:
            return workdays.parse_iso_date(str(value))
        except ValueError:
            self.fail(_("%(value)s is not a valid date written YYYY-MM-DD.", value=repr(value)),
                      param, ctx)


ISO_DATE = IsoDate()


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two equal keys silently; a schedule must not lose one.
    keys = [key for key, _value in pairs]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(_("duplicate key %(key)s", key=", ".join(map(repr, duplicates))))
    return dict(pairs)


@calendar_cli.command("show")
@click.argument("year", type=click.IntRange(date.min.year, date.max.year))
def show_command(year: int) -> None:
    """List YEAR's holidays on weekdays and working weekends, with where each comes from."""
    cal = workdays.load_calendar(db_session())
    first, last = date(year, 1, 1), date(year, 12, 31)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    if cal.is_loaded(year):
        if year in cal.imported_years:
            click.echo(_("%(year)s: loaded (imported: %(source)s)",
                         year=year, source=cal.imported_years[year]))
        else:
            click.echo(_("%(year)s: loaded (chinesecalendar)", year=year))
    elif any(day in cal.manual for day in days):
        click.echo(_("%(year)s: not loaded; days not listed count weekends only, provisionally",
                     year=year))
    else:
        raise click.ClickException(workdays.year_not_loaded_message(year))
    for day in days:
        is_workday, _provisional = cal.status(day)
        ordinary = is_workday == (day.weekday() < 5)
        if ordinary and day not in cal.manual:
            continue
        kind = _("workday") if is_workday else _("holiday")
        click.echo(f"{day.isoformat()} {_ISO_DAY_NAMES[day.weekday()]}  {kind:<8} "
                   f"{cal.origin(day)}")


@calendar_cli.command("set")
@click.argument("day", metavar="DATE", type=ISO_DATE)
@click.argument("kind", type=click.Choice(["workday", "holiday"]))
def set_command(day: date, kind: str) -> None:
    """Make DATE a working day or a holiday (a manual override; it does not load the year)."""
    session = db_session()
    workdays.set_override(session, day, kind == "workday", audit.CLI)
    click.echo(_("%(day)s is now a %(kind)s (manual override).", day=day.isoformat(),
                 kind=_("workday") if kind == "workday" else _("holiday")))
    if not workdays.load_calendar(session).is_loaded(day.year):
        # Say it, or the administrator may believe the override made the year usable.
        click.echo(_("%(year)s is still not loaded: one override does not load a year; "
                     "import the whole schedule with `calendar import`.", year=day.year))


@calendar_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_command(file: Path) -> None:
    """Load a whole year's official schedule from a UTF-8 JSON FILE (see PRODUCT.md)."""
    try:
        # utf-8-sig: a byte-order mark from a Windows editor is still UTF-8.
        data = json.loads(file.read_text(encoding="utf-8-sig"),
                          object_pairs_hook=_reject_duplicate_keys)
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise click.ClickException(
            _("%(file)s cannot be read as UTF-8 JSON: %(error)s", file=str(file),
              error=str(exc) or type(exc).__name__)
        ) from None
    try:
        year = workdays.import_year(db_session(), data, audit.CLI)
    except workdays.CalendarImportError as exc:
        click.echo(_("%(file)s was not imported; nothing was changed:", file=str(file)), err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        raise click.exceptions.Exit(1) from None
    click.echo(_("The %(year)s holiday schedule is loaded.", year=year))


@calendar_cli.command("period")
@click.argument("start", type=ISO_DATE)
@click.option("--days", default=workdays.MIN_PUBLICITY_DAYS, show_default=True,
              help="Working days in the period (at least 5).")
def period_command(start: date, days: int) -> None:
    """Print the last day of a publicity period of N working days starting at START."""
    try:
        period = workdays.publicity_period(workdays.load_calendar(db_session()), start, days)
    except workdays.PeriodTooShort:
        raise click.BadParameter(
            _("a publicity period lasts at least %(n)s working days (条例第四十二条).",
              n=workdays.MIN_PUBLICITY_DAYS),
            param_hint="'--days'",
        ) from None
    except workdays.YearNotLoaded as exc:
        raise click.ClickException(workdays.year_not_loaded_message(exc.year)) from None
    if period.moved:
        click.echo(_("start moved from %(requested)s to %(start)s (not a working day)",
                     requested=period.requested_start.isoformat(),
                     start=period.start.isoformat()))
    click.echo(_("%(start)s → %(end)s (%(n)s working days)", start=period.start.isoformat(),
                 end=period.end.isoformat(), n=period.working_days))
