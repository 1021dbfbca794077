"""The intake feature as the shell registers it: the public report pages, staff registration
of reports by telephone, letter or visit, demo cases, and its subscription to casework's
purge (a purged case's reporter sessions end)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session

from casework import events as casework_events
from intake import demo, service
from intake.messages import ERRORS
from intake.staff_views import bp as staff_bp
from intake.views import bp as public_bp
from portal.features import Feature


def _cases_purged(_app: Flask, *, db: Session, case_ids: list[int]) -> None:
    service.end_sessions_of_cases(db, case_ids)


def subscribe(app: Flask) -> None:
    """Connect intake's receivers to casework's events of this application."""
    casework_events.cases_purged.connect(_cases_purged, sender=app)


feature = Feature(
    name="intake",
    blueprints=(public_bp, staff_bp),
    # After casework's loader: the demo cases need the queues' keys.
    demo_loaders=(demo.load,),
    subscribe=subscribe,
    errors=ERRORS,
)
