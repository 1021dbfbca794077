"""Forms of the casework package's staff pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput


class RouteForm(FlaskForm):
    """One row of the routing table."""

    queue_id = SelectField(_l("Queue"), coerce=int)
    active = BooleanField(_l("Offered on the form"))


class QueueSettingsForm(FlaskForm):
    """A queue's casework settings (PRODUCT.md: dispositions and deadlines per queue)."""

    dispositions = TextAreaField(
        _l("Dispositions on acceptance"), validators=[DataRequired(), Length(max=4000)],
        description=_l("One per line: 中文 | English."))
    decision_days = IntegerField(_l("Accept or refuse within (working days after receipt)"),
                                 validators=[InputRequired(), NumberRange(1, 250)])
    transfer_days = IntegerField(_l("Decide a transferred case within (working days)"),
                                 validators=[InputRequired(), NumberRange(1, 250)])
    conclusion_days = IntegerField(_l("Conclude within (working days after acceptance)"),
                                   validators=[InputRequired(), NumberRange(1, 250)])
    notice_days = IntegerField(_l("Tell a real-name reporter within (working days)"),
                               validators=[InputRequired(), NumberRange(1, 250)])
    signoff_required = BooleanField(_l("Refusals and conclusions need a second head's "
                                       "sign-off"))


class EscalationForm(FlaskForm):
    """The escalation queue (上级) for reports about a body's own principal leader."""

    name_zh = StringField(_l("Name (Chinese)"), default="上级纪委监委信访室",
                          validators=[DataRequired(), Length(max=100)])
    name_en = StringField(_l("Name (English)"), default="Petitions office at the level above",
                          validators=[DataRequired(), Length(max=100)])


# --- casework actions (each carries the case version the member saw) --------------------


def _clean(value: str | None) -> str:
    text = (value or "").replace("\r\n", "\n").strip()
    return "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())


MAX_TEXT = 20_000
_TEXT = [DataRequired(_l("This field is required.")),
         Length(max=MAX_TEXT, message=_l("At most %(max)d characters."))]


class VersionForm(FlaskForm):
    """An action on a case: the version the member saw, so a stale form is refused."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])


class AcceptForm(VersionForm):
    """受理 with a disposition."""

    disposition = SelectField(_l("Disposition"), validators=[DataRequired()])


class RefuseForm(VersionForm):
    """不予受理."""

    reason = SelectField(_l("Reason"), validators=[DataRequired()])
    answer = TextAreaField(_l("Answer the reporter will read"), filters=[_clean],
                           validators=_TEXT)
    explanation = TextAreaField(_l("Internal explanation (optional, never shown to the "
                                   "reporter)"), filters=[_clean],
                                validators=[Optional(), Length(max=MAX_TEXT)])


class ConcludeForm(VersionForm):
    """办结 with a finding."""

    finding = SelectField(_l("Finding"), validators=[DataRequired()])
    answer = TextAreaField(_l("Answer the reporter will read"), filters=[_clean],
                           validators=_TEXT)


class SignOffForm(VersionForm):
    """A head's sign-off of a pending refusal or conclusion."""

    decision = SelectField(_l("Decision"), choices=[
        SelectChoice("approve", _l("Approve")), SelectChoice("return", _l("Send back"))])
    comment = TextAreaField(_l("Comment (internal, optional)"), filters=[_clean],
                            validators=[Optional(), Length(max=MAX_TEXT)])


class AssignForm(VersionForm):
    """Assignment by a head (0: nobody)."""

    user = SelectField(_l("Handler"), coerce=int)


class TransferForm(VersionForm):
    """Transfer to another queue."""

    queue = SelectField(_l("To queue"), coerce=int)
    reason = TextAreaField(_l("Reason"), filters=[_clean], validators=_TEXT)


class OutsideForm(VersionForm):
    """Transfer to an outside body."""

    body = StringField(_l("Body"), filters=[_clean],
                       validators=[DataRequired(), Length(max=200)])
    reason = TextAreaField(_l("Reason"), filters=[_clean], validators=_TEXT)


class TextForm(VersionForm):
    """A message to the reporter or an internal note."""

    text = TextAreaField(_l("Text"), filters=[_clean], validators=_TEXT)


class ReasonForm(VersionForm):
    """An action that needs a reason (reopen, reveal)."""

    reason = TextAreaField(_l("Reason"), filters=[_clean], validators=_TEXT)


class FeedbackForm(VersionForm):
    """Feedback given to a real-name reporter."""

    kind = SelectField(_l("What was told"))
    channel = SelectField(_l("How"))
    given_on = DateField(_l("On"), validators=[InputRequired()])


class ExtendForm(VersionForm):
    """延期 by a head."""

    deadline = SelectField(_l("Deadline"), coerce=int)
    days = IntegerField(_l("Working days"), validators=[InputRequired(), NumberRange(1, 60)])
    reason = TextAreaField(_l("Reason"), filters=[_clean], validators=_TEXT)


class DuplicateForm(VersionForm):
    """重复举报: link to the earlier case."""

    original = StringField(_l("Earlier case number"), filters=[_clean],
                           validators=[DataRequired(), Length(max=20)])
    answer = TextAreaField(_l("Answer the reporter will read"), filters=[_clean],
                           validators=_TEXT)


class HandoverForm(FlaskForm):
    """Hand every open case of one handler to another."""

    from_user = SelectField(_l("From"), coerce=int)
    to_user = SelectField(_l("To"), coerce=int)


class SearchForm(FlaskForm):
    """Earlier cases about a person (blind index; nothing is decrypted)."""

    class Meta:
        csrf = False

    name = StringField(_l("Name of the person concerned"), filters=[_clean],
                       validators=[DataRequired(), Length(max=50)])
