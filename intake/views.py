"""The public report form, the safety page, and the reporter's follow-up pages.

Views only parse and render: filing and every follow-up action is one service call. The
reporter's session cookie is signed, lives under /report only, ends with the browser, and
carries its exact expiry (30 minutes idle) so the database never holds it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from casework.models import Category, CategoryKind
from intake import evidence, messages, receipts, service
from intake import pow as proof_of_work
from intake.forms import (
    IdentityForm,
    LogoutForm,
    ReceiptForm,
    ReplyForm,
    ReportForm,
    WithdrawForm,
    subtype_choices,
)
from portal import crypto, db, state
from portal.access import public
from portal.config import Config
from portal.errors import describe, message_of
from portal.extensions import limiter
from portal.i18n import localized

bp = Blueprint("intake", __name__, url_prefix="/report")

REPORTER_COOKIE = "portal_reporter"
COOKIE_PATH = "/report"


def _cfg() -> Config:
    return state.config()


# --- rate limits: per client (off behind Tor) and an installation-wide ceiling -------------


def _behind_tor() -> bool:
    return _cfg().behind_tor


def _pow_exempt() -> bool:
    return _cfg().behind_tor and proof_of_work.request_exempt()


def _limits(per_client: str, ceiling: str) -> Callable[[Any], Any]:
    """The limits on the POSTs of a view, read from configuration at request time: per client,
    the installation's ceiling, and (behind Tor) the higher ceiling of solved proofs of work."""

    def decorate(view: Any) -> Any:
        view = limiter.limit(lambda: getattr(_cfg(), per_client), methods=["POST"],
                             exempt_when=_behind_tor)(view)
        view = limiter.limit(lambda: getattr(_cfg(), ceiling), methods=["POST"],
                             key_func=lambda: "installation-ceiling",
                             exempt_when=_pow_exempt)(view)
        return limiter.limit(lambda: _cfg().pow_ceiling, methods=["POST"],
                             key_func=lambda: "proof-of-work-ceiling",
                             exempt_when=lambda: not _pow_exempt())(view)

    return decorate


def _pow_context() -> dict[str, object]:
    """What a form needs to offer the proof-of-work exemption (behind Tor only)."""
    cfg = _cfg()
    if not cfg.behind_tor:
        return {"pow_challenge": None}
    return {"pow_challenge": proof_of_work.new_challenge(cfg.pow_bits), "pow_bits": cfg.pow_bits}


# --- the report form ------------------------------------------------------------------------


def _int_arg(value: str | None) -> int | None:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 10 else None


def _objection_asked(source: Mapping[str, str]) -> tuple[int | None, int | None] | None:
    """The notice and person of an objection the form is opened or sent for (None if not)."""
    notice, person = source.get("notice"), source.get("person")
    if not notice and not person:
        return None
    return _int_arg(notice), _int_arg(person)


def chosen_files(field_name: str = "files") -> list[FileStorage]:
    """The files actually chosen (browsers send one empty part when none is)."""
    return [f for f in request.files.getlist(field_name) if f.filename or f.content_length]


def _display_name(upload: FileStorage) -> str:
    name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if not name.strip("."):  # "." and "..": path components, not names
        name = ""
    return name[:120] or _("(unnamed file)")


def read_evidence(uploads: list[FileStorage], *, keep_names: bool = False, first: int = 1
                  ) -> tuple[list[service.Evidence], list[str], int]:
    """Check and clean every upload in memory; return the files, error messages and the
    status code those errors deserve (413 when a file is too large or a zip bomb).

    Files are named ``evidence-<first>.<type>``, ``evidence-<first + 1>.<type>``… unless
    ``keep_names``: a phone's names say when a photo was taken (#21, item 11)."""
    cfg = _cfg()
    if len(uploads) > cfg.max_files:
        return [], [_("At most %(n)d files can be attached.", n=cfg.max_files)], 400
    files, errors, status = [], [], 400
    expandable = evidence.REQUEST_MAX_EXPANDED  # what the request's packages may inflate to
    for upload in uploads:
        name = _display_name(upload)
        data = upload.stream.read(cfg.max_file_bytes + 1)
        try:
            clean = evidence.clean(data, max_bytes=cfg.max_file_bytes,
                                   max_pixels=cfg.max_image_pixels, max_expanded=expandable)
            expandable -= clean.expanded
        except evidence.EvidenceRejected as exc:
            errors.append(messages.evidence_error(name, exc.code, cfg.max_file_bytes))
            status = 413 if exc.code in ("too-large", "zip-bomb", "too-much-together") \
                else status
            continue
        if keep_names:
            files.append(service.Evidence(name, clean))
        else:
            number = first + len(files)
            files.append(service.Evidence(f"evidence-{number}.{clean.extension}", clean,
                                          sent_as=name))
    return files, errors, status


def _category_choices(form: ReportForm, categories: list[Category],
                      open_ids: set[int]) -> None:
    choices = []
    for c in categories:
        label = localized(c.name_zh, c.name_en)
        if c.id not in open_ids:
            choices.append(SelectChoice(c.id, _("%(label)s (not yet open)", label=label)))
        else:
            choices.append(SelectChoice(c.id, label))
    form.category.choices = choices
    form.subtype.choices = subtype_choices(categories)


def _report_input(form: ReportForm, category: Category,
                  objection: tuple[int, int] | None) -> service.ReportInput:
    identity = None
    if form.real_name.data:
        identity = service.Identity(form.reporter_name.data or "",
                                    form.reporter_phone.data or "", form.reporter_unit.data or "")
    persons = tuple(service.Person(p["name"], p["unit"], p["post"])
                    for p in form.persons.data if p["name"])
    subtype = ""
    if form.subtype.data:
        subtype = messages.subtype_label(category, form.subtype.data)
    return service.ReportInput(
        category_id=category.id, facts=form.facts.data or "", subtype=subtype, persons=persons,
        event_time=form.event_time.data or "", event_place=form.event_place.data or "",
        witnesses=form.witnesses.data or "", identity=identity,
        concerns_leader=form.concerns_leader.data == "yes", objection=objection)


def _check_report(form: ReportForm, category: Category | None, objection: Any) -> bool:
    """Checks that need the routing table; errors go on the fields."""
    ok = True
    if (category is not None and form.subtype.data
            and not messages.subtype_label(category, form.subtype.data)):
        form.subtype.errors = [_("This sub-type does not belong to the chosen category.")]
        ok = False
    named = any(p["name"] for p in form.persons.data)
    if category is not None and category.kind == CategoryKind.ordinary and not named:
        form.persons.errors = [_("Name at least one person the report is about.")]
        ok = False
    if category is not None and category.kind == CategoryKind.objection and objection is None \
            and not named:
        form.persons.errors = [_("Name the person you object to.")]
        ok = False
    return ok


@bp.route("", methods=["GET", "POST"])
@public
@_limits("report_limit", "report_ceiling")
def report() -> Response | tuple[str, int]:
    """The report form; a successful POST shows the receipt once."""
    source = request.form if request.method == "POST" else request.args
    choices = service.report_choices(db.session(), _objection_asked(source))
    if not choices.open_ids:
        abort(503, description="intake-closed")
    form = ReportForm()
    _category_choices(form, choices.categories, choices.open_ids)
    if request.method == "GET":
        form.form_token.data = crypto.random_token(24)
        form.notice.data, form.person.data = source.get("notice", ""), source.get("person", "")
        if choices.objection is not None:
            form.category.data = choices.objection_category
        return _report_page(form, choices, 200)
    if form.homepage.data:
        abort(400, description="honeypot")
    return _file(form, choices)


def _file(form: ReportForm, choices: service.ReportChoices) -> Response | tuple[str, int]:
    """Validate the sent form and its files, then file the report (one service call)."""
    category = next((c for c in choices.categories if c.id == form.category.data), None)
    uploads = chosen_files()
    valid = form.validate_on_submit() and _check_report(form, category, choices.objection)
    files, file_errors, status = (read_evidence(uploads, keep_names=bool(form.keep_names.data))
                                  if valid else ([], [], 400))
    if valid and not file_errors and category is not None:
        if category.id not in choices.open_ids:
            abort(503, description="intake-closed")
        person = choices.objection
        binding = (person.notice_id, person.id) if person is not None else None
        try:
            return _filed(service.file_report(db.session(),
                                              _report_input(form, category, binding), files,
                                              form.form_token.data or ""), files)
        except service.AlreadyFiled:
            return render_template("intake/already_filed.html"), 200
        except service.IntakeError as exc:
            message, code = describe(exc)
            if code != 400:
                raise  # the queue closed meanwhile: the error handler's 503 page
            form.category.errors = [message]
    form.files.errors = file_errors
    if uploads:
        flash(_("For your safety, files are never kept when a form is sent back for "
                "correction: please choose them again."), "warning")
    return _report_page(form, choices, status)


def _report_page(form: ReportForm, choices: service.ReportChoices,
                 status: int) -> tuple[str, int]:
    return render_template(
        "intake/report.html", form=form, categories=choices.categories,
        open_ids=choices.open_ids, escalation=choices.escalation, person=choices.objection,
        objection_refused=choices.objection_refused, max_files=_cfg().max_files,
        max_mb=_cfg().max_file_bytes // (1024 * 1024), **_pow_context(),
    ), status


def _filed(receipt: str, files: list[service.Evidence]) -> tuple[str, int]:
    return render_template("intake/filed.html", receipt=receipts.grouped(receipt), files=files,
                           removed_labels=messages.REMOVED_LABELS), 200


@bp.route("/safety")
@public
def safety() -> str:
    """How to report without being traced."""
    return render_template("intake/safety.html")


# --- the reporter's session -----------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key or b"", salt="portal/reporter-session")


def _set_reporter_cookie(response: Response, token: str) -> None:
    expires = int(time.time()) + 60 * _cfg().reporter_idle_minutes
    # No Max-Age: the cookie ends with the browser; the signed expiry ends it when idle.
    response.set_cookie(REPORTER_COOKIE, _serializer().dumps({"t": token, "e": expires}),
                        path=COOKIE_PATH, httponly=True, secure=_cfg().secure_cookies,
                        samesite="Strict")


def _clear_reporter_cookie(response: Response) -> None:
    response.delete_cookie(REPORTER_COOKIE, path=COOKIE_PATH, httponly=True,
                           secure=_cfg().secure_cookies, samesite="Strict")


def _current_reporter() -> service.Reporter | None:
    raw = request.cookies.get(REPORTER_COOKIE)
    if not raw:
        return None
    try:
        data = _serializer().loads(raw)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("t"), str):
        return None
    reporter = service.load_session(db.session(), data["t"])
    if reporter is not None and int(data.get("e", 0)) < time.time():
        service.end_session(db.session(), reporter)
        return None
    if reporter is not None:
        g.reporter_token = data["t"]
    return reporter


@bp.after_app_request
def _refresh_reporter_cookie(response: Response) -> Response:
    token = g.pop("reporter_token", None)
    if token and not g.get("reporter_logged_out"):
        _set_reporter_cookie(response, token)
    return response


def _require_reporter() -> service.Reporter:
    reporter = _current_reporter()
    if reporter is None:
        abort(redirect(url_for("intake.check", expired=1), code=303))
    return reporter


def _require_open_case() -> service.Reporter:
    """The reporter, for an action on the case: once it is closed (withdrawn in another tab,
    concluded meanwhile) the forms are gone from the page, so their errors could not be shown;
    say why at once instead, as for a valid form."""
    reporter = _require_reporter()
    if reporter.case.state not in service.OPEN_STATES:
        flash(message_of(service.IntakeError("case-closed")), "error")
        abort(redirect(url_for("intake.follow"), code=303))
    return reporter


@bp.route("/check", methods=["GET", "POST"])
@public
@_limits("receipt_check_limit", "receipt_check_ceiling")
def check() -> Response | tuple[str, int]:
    """Enter the receipt; a correct one opens a short reporter session."""
    form = ReceiptForm()
    status = 200
    if form.validate_on_submit():
        try:
            token = service.open_session(db.session(), form.receipt.data or "")
        except service.IntakeError as exc:
            message, status = describe(exc)
            form.receipt.errors = [message]
        else:
            response = redirect(url_for("intake.follow"), code=303)
            _set_reporter_cookie(response, token)
            return response
    elif request.method == "POST":
        status = 400
    return render_template("intake/check.html", form=form, expired=request.args.get("expired"),
                           **_pow_context()), status


def _follow_page(reporter: service.Reporter, status: int = 200, **forms: Any) -> tuple[str, int]:
    view = service.reporter_view(db.session(), reporter)
    return render_template(
        "intake/case.html", view=view, state_labels=messages.STATE_LABELS,
        removed_labels=messages.REMOVED_LABELS,
        reply_form=forms.get("reply_form") or ReplyForm(formdata=None),
        identity_form=forms.get("identity_form") or IdentityForm(formdata=None),
        withdraw_form=forms.get("withdraw_form") or WithdrawForm(formdata=None),
        logout_form=LogoutForm(formdata=None), max_files=_cfg().max_files,
        **_pow_context(),
    ), status


@bp.route("/case")
@public
def follow() -> tuple[str, int]:
    """The reporter's case: status, the conversation, and what they can still do."""
    return _follow_page(_require_reporter())


@bp.route("/case/reply", methods=["POST"])
@public
@_limits("followup_limit", "followup_ceiling")
def reply() -> Response | tuple[str, int]:
    """The reporter writes to the handlers and/or adds evidence."""
    reporter = _require_open_case()
    form = ReplyForm()
    uploads = chosen_files()
    if form.validate_on_submit():
        files, errors, status = read_evidence(
            uploads, keep_names=bool(form.keep_names.data),
            first=service.evidence_count(db.session(), reporter) + 1)
        if not errors and not form.text.data and not files:
            errors = [_("Write a message or choose a file.")]
        if not errors:
            try:
                service.reply(db.session(), reporter, form.text.data or "", files)
            except service.IntakeError as exc:
                flash(message_of(exc), "error")
                return redirect(url_for("intake.follow"), code=303)
            flash(_("Sent. The handlers will see it."), "ok")
            return redirect(url_for("intake.follow"), code=303)
        form.files.errors = errors
        return _follow_page(reporter, status, reply_form=form)
    return _follow_page(reporter, 400, reply_form=form)


@bp.route("/case/identity", methods=["POST"])
@public
@_limits("followup_limit", "followup_ceiling")
def identity() -> Response | tuple[str, int]:
    """The reporter adds their real name."""
    reporter = _require_open_case()
    form = IdentityForm()
    if not form.validate_on_submit():
        return _follow_page(reporter, 400, identity_form=form)
    try:
        service.add_identity(db.session(), reporter, service.Identity(
            form.reporter_name.data or "", form.reporter_phone.data or "",
            form.reporter_unit.data or ""))
    except service.IntakeError as exc:
        flash(message_of(exc), "error")
    else:
        flash(_("Your name was added. Only the handling office can read it."), "ok")
    return redirect(url_for("intake.follow"), code=303)


@bp.route("/case/withdraw", methods=["POST"])
@public
@_limits("followup_limit", "followup_ceiling")
def withdraw() -> Response | tuple[str, int]:
    """The reporter withdraws the report."""
    reporter = _require_open_case()
    form = WithdrawForm()
    if not form.validate_on_submit():
        return _follow_page(reporter, 400, withdraw_form=form)
    try:
        service.withdraw(db.session(), reporter)
    except service.IntakeError as exc:
        flash(message_of(exc), "error")
    else:
        flash(_("Your report was withdrawn."), "ok")
    return redirect(url_for("intake.follow"), code=303)


@bp.route("/case/logout", methods=["POST"])
@public
def logout() -> Response:
    """End the reporter session now."""
    reporter = _require_reporter()
    if not LogoutForm().validate_on_submit():
        abort(400)
    service.end_session(db.session(), reporter)
    g.reporter_logged_out = True
    response = redirect(url_for("intake.check", done=1), code=303)
    _clear_reporter_cookie(response)
    return response
