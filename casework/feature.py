"""The casework feature as the shell registers it: queue, case, routing, key and supervision
pages, the `queues` and `cases` commands, default queues, demo keys, and its subscriptions to
the shell's events (deadlines follow the calendar; a member who loses access starts a key
rotation)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from casework import deadlines, demo, keys, queues
from casework.admin_views import bp as routing_bp
from casework.cases_cli import cases_cli
from casework.cli import queues_cli
from casework.keys_views import bp as queue_keys_bp
from casework.messages import ERRORS
from casework.models import Queue, QueueEpoch
from casework.supervision_views import bp as supervision_bp
from casework.views import bp as cases_bp
from portal import audit, crypto, events
from portal.features import Feature
from portal.models import StaffUser


def _calendar_changed(_app: Flask, *, db: Session) -> None:
    deadlines.recompute_open(db)


def _access_lost(_app: Flask, *, db: Session, user: StaffUser, roles: frozenset[str],
                 actor: audit.Actor) -> None:
    keys.on_access_lost(db, user, roles, actor)


def queue_keys_verify(db: Session) -> bool:
    """Every queue key epoch's public key and the recovery key carry a valid MAC (/healthz,
    #22): a key swapped in the database would have reports sealed to someone else's key."""
    try:
        for epoch, queue in db.execute(select(QueueEpoch, Queue).join(
                Queue, Queue.id == QueueEpoch.queue_id)):
            queues.epoch_public_key(queue, epoch)
        queues.recovery_public_key(db)
    except (crypto.KeyIntegrityError, queues.QueueError):
        return False
    return True


def subscribe(app: Flask) -> None:
    """Connect casework's receivers to the shell's events of this application."""
    events.calendar_changed.connect(_calendar_changed, sender=app)
    events.access_lost.connect(_access_lost, sender=app)


feature = Feature(
    name="casework",
    blueprints=(cases_bp, routing_bp, queue_keys_bp, supervision_bp),
    commands=(queues_cli, cases_cli),
    init_steps=(queues.ensure_defaults,),
    demo_loaders=(demo.load,),
    subscribe=subscribe,
    errors=ERRORS,
    health_checks=(queue_keys_verify,),
)
