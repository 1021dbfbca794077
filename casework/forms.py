"""Forms of the casework package's staff pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    MultipleFileField,
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


class RegisterForm(FlaskForm):
    """A report received by phone, letter or visit."""

    channel = SelectField(_l("Received by"))
    category = SelectField(_l("Category"), coerce=int)
    person_1 = StringField(_l("Person concerned"), filters=[_clean],
                           validators=[Optional(), Length(max=50)])
    unit_1 = StringField(_l("Their work unit and post"), filters=[_clean],
                         validators=[Optional(), Length(max=100)])
    person_2 = StringField(_l("Another person concerned"), filters=[_clean],
                           validators=[Optional(), Length(max=50)])
    unit_2 = StringField(_l("Their work unit and post"), filters=[_clean],
                         validators=[Optional(), Length(max=100)])
    event_time = StringField(_l("When"), filters=[_clean],
                             validators=[Optional(), Length(max=100)])
    event_place = StringField(_l("Where"), filters=[_clean],
                              validators=[Optional(), Length(max=200)])
    facts = TextAreaField(_l("What the reporter said"), filters=[_clean], validators=_TEXT)
    witnesses = TextAreaField(_l("Witnesses and evidence"), filters=[_clean],
                              validators=[Optional(), Length(max=2000)])
    reporter_name = StringField(_l("Reporter's name (real-name report only)"),
                                filters=[_clean], validators=[Optional(), Length(max=50)])
    reporter_phone = StringField(_l("Reporter's telephone"), filters=[_clean],
                                 validators=[Optional(), Length(max=30)])
    reporter_unit = StringField(_l("Reporter's work unit or address"), filters=[_clean],
                                validators=[Optional(), Length(max=100)])
    files = MultipleFileField(_l("Evidence handed in or scanned (optional)"))
    concerns_leader = BooleanField(_l("The report concerns the principal leader of this body "
                                      "(it goes to the level above, which this queue cannot "
                                      "open)"))
    give_receipt = BooleanField(_l("Give the reporter a receipt code to follow the case"))
    form_token = HiddenField(validators=[DataRequired(), Length(min=20, max=64)])
