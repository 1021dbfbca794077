"""Staff login, logout, account activation and the staff home page."""

from __future__ import annotations

import segno
from flask import (
    Blueprint,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from portal import accounts, crypto, db, state
from portal.access import (
    STAFF_COOKIE,
    STAFF_COOKIE_PATH,
    public,
    require_staff,
    staff_required,
)
from portal.errors import ErrorTable, message_of
from portal.extensions import limiter
from portal.forms import (
    INVALID_EMAIL,
    ActivateFinishForm,
    ActivateStartForm,
    ConfirmForm,
    LoginForm,
)
from portal.models import StaffUser

bp = Blueprint("auth", __name__, url_prefix="/staff")

# The shell's one table of domain errors (the account errors); the shell's handler and
# `message_of` read it, with the features' tables.
ACCOUNT_ERRORS: ErrorTable = {accounts.AccountError: {
    "credentials": (_l("The username, passphrase or code is not correct. Each code can be used "
                       "only once."), 401),
    "key-integrity": (_l("Your account key failed its integrity check. Ask an administrator to "
                         "reset your account."), 409),
    "bad-code": (_l("This activation code is not valid or was already used."), 400),
    "expired-code": (_l("This activation code has expired. Ask an administrator for a new "
                        "one."), 400),
    "bad-totp": (_l("The code from the authenticator app did not match. Check the phone's clock "
                    "and try again."), 400),
    "too-short": (_l("The passphrase must have at least 12 characters."), 400),
    "too-long": (_l("The passphrase may have at most 256 characters."), 400),
    "guessable": (_l("This passphrase is too easy to guess: it follows a common pattern, a "
                     "dictionary word, a name or a date. Use four or more unrelated words."), 400),
    "username-format": (_l("A username has 2 to 64 lower-case letters, digits, dots, dashes or "
                           "underscores, starting with a letter."), 400),
    "username-taken": (_l("This username is already taken."), 409),
    "no-role": (_l("Choose at least one role."), 400),
    "unknown-role": (_l("Unknown role."), 400),
    "self": (_l("You cannot do this to your own account."), 403),
    "deactivated": (_l("This account is deactivated."), 403),
    "not-demo": (_l("No such demo account."), 404),
    "slow-down": (_l("Too many failed attempts for this account. Wait a little, then try "
                     "again."), 429),
    "no-such-request": (_l("There is no such request."), 404),
    "decided": (_l("This request was already decided or withdrawn."), 409),
    "not-yours": (_l("You cannot decide this request: it concerns your own account, you "
                     "asked for it yourself, or it belongs to another department."), 403),
    "admin-alone": (_l("An administrator account holds no other role. Use a separate account "
                       "for any other role."), 400),
    "email-format": (INVALID_EMAIL, 400),
    # Any other code: the shell's "The request could not be completed." (400).
}}


def _login_limit() -> str:
    return str(state.config().login_failure_limit)


def _safe_next(target: str | None) -> str:
    # Only local staff pages: never an absolute or scheme-relative URL (open redirect).
    if (target and target.startswith("/staff/") and "\\" not in target
            and target.isprintable() and target.isascii()):
        return target
    return url_for("auth.home")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=lambda r: r.status_code != 303)
@public
def login() -> Response | tuple[str, int] | str:
    """Passphrase + TOTP; only failures count toward the per-address limit. Per account, the
    service slows attempts down after a few failures (429 with the wait), never locks out."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        return render_template("portal/login.html", form=form)
    if form.validate_on_submit():
        try:
            cookie = accounts.login(
                db.session(), form.username.data or "", form.passphrase.data or "",
                form.totp.data or "",
            )
        except accounts.LoginThrottled as exc:
            form.passphrase.errors = [_(
                "Too many failed attempts for this account. Wait %(n)s seconds, then try again: "
                "the right passphrase and code will work then.", n=exc.wait_seconds)]
            slowed = make_response(render_template("portal/login.html", form=form), 429)
            slowed.headers["Retry-After"] = str(exc.wait_seconds)
            return slowed
        except accounts.LoginFailed as exc:
            form.passphrase.errors = [message_of(exc)]
        else:
            session.clear()
            response = redirect(_safe_next(form.next.data), code=303)
            response.set_cookie(
                STAFF_COOKIE, cookie, path=STAFF_COOKIE_PATH, httponly=True, samesite="Strict",
                secure=state.config().secure_cookies,
            )
            return response
    return render_template("portal/login.html", form=form), 401


@bp.route("/logout", methods=["POST"])
@staff_required
def logout() -> Response:
    """End this session everywhere it matters: the row is deleted, the cookie cleared."""
    form = ConfirmForm()
    if form.validate_on_submit():
        accounts.logout(db.session(), require_staff())
    response = redirect(url_for("auth.login"), code=303)
    # The same flags as when it was set: every cookie the portal sends carries them.
    response.delete_cookie(
        STAFF_COOKIE, path=STAFF_COOKIE_PATH, httponly=True, samesite="Strict",
        secure=state.config().secure_cookies,
    )
    return response


@bp.route("/")
@staff_required
def home() -> str:
    """The staff home: what each of this person's roles can reach."""
    staff = require_staff()
    user = db.session().get(StaffUser, staff.user_id)
    fingerprint = crypto.fingerprint(user.public_key) if user and user.public_key else ""
    return render_template("portal/staff_home.html", staff=staff, fingerprint=fingerprint)


def _qr_data_uri(username: str, secret: str) -> str:
    return segno.make(accounts.totp_uri(username, secret), error="m").svg_data_uri(scale=4)


def _finish_page(form: ActivateFinishForm, secret: str, status: int = 200) -> tuple[str, int]:
    username = form.username.data or ""
    return render_template(
        "portal/activate_finish.html", form=form, secret=secret,
        qr=_qr_data_uri(username, secret), uri=accounts.totp_uri(username, secret),
    ), status


@bp.route("/activate", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"], deduct_when=lambda r: r.status_code >= 400)
@public
def activate() -> tuple[str, int] | str:
    """Step one: the person enters the two halves of their one-time code (#21.3): one from
    the administrator, the other from the person who confirmed the account."""
    form = ActivateStartForm()
    if form.validate_on_submit():
        code = accounts.join_code(form.code.data or "", form.code2.data or "")
        try:
            secret = accounts.begin_activation(db.session(), form.username.data or "", code)
        except accounts.AccountError as exc:
            form.code.errors = [message_of(exc)]
        else:
            finish = ActivateFinishForm(formdata=None, username=form.username.data, code=code)
            return _finish_page(finish, secret)
        return render_template("portal/activate.html", form=form), 400
    return render_template("portal/activate.html", form=form), 400 if form.errors else 200


@bp.route("/activate/finish", methods=["POST"])
@limiter.limit(_login_limit, deduct_when=lambda r: r.status_code >= 400)
@public
def activate_finish() -> Response | tuple[str, int]:
    """Step two: own passphrase and a first TOTP code; the account gets its key pair."""
    form = ActivateFinishForm()
    username, code = form.username.data or "", form.code.data or ""
    try:
        secret = accounts.pending_totp_secret(db.session(), username, code)
    except accounts.AccountError as exc:
        flash(message_of(exc), "error")
        return redirect(url_for("auth.activate"), code=303)
    if form.validate_on_submit():
        try:
            user = accounts.complete_activation(db.session(), username, code,
                                                form.passphrase.data or "", form.totp.data or "")
        except accounts.ActivationFailed as exc:
            form.totp.errors = [message_of(exc)]
        except accounts.AccountError as exc:
            form.passphrase.errors = [message_of(exc)]
        else:
            flash(_("Your account is active. Log in with your passphrase and a new code."), "ok")
            if user.key_generation:
                flash(_("Your account has a new key. Ask the head of your queue to grant you "
                        "access again, after comparing your key fingerprint."), "warning")
            return redirect(url_for("auth.login"), code=303)
    return _finish_page(form, secret, 400)
