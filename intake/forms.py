"""Public forms: the report, the receipt check and the reporter's follow-up.

Lengths are generous but bounded; choices (category, sub-type) are filled from the routing table
at request time and validated against it.
"""

from __future__ import annotations

import json

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from casework.forms import MAX_TEXT
from casework.models import Category
from portal.forms import SubForm
from portal.i18n import localized

MAX_PERSONS = 3
MIN_FACTS = 10
MAX_FACTS = 20000


def _clean(value: str | None) -> str:
    """Trim and drop control characters other than line breaks and tabs."""
    text = (value or "").replace("\r\n", "\n").strip()
    return "".join(ch for ch in text if ch in "\n\t" or ch.isprintable())


class PersonForm(SubForm):
    """One person the report concerns."""

    name = StringField(_l("Name"), filters=[_clean], validators=[Optional(), Length(max=50)])
    unit = StringField(_l("Work unit"), filters=[_clean], validators=[Optional(), Length(max=100)])
    post = StringField(_l("Post"), filters=[_clean], validators=[Optional(), Length(max=100)])


def subtype_choices(categories: list[Category]) -> dict[str, list[SelectChoice]]:
    """Sub-types grouped by category (an optgroup each) with values "<category id>:<index>"."""
    groups: dict[str, list[SelectChoice]] = {"": [SelectChoice("", _l("(not specified)"))]}
    for c in categories:
        items = json.loads(c.subtypes or "[]")
        if items:
            groups[localized(c.name_zh, c.name_en)] = [
                SelectChoice(f"{c.id}:{i}", localized(s["zh"], s["en"]))
                for i, s in enumerate(items)
            ]
    return groups


class ReportForm(FlaskForm):
    """The report form (works without JavaScript)."""

    category = RadioField(_l("What is the report about?"), coerce=int,
                          validators=[InputRequired(_l("Choose a category."))])
    subtype = SelectField(_l("More precisely (optional)"), validators=[Optional()],
                          validate_choice=False)
    persons = FieldList(FormField(PersonForm), min_entries=MAX_PERSONS, max_entries=MAX_PERSONS)
    event_time = StringField(_l("When did it happen?"), filters=[_clean],
                             validators=[Optional(), Length(max=100)])
    event_place = StringField(_l("Where did it happen?"), filters=[_clean],
                              validators=[Optional(), Length(max=200)])
    facts = TextAreaField(
        _l("What happened"), filters=[_clean],
        validators=[DataRequired(_l("Describe what happened.")),
                    Length(min=MIN_FACTS, max=MAX_FACTS,
                           message=_l("Write between %(min)d and %(max)d characters."))],
        description=_l("Facts that can be checked: who did what, when and where, and how you "
                       "know it."))
    witnesses = TextAreaField(_l("Who else knows about it, or where can evidence be found?"),
                              filters=[_clean], validators=[Optional(), Length(max=2000)])
    files = MultipleFileField(_l("Evidence files (optional)"))
    # #21, item 11: names such as IMG_20261207_153012.jpg tell when a photo was taken.
    keep_names = BooleanField(
        _l("Keep my files' original names"),
        description=_l("Unless you tick this, your files are saved as evidence-1, evidence-2… "
                       "because a file name such as IMG_20261207_153012.jpg can tell when, and "
                       "on which phone, a photo was taken."))
    real_name = BooleanField(_l("I report under my real name (实名举报)"))
    reporter_name = StringField(_l("Your name"), filters=[_clean],
                                validators=[Optional(), Length(max=50)])
    reporter_phone = StringField(_l("Your telephone"), filters=[_clean],
                                 validators=[Optional(), Length(max=30)])
    reporter_unit = StringField(_l("Your work unit or address"), filters=[_clean],
                                validators=[Optional(), Length(max=100)])
    concerns_leader = RadioField(
        _l("Does the report concern the principal leader of the receiving body?"),
        choices=[SelectChoice("no", _l("No")), SelectChoice("yes", _l("Yes"))], default="no",
        validators=[Optional()])
    notice = HiddenField()
    person = HiddenField()
    form_token = HiddenField(validators=[DataRequired(), Length(min=20, max=64)])
    # Honeypot: hidden by CSS and from assistive technology; people leave it empty.
    homepage = StringField(_l("Leave this field empty"), validators=[Optional()])

    def validate_real_name(self, field: BooleanField) -> None:
        """A real-name report needs at least a name and a way to reach the person."""
        if field.data and not (self.reporter_name.data and (self.reporter_phone.data
                                                            or self.reporter_unit.data)):
            raise ValidationError(_l("For a real-name report, give your name and a telephone "
                                     "number or address."))


class ReceiptForm(FlaskForm):
    """The receipt check."""

    receipt = StringField(_l("Receipt code"), validators=[DataRequired(), Length(max=80)],
                          description=_l("20 digits; spaces and dashes do not matter."))


class ReplyForm(FlaskForm):
    """A reporter's message and/or more evidence."""

    text = TextAreaField(_l("Your message"), filters=[_clean],
                         validators=[Optional(), Length(max=MAX_FACTS)])
    files = MultipleFileField(_l("More evidence files (optional)"))
    keep_names = BooleanField(
        _l("Keep my files' original names"),
        description=_l("Unless you tick this, your files are saved as evidence-1, evidence-2… "
                       "because a file name such as IMG_20261207_153012.jpg can tell when, and "
                       "on which phone, a photo was taken."))


class IdentityForm(FlaskForm):
    """A reporter adds their real name after filing."""

    reporter_name = StringField(_l("Your name"), filters=[_clean],
                                validators=[DataRequired(), Length(max=50)])
    reporter_phone = StringField(_l("Your telephone"), filters=[_clean],
                                 validators=[Optional(), Length(max=30)])
    reporter_unit = StringField(_l("Your work unit or address"), filters=[_clean],
                                validators=[Optional(), Length(max=100)])


class WithdrawForm(FlaskForm):
    """Withdrawing a report needs an explicit confirmation."""

    confirm = BooleanField(_l("Yes, withdraw my report"),
                           validators=[DataRequired(_l("Tick the box to confirm."))])


class LogoutForm(FlaskForm):
    """Ending the reporter session."""


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
    facts = TextAreaField(_l("What the reporter said"), filters=[_clean], validators=[
        DataRequired(_l("This field is required.")),
        Length(max=MAX_TEXT, message=_l("At most %(max)d characters."))])
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
