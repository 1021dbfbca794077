"""Queue key grants by heads, revocation and rotation (DESIGN.md, "Grants, revocation, rotation").

Work in progress: only the hook the portal calls exists yet.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from portal import audit
from portal.models import StaffUser


def on_access_lost(db: Session, user: StaffUser, roles: frozenset[str],
                   actor: audit.Actor) -> None:
    """Account hook: a member lost roles (reset, deactivation, role change)."""
