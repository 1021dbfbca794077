"""`flask --app wsgi notices …`: import notices as drafts."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import select

from portal import audit, clock, db, state
from portal.models import Role, StaffUser
from publicity import service
from publicity.views import objection_channels

notices_cli = AppGroup("notices", help="Pre-appointment notices.")


@notices_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "editor", metavar="USERNAME",
              help="The publicity editor importing: recorded as author, so another must approve.")
def import_command(file: Path, editor: str | None) -> None:
    """Import notices from a UTF-8 JSON file as drafts; print each id and computed period.

    A file with any invalid notice is rejected whole and nothing is written.
    """
    actor = audit.CLI
    if editor:
        user = db.session().scalar(select(StaffUser).where(StaffUser.username == editor))
        if user is None or not user.is_active or Role.publicity_editor not in user.role_names:
            raise click.ClickException(_("%(name)s is not an active publicity editor.",
                                         name=editor))
        actor = audit.Actor(user.username, user.id)
    try:
        raw = json.loads(file.read_text(encoding="utf-8-sig"))
    # ValueError: undecodable bytes, bad JSON, and a number past Python's 4300-digit limit.
    except (ValueError, RecursionError) as exc:
        raise click.ClickException(_("Not a UTF-8 JSON file: %(e)s",
                                     e=str(exc) or type(exc).__name__)) from None
    config = state.config()
    try:
        created = service.import_notices(
            db.session(), raw, actor, defaults=objection_channels(),
            min_days=config.publicity_min_working_days, today=clock.today(),
        )
    except service.ImportRejected as exc:
        for index, problem in exc.problems:
            prefix = _("Notice %(n)s", n=index + 1) + ": " if index is not None else ""
            click.echo(prefix + problem, err=True)
        raise click.ClickException(_("Nothing was imported.")) from None
    today = clock.today()
    for notice, period in created:
        moved = (" " + _("(start moved from %(a)s: not a working day)",
                         a=period.requested_start.isoformat())) if period.moved else ""
        click.echo(_("Draft %(id)s: %(title)s — %(start)s → %(end)s (%(n)s working days)",
                     id=notice.id, title=notice.title, start=period.start.isoformat(),
                     end=period.end.isoformat(), n=period.working_days) + moved)
        if period.start < today:
            click.echo("  " + _("The start has passed: edit the draft before approval."))
