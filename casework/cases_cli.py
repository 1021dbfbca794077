"""`flask --app wsgi cases …`: the periodic casework commands (run by cron or a systemd timer)."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from casework import notify
from portal import clock, db

cases_cli = AppGroup("cases", help="Periodic casework: purge, new-case notices, digests.")


@cases_cli.command("purge-expired")
def purge_expired() -> None:
    """Destroy the content of cases closed longer than the retention period."""
    from casework import retention

    purged = retention.purge_expired(db.session(), clock.today())
    click.echo(f"purged {purged} case(s)")


def _report(delivery: notify.Delivery, sent: str) -> None:
    """Print what went out; exit non-zero (cron mails the output) when mail failed (#22.6)."""
    click.echo(sent)
    if delivery.failed:
        raise click.ClickException(_("E-mail could not be sent (see the log); nothing was "
                                     "recorded, the next run sends it again."))
    if delivery.refused:
        raise click.ClickException(_("The mail server refused %(n)s message(s) (see the log).",
                                     n=delivery.refused))


@cases_cli.command("digest")
def digest() -> None:
    """Send each queue's members today's content-free overdue digest (once a day)."""
    delivery = notify.send_digests(db.session(), clock.today())
    _report(delivery, _("Sent %(n)s overdue digest(s).", n=delivery.sent))


@cases_cli.command("notify")
def notify_new() -> None:
    """Tell queue members that new reports arrived since the last run (run hourly)."""
    delivery = notify.send_new_case_notices(db.session())
    _report(delivery, _("Sent %(n)s new-case notice(s).", n=delivery.sent))
