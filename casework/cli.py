"""`flask --app wsgi queues …`: queue keys, grants and rotations with the recovery secret."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from casework import keys, queues
from portal import audit, clock, db
from portal.errors import message_of

queues_cli = AppGroup("queues", help="Queue keys and grants.")

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
    try:
        report = queues.init_keys(db.session())
    except queues.QueueError as exc:
        raise click.ClickException(message_of(exc)) from None
    print_init_report(report)


@queues_cli.command("grant")
@click.option("--queue", "queue_slug", required=True, help="Queue short name (org, dic, …).")
@click.option("--user", "username", required=True, help="The member's username.")
def grant_command(queue_slug: str, username: str) -> None:
    """Grant a member the queue's key with the recovery secret (read from standard input)."""
    secret = sys.stdin.readline()
    try:
        user = queues.grant_with_recovery(db.session(), queue_slug, username, secret)
    except queues.QueueError as exc:
        raise click.ClickException(message_of(exc)) from None
    click.echo(_("%(user)s can now open queue %(q)s.", user=user.username, q=queue_slug))


def _print_rotation(report: keys.RotationReport) -> None:
    click.echo(_("Queue %(q)s: new key epoch %(n)s (fingerprint %(f)s); %(c)s case(s) re-sealed; "
                 "old epochs and their grants deleted.", q=report.queue, n=report.epoch,
                 f=report.fingerprint, c=report.cases))
    click.echo(_("Queue %(q)s: granted the new epoch to: %(n)s", q=report.queue,
                 n=", ".join(report.regranted) or "—"))
    if report.key_integrity_failed:
        click.echo(_("Queue %(q)s: NOT granted, their stored public key fails its integrity "
                     "check (the database may have been tampered with): %(n)s",
                     q=report.queue, n=", ".join(report.key_integrity_failed)))
    session = db.session()
    queue = queues.queue_by_slug(session, report.queue)
    lacking = [u.username for u in queues.lacking_access(session, queue)]
    if lacking:
        click.echo(_("Queue %(q)s: members without access (a head must grant them): %(n)s",
                     q=report.queue, n=", ".join(lacking)))
    if not queues.keyholders(session, queue):
        click.echo(_("Queue %(q)s has no active keyholder: its categories stay closed on the "
                     "report form until a member is granted access.", q=report.queue))


@queues_cli.command("rotate")
@click.option("--queue", "queue_slug", help="Queue short name (org, dic, …).")
@click.option("--due", is_flag=True,
              help="Every queue whose key epoch is older than the rotation period "
                   "(PORTAL_ROTATION_DAYS) or whose rotation is pending; for a yearly cron job.")
def rotate_command(queue_slug: str | None, due: bool) -> None:
    """Rotate a queue's key epoch with the recovery secret (read from standard input): a new
    key pair, every retained case re-sealed to it, the old epochs and their grants deleted."""
    if bool(queue_slug) == due:
        raise click.UsageError(_("Give either --queue Q or --due."))
    session = db.session()
    if due:
        slugs = [q.slug for q in keys.due_queues(session, clock.today())]
        if not slugs:
            click.echo(_("No queue is due for rotation; nothing was changed."))
            return
    else:
        slugs = [queue_slug or ""]
    secret = sys.stdin.readline()
    failed = 0
    for slug in slugs:
        try:
            report = keys.rotate(session, slug, recovery_secret=secret, actor=audit.CLI)
        except queues.QueueError as exc:
            if exc.code in ("bad-recovery-secret", "wrong-recovery-secret") or not due:
                raise click.ClickException(message_of(exc)) from None
            click.echo(_("Queue %(q)s was not rotated: %(why)s", q=slug,
                         why=message_of(exc)), err=True)
            failed += 1
        else:
            _print_rotation(report)
    if failed:
        raise click.ClickException(_("%(n)s queue(s) could not be rotated; see above.",
                                     n=failed))


@queues_cli.command("verify-recovery")
def verify_recovery_command() -> None:
    """Prove the recovery secret (read from standard input) still opens every queue's current
    key epoch; non-zero exit when it does not."""
    secret = sys.stdin.readline()
    try:
        checks = keys.verify_recovery(db.session(), secret)
    except queues.QueueError as exc:
        raise click.ClickException(message_of(exc)) from None
    for check in checks:
        if check.ok and not check.epoch:
            click.echo(_("Queue %(q)s: no keys yet, nothing to check.", q=check.queue))
        elif check.ok:
            click.echo(_("Queue %(q)s: epoch %(n)s opens with the recovery secret "
                         "(fingerprint %(f)s).", q=check.queue, n=check.epoch,
                         f=check.fingerprint))
        else:
            click.echo(_("Queue %(q)s: epoch %(n)s does NOT open with the recovery secret: "
                         "%(why)s", q=check.queue, n=check.epoch,
                         why=message_of(queues.QueueError(check.error or ""))))
    if not all(c.ok for c in checks):
        raise click.ClickException(_("The recovery secret does not open every queue's key."))
    click.echo(_("The recovery secret works."))
