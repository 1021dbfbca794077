"""Role changes need a second person (#21, item 3; docs/security.md, "Roles and activation").

An administrator asks (`accounts.set_roles`, `accounts.create_pending_account`,
`accounts.reset_account`); a second person decides here: another administrator, not the one
who asked, or the head of the body the role belongs to. Nobody decides a request about their
own account. A grant gives its role only once confirmed; an activation request holds the second
half of the account's activation code, shown once to the person who confirms it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import audit
from portal.accounts import (
    AccountError,
    CurrentStaff,
    check_admin_alone,
    open_second_half,
)
from portal.db import transaction, utcnow
from portal.models import (
    AccountStatus,
    Role,
    RoleRequest,
    RoleRequestKind,
    RoleRequestState,
    StaffRole,
)

# Besides another administrator, who may confirm a role: the head of the body it belongs to.
# Publicity editors are organization department staff (PRODUCT.md); the escalation queue's
# handlers head their own queue. Administrators and supervisors: another administrator only.
HEADS_FOR: dict[str, frozenset[str]] = {
    Role.admin: frozenset(),
    Role.supervisor: frozenset(),
    Role.publicity_editor: frozenset({Role.org_head.value}),
    Role.org_handler: frozenset({Role.org_head.value}),
    Role.org_head: frozenset({Role.org_head.value}),
    Role.dic_handler: frozenset({Role.dic_head.value}),
    Role.dic_head: frozenset({Role.dic_head.value}),
    Role.escalation_handler: frozenset({Role.escalation_handler.value}),
}
# Who can ever decide something (the pages' access mark).
DECIDERS = (Role.admin, Role.org_head, Role.dic_head, Role.escalation_handler)


class RequestError(AccountError):
    """A role request that this person may not decide, or that is no longer pending."""


@dataclass(frozen=True)
class Decision:
    """What a decision did; `second_half` is set once, for a confirmed activation."""

    request: RoleRequest
    second_half: str | None = None


def _roles_concerned(db: Session, row: RoleRequest) -> set[str]:
    """An activation's roles: the ones the account holds and the ones asked for it."""
    asked = db.scalars(select(RoleRequest.role).where(
        RoleRequest.user_id == row.user_id, RoleRequest.kind == RoleRequestKind.grant,
        RoleRequest.state == RoleRequestState.pending))
    return set(row.user.role_names) | set(asked)


def may_decide(db: Session, row: RoleRequest, staff: CurrentStaff) -> bool:
    """Whether this person may confirm or refuse this request."""
    if row.state != RoleRequestState.pending or row.kind == RoleRequestKind.revoke:
        return False
    if staff.user_id in (row.user_id, row.requested_by_id):
        return False  # never one's own account, never one's own request
    if staff.has(Role.admin):
        return True
    roles = {row.role} if row.kind == RoleRequestKind.grant else _roles_concerned(db, row)
    return any(staff.has(*HEADS_FOR.get(role, frozenset())) for role in roles)


def waiting_for(db: Session, staff: CurrentStaff) -> list[RoleRequest]:
    """The pending requests this person may decide, oldest first."""
    rows = db.scalars(select(RoleRequest).where(RoleRequest.state == RoleRequestState.pending)
                      .order_by(RoleRequest.id))
    return [row for row in rows if may_decide(db, row, staff)]


def asked_by(db: Session, staff: CurrentStaff) -> list[RoleRequest]:
    """The pending requests this person asked for (waiting for someone else), oldest first."""
    return list(db.scalars(select(RoleRequest).where(
        RoleRequest.state == RoleRequestState.pending,
        RoleRequest.requested_by_id == staff.user_id).order_by(RoleRequest.id)))


def _pending_row(db: Session, request_id: int, staff: CurrentStaff) -> RoleRequest:
    row = db.scalars(select(RoleRequest).where(RoleRequest.id == request_id)
                     .with_for_update(of=RoleRequest)).first()
    if row is None:
        raise RequestError("no-such-request")
    if row.state != RoleRequestState.pending:
        raise RequestError("decided")
    if not may_decide(db, row, staff):
        raise RequestError("not-yours")
    return row


def _decide(row: RoleRequest, staff: CurrentStaff, state: RoleRequestState) -> None:
    row.state = state
    row.decided_by_id, row.decided_by, row.decided_at = staff.user_id, staff.username, utcnow()


def confirm(db: Session, request_id: int, staff: CurrentStaff) -> Decision:
    """Confirm a request: a grant's role is given; an activation's second half is returned
    (once: it is erased from the database in the same transaction)."""
    with transaction(db):
        row = _pending_row(db, request_id, staff)
        user = row.user
        if user.status == AccountStatus.deactivated:
            raise AccountError("deactivated")
        half = None
        if row.kind == RoleRequestKind.grant:
            check_admin_alone(user.role_names | {row.role})
            if row.role not in user.role_names:
                user.roles.append(StaffRole(role=row.role))
        else:
            half = open_second_half(row)
            row.second_half_box = None
        _decide(row, staff, RoleRequestState.confirmed)
        audit.record(db, staff.actor, f"account.{row.kind}.confirmed", user.username,
                     role=row.role, asked_by=row.requested_by)
    return Decision(row, half)


def refuse(db: Session, request_id: int, staff: CurrentStaff) -> Decision:
    """Refuse a request; a refused activation leaves the account unusable until a reset."""
    with transaction(db):
        row = _pending_row(db, request_id, staff)
        row.second_half_box = None
        _decide(row, staff, RoleRequestState.refused)
        audit.record(db, staff.actor, f"account.{row.kind}.refused", row.user.username,
                     role=row.role, asked_by=row.requested_by)
    return Decision(row)


def changes(db: Session, limit: int = 500) -> Sequence[RoleRequest]:
    """Every role change, newest first (the supervisors' read-only log)."""
    return db.scalars(select(RoleRequest).order_by(RoleRequest.id.desc()).limit(limit)).all()
