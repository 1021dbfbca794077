"""`flask --app wsgi cases …`: the periodic casework commands (run by cron or a systemd timer)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal import clock, db

cases_cli = AppGroup("cases", help="Periodic casework: purge, new-case notices, digests.")


@cases_cli.command("purge-expired")
def purge_expired() -> None:
    """Destroy the content of cases closed longer than the retention period."""
    from casework import retention

    purged = retention.purge_expired(db.session(), clock.today())
    click.echo(f"purged {purged} case(s)")


@cases_cli.command("digest")
def digest() -> None:
    """Send each queue's members today's content-free overdue digest (once a day)."""
    from casework import notify

    sent = notify.send_digests(db.session(), clock.today())
    click.echo(f"sent {sent} digest(s)")


@cases_cli.command("notify")
def notify_new() -> None:
    """Tell queue members that new reports arrived since the last run (run hourly)."""
    from casework import notify

    sent = notify.send_new_case_notices(db.session())
    click.echo(f"sent {sent} notice(s)")
