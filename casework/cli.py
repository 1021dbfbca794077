"""`flask --app wsgi queues …`: queue keys, grants with the recovery secret."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from casework import queues
from portal import db

queues_cli = AppGroup("queues", help="Queue keys and grants.")

QUEUE_ERRORS = {
    "no-such-queue": _l("There is no such queue."),
    "no-keys": _l("This queue has no keys yet: run `flask --app wsgi queues init` first."),
    "bad-recovery-secret": _l("That is not a recovery secret (52 letters and digits in groups "
                              "of four)."),
    "wrong-recovery-secret": _l("The recovery secret does not match this installation's "
                                "recovery key."),
    "no-such-member": _l("There is no active account with that username."),
    "not-a-member": _l("That account does not hold a role of this queue."),
    "epoch-key-mismatch": _l("The queue key sealed to the recovery key does not match its "
                             "public key; the database may have been tampered with."),
    "no-access": _l("You do not have access to this queue's key."),
    "no-such-category": _l("There is no such category."),
    "escalation-exists": _l("An escalation queue is already configured."),
}


def queue_error_message(exc: queues.QueueError) -> str:
    """The message for a queue error in the current language."""
    return str(QUEUE_ERRORS.get(exc.code, exc.code))


def _print_lacking(report: queues.InitReport) -> None:
    for slug in report.without_keyholder:
        click.echo(_("Queue %(q)s has no active keyholder: its categories stay closed on the "
                     "report form until a member is granted access.", q=slug))
    for slug, names in report.lacking.items():
        if names:
            click.echo(_("Queue %(q)s: members without access (a head must grant them): %(n)s",
                         q=slug, n=", ".join(names)))


def print_init_report(report: queues.InitReport) -> None:
    """Print what `queues init` did, including the recovery secret exactly once."""
    if report.recovery_secret:
        click.echo(_("RECOVERY SECRET — write it down now and keep it offline; it is shown only "
                     "this once and lets its holder grant any queue:"))
        click.echo(f"  {report.recovery_secret}")
    for queue in report.keyed:
        click.echo(_("Queue %(q)s (%(name)s): keys created, epoch %(n)s.", q=queue.slug,
                     name=queue.name_zh, n=queue.current_epoch))
    if not report.keyed:
        click.echo(_("Every queue already has keys; nothing was changed."))
    _print_lacking(report)


@queues_cli.command("init")
def init_command() -> None:
    """Give keyless queues their keys, sealed to current members and the recovery key."""
    print_init_report(queues.init_keys(db.session()))


@queues_cli.command("grant")
@click.option("--queue", "queue_slug", required=True, help="Queue short name (org, dic, …).")
@click.option("--user", "username", required=True, help="The member's username.")
def grant_command(queue_slug: str, username: str) -> None:
    """Grant a member the queue's key with the recovery secret (read from standard input)."""
    secret = sys.stdin.readline()
    try:
        user = queues.grant_with_recovery(db.session(), queue_slug, username, secret)
    except queues.QueueError as exc:
        raise click.ClickException(queue_error_message(exc)) from None
    click.echo(_("%(user)s can now open queue %(q)s.", user=user.username, q=queue_slug))
