"""Administration: staff accounts and roles, and the working-day calendar; the second person's
page that confirms role grants and activations, and the supervisors' log of role changes."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from portal import accounts, clock, db, role_grants, workdays
from portal.access import require_staff, roles_required
from portal.errors import describe, message_of
from portal.forms import (
    ROLE_LABELS,
    CalendarOverrideForm,
    ConfirmForm,
    CreateAccountForm,
    EmailForm,
    RolesForm,
)
from portal.models import CalendarOverride, Role

bp = Blueprint("admin", __name__, url_prefix="/staff/admin")
roles_bp = Blueprint("roles", __name__, url_prefix="/staff/roles")


def _accounts_page(form: CreateAccountForm | None = None, status: int = 200,
                   issued: tuple[str, str] | None = None,
                   email: tuple[int, EmailForm] | None = None) -> tuple[str, int]:
    return render_template(
        "portal/admin_accounts.html",
        users=accounts.list_accounts(db.session()),
        form=form or CreateAccountForm(formdata=None),
        confirm=ConfirmForm(formdata=None),
        # The one account's e-mail form that was refused, to show its value and error in place.
        email_user=email[0] if email else None,
        email_form=email[1] if email else EmailForm(formdata=None),
        issued=issued,
        asked=role_grants.asked_by(db.session(), require_staff()),
        next_year_missing=workdays.missing_next_year(
            workdays.load_calendar(db.session()), clock.today()
        ),
    ), status


@bp.route("/", endpoint="accounts")
@roles_required(Role.admin)
def accounts_page() -> tuple[str, int]:
    """Staff accounts with their roles and states."""
    return _accounts_page()


@bp.route("/accounts", methods=["POST"])
@roles_required(Role.admin)
def create_account() -> tuple[str, int]:
    """Create an account with roles only; show its one-time activation code once."""
    form = CreateAccountForm()
    if not form.validate_on_submit():
        return _accounts_page(form, 400)
    try:
        user, code = accounts.create_pending_account(
            db.session(), form.username.data or "", form.roles.data or [], require_staff().actor
        )
    except accounts.AccountError as exc:
        form.username.errors = [message_of(exc)]
        return _accounts_page(form, 400)
    return _accounts_page(issued=(user.username, code))


@bp.route("/accounts/<id:user_id>/reset", methods=["POST"])
@roles_required(Role.admin)
def reset_account(user_id: int) -> Response | tuple[str, int]:
    """Reset a lost passphrase or TOTP device: sessions end, keys are destroyed."""
    if not ConfirmForm().validate_on_submit():
        return _accounts_page(status=400)
    try:
        user, code = accounts.reset_account(db.session(), user_id, require_staff().actor)
    except accounts.AccountError as exc:
        flash(message_of(exc), "error")
        return redirect(url_for("admin.accounts"), code=303)
    flash(_("All sessions of %(name)s have ended. Their queue access must be granted again by a "
            "head after they activate the account.", name=user.username), "warning")
    return _accounts_page(issued=(user.username, code))


@bp.route("/accounts/<id:user_id>/deactivate", methods=["POST"])
@roles_required(Role.admin)
def deactivate_account(user_id: int) -> Response | tuple[str, int]:
    """Deactivate an account; its sessions end at once."""
    if not ConfirmForm().validate_on_submit():
        return _accounts_page(status=400)
    try:
        user = accounts.deactivate(db.session(), user_id, require_staff().actor)
    except accounts.AccountError as exc:
        flash(message_of(exc), "error")
    else:
        flash(_("%(name)s is deactivated and logged out.", name=user.username), "ok")
    return redirect(url_for("admin.accounts"), code=303)


@bp.route("/accounts/<id:user_id>/roles", methods=["POST"])
@roles_required(Role.admin)
def set_roles(user_id: int) -> Response | tuple[str, int]:
    """Replace an account's roles (the person logs in again)."""
    form = RolesForm()
    if not form.validate_on_submit():
        flash(_("Choose at least one role."), "error")
        return redirect(url_for("admin.accounts"), code=303)
    try:
        asked, revoked = accounts.set_roles(db.session(), user_id, form.roles.data or [],
                                            require_staff().actor)
    except accounts.AccountError as exc:
        flash(message_of(exc), "error")
    else:
        if revoked:
            flash(_("Revoked at once: %(roles)s.", roles=_labels(revoked)), "ok")
        if asked:
            flash(_("Asked for: %(roles)s. Each role is given only when a second person "
                    "confirms it: another administrator, or the head of the department "
                    "concerned.", roles=_labels(asked)), "warning")
        if not asked and not revoked:
            flash(_("Nothing changed."), "ok")
    return redirect(url_for("admin.accounts"), code=303)


def _labels(roles: list[str]) -> str:
    return "、".join(str(ROLE_LABELS.get(Role(r), r)) for r in roles)


@bp.route("/accounts/<id:user_id>/email", methods=["POST"])
@roles_required(Role.admin)
def set_email(user_id: int) -> Response | tuple[str, int]:
    """Set or clear where an account's content-free notices go."""
    form = EmailForm()
    if form.validate_on_submit():
        try:
            user = accounts.set_email(db.session(), user_id, form.email.data or "",
                                      require_staff().actor)
        except accounts.InvalidEmail as exc:
            form.email.errors = [message_of(exc)]
        except accounts.AccountError as exc:
            flash(message_of(exc), "error")
            return redirect(url_for("admin.accounts"), code=303)
        else:
            flash(_("E-mail of %(name)s saved.", name=user.username) if user.email
                  else _("%(name)s will receive no e-mail.", name=user.username), "ok")
            return redirect(url_for("admin.accounts"), code=303)
    return _accounts_page(status=400, email=(user_id, form))


@bp.route("/calendar", methods=["GET", "POST"])
@roles_required(Role.admin)
def calendar() -> Response | tuple[str, int]:
    """Which years are loaded, the manual overrides, and a form to add one."""
    form = CalendarOverrideForm()
    session = db.session()
    if form.validate_on_submit() and form.day.data is not None:
        workdays.set_override(session, form.day.data, form.kind.data == "workday",
                              require_staff().actor)
        flash(_("%(day)s saved.", day=form.day.data.isoformat()), "ok")
        return redirect(url_for("admin.calendar"), code=303)
    cal = workdays.load_calendar(session)
    today = clock.today()
    years = [(y, cal.is_loaded(y)) for y in range(today.year - 1, today.year + 3)]
    overrides = session.scalars(
        select(CalendarOverride).where(CalendarOverride.origin == "manual")
        .order_by(CalendarOverride.day.desc()).limit(200)
    ).all()
    return render_template(
        "portal/admin_calendar.html", form=form, years=years, overrides=overrides,
        next_year_missing=workdays.missing_next_year(cal, today),
    ), 400 if form.errors else 200


# --- the second person: confirm or refuse (#21.3) ---------------------------------------------


def _requests_page(issued: tuple[str, str] | None = None, error: str | None = None,
                   status: int = 200) -> tuple[str, int]:
    session, staff = db.session(), require_staff()
    return render_template(
        "portal/role_requests.html", waiting=role_grants.waiting_for(session, staff),
        asked=role_grants.asked_by(session, staff), confirm=ConfirmForm(formdata=None),
        issued=issued, error=error,
    ), status


@roles_bp.route("/", endpoint="pending")
@roles_required(*role_grants.DECIDERS)
def pending() -> tuple[str, int]:
    """The role grants and activations waiting for this person's decision."""
    return _requests_page()


@roles_bp.route("/<id:request_id>/confirm", methods=["POST"])
@roles_required(*role_grants.DECIDERS)
def confirm(request_id: int) -> tuple[str, int]:
    """Confirm a grant (the role is given) or an activation (its second half is shown once)."""
    if not ConfirmForm().validate_on_submit():
        return _requests_page(status=400)
    try:
        done = role_grants.confirm(db.session(), request_id, require_staff())
    except accounts.AccountError as exc:
        message, status = describe(exc)
        return _requests_page(error=message, status=status)
    row = done.request
    if done.second_half is not None:
        return _requests_page(issued=(row.user.username, done.second_half))
    flash(_("%(name)s now holds the role %(role)s.", name=row.user.username,
            role=_labels([row.role])), "ok")
    return _requests_page()


@roles_bp.route("/<id:request_id>/refuse", methods=["POST"])
@roles_required(*role_grants.DECIDERS)
def refuse(request_id: int) -> Response | tuple[str, int]:
    """Refuse a grant or an activation."""
    if not ConfirmForm().validate_on_submit():
        return _requests_page(status=400)
    try:
        role_grants.refuse(db.session(), request_id, require_staff())
    except accounts.AccountError as exc:
        message, status = describe(exc)
        return _requests_page(error=message, status=status)
    flash(_("Refused."), "ok")
    return redirect(url_for("roles.pending"), code=303)


@roles_bp.route("/changes")
@roles_required(Role.supervisor, Role.admin)
def changes() -> str:
    """Every role change (asked, confirmed, refused, withdrawn, revoked), read-only."""
    return render_template("portal/role_changes.html",
                           rows=role_grants.changes(db.session()))
