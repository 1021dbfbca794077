"""The revision of the public pages: every write that changes what visitors see moves it on.

Below both the notice service and the compliance service, which each change public pages.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from portal.db import utcnow
from publicity.models import PublicityRevision


def bump_global_revision(db: Session) -> None:
    """Every public page changes (caller's transaction): list pages, feed and notice pages."""
    row = db.get(PublicityRevision, 1)
    if row is None:
        db.add(PublicityRevision(id=1, revision=1, changed_at=utcnow()))
    else:
        db.execute(update(PublicityRevision).where(PublicityRevision.id == 1).values(
            revision=PublicityRevision.revision + 1, changed_at=utcnow()))
