"""Editor forms. Domain validation lives in publicity.validation; these only carry the fields."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FormField,
    HiddenField,
    IntegerField,
    RadioField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from portal.forms import FieldList, SubForm
from publicity.validation import FIELD_LABELS, LIMITS, MAX_PERSONS


def _text(name: str, area: bool = False) -> StringField | TextAreaField:
    field_class = TextAreaField if area else StringField
    return field_class(FIELD_LABELS[name], validators=[Optional(),
                                                       Length(max=LIMITS.get(name, 200) * 2)])


class PersonForm(SubForm):
    """One person of the notice (no CSRF of its own: it is part of NoticeForm)."""

    name = _text("name")
    gender = RadioField(FIELD_LABELS["gender"], choices=[SelectChoice("男", "男"),
                                                         SelectChoice("女", "女")],
                        validators=[Optional()])
    ethnicity = _text("ethnicity")
    birth = StringField(FIELD_LABELS["birth"], validators=[Optional(), Length(max=7)],
                        description=_l("YYYY-MM, e.g. 1980-05"))
    native_place = _text("native_place")
    education = _text("education")
    work_start = StringField(FIELD_LABELS["work_start"], validators=[Optional(), Length(max=7)],
                             description=_l("YYYY-MM, e.g. 2002-07"))
    party = _text("party")
    current_post = _text("current_post")
    proposed_post = _text("proposed_post")
    exceptional = BooleanField(FIELD_LABELS["exceptional"])
    exceptional_circumstance = _text("exceptional_circumstance")
    exceptional_reason = _text("exceptional_reason", area=True)
    resume = _text("resume", area=True)
    cadre_id = StringField(FIELD_LABELS["cadre_id"], validators=[Optional(), Length(max=64)])

    def as_import(self) -> dict[str, object]:
        """The person in the import format (None for empty optional fields)."""
        data: dict[str, object] = {
            name: (getattr(self, name).data or "").strip() or None
            for name in ("name", "gender", "ethnicity", "birth", "native_place", "education",
                         "work_start", "party", "current_post", "proposed_post", "resume",
                         "cadre_id")
        }
        data["exceptional"] = ({"circumstance": self.exceptional_circumstance.data,
                                "reason": self.exceptional_reason.data}
                               if self.exceptional.data else None)
        return data


class NoticeForm(FlaskForm):
    """A notice with its persons; "add person" works without JavaScript (a second button)."""

    title = _text("title")
    issuer = _text("issuer")
    period_start = DateField(FIELD_LABELS["period_start"], validators=[DataRequired()])
    working_days = IntegerField(FIELD_LABELS["working_days"], default=5,
                                validators=[DataRequired()])
    phone = _text("phone")
    letter_address = _text("letter_address")
    visit_address = _text("visit_address")
    persons = FieldList(FormField(PersonForm), min_entries=1, max_entries=MAX_PERSONS)
    editor_note = TextAreaField(_l("Note for editors (never published)"),
                                validators=[Optional(), Length(max=2000)])
    version = HiddenField()
    add_person = SubmitField(_l("Add a person"))
    remove_person = SubmitField(_l("Remove the last person"))
    save = SubmitField(_l("Save draft"))

    def as_import(self) -> dict[str, object]:
        """The notice in the import format, for publicity.validation."""
        return {
            "title": self.title.data, "issuer": self.issuer.data,
            "period_start": self.period_start.data.isoformat() if self.period_start.data else "",
            "working_days": self.working_days.data,
            "phone": self.phone.data, "letter_address": self.letter_address.data,
            "visit_address": self.visit_address.data,
            "persons": [entry.form.as_import() for entry in self.persons],
        }


class ReasonForm(FlaskForm):
    """A reason (withdrawal), published with the change."""

    reason = TextAreaField(_l("Reason (published)"), validators=[DataRequired(),
                                                                 Length(max=2000)])


class CorrectionForm(NoticeForm):
    """A correction: the same fields, plus the published reason."""

    reason = TextAreaField(_l("Reason for the correction (published)"),
                           validators=[Length(max=2000)])
    save = SubmitField(_l("Propose the correction"))


class OutcomeForm(FlaskForm):
    """Record the outcome for one person."""

    outcome = RadioField(
        _l("Outcome"),
        choices=[SelectChoice("suspended", _l("Suspend (暂缓)")),
                 SelectChoice("appointed", _l("Proceed with the appointment")),
                 SelectChoice("withdrawn", _l("Do not appoint"))],
        validators=[DataRequired()],
    )
