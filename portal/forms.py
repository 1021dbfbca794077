"""Forms of the shell (login, activation, administration)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.i18n import translations
from wtforms import (
    DateField,
    Form,
    HiddenField,
    PasswordField,
    RadioField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.fields.list import FieldList as BaseFieldList
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from portal.models import Role

ROLE_LABELS = {
    Role.admin: _l("Administrator"),
    Role.publicity_editor: _l("Publicity editor"),
    Role.org_handler: _l("Organization department handler"),
    Role.org_head: _l("Organization department head"),
    Role.dic_handler: _l("Discipline commission handler"),
    Role.dic_head: _l("Discipline commission head"),
    Role.supervisor: _l("Supervisor"),
    Role.escalation_handler: _l("Escalation queue handler (level above)"),
}


def whole_number(raw: str | None, digits: int = 9) -> int | None:
    """An id, version or rule number from a form or a query string: at most `digits` ASCII
    digits, else None. (str.isdigit() also accepts '²' and '٣', on which int() fails.)"""
    text = (raw or "").strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= digits else None


def posted_version(raw: str | None) -> int:
    """The version of a record a form was filled from; -1 (never a version, so the change is
    refused as stale) when the form carries none that is readable."""
    version = whole_number(raw)
    return -1 if version is None else version


class SubForm(Form):
    """A form nested in a FlaskForm (FormField, FieldList): a plain WTForms form would give
    WTForms' own messages ("Field cannot be longer than…") in English on every page; this one
    gives them in the page language, like FlaskForm."""

    class Meta:
        def get_translations(self, form: Form) -> object:
            return translations


_INDEX = re.compile(r"[0-9]{1,4}")


class FieldList(BaseFieldList):
    """A list of rows (`nominees-0-name`, `nominees-1-name`…) whose row numbers are 1–4 ASCII
    digits: WTForms' own calls int() on whatever str.isdigit() accepts, so `nominees-²-name`
    (a superscript two) or a 5000-digit index was a server error. Other names are ignored,
    as WTForms ignores any name that is not a number."""

    def _extract_indices(self, prefix: str, formdata: Iterable[str]) -> Iterator[int]:
        offset = len(prefix) + 1
        for key in formdata:
            if key.startswith(prefix):
                index = key[offset:].split(self._field_separator, 1)[0]
                if _INDEX.fullmatch(index):
                    yield int(index)


class MultiCheckboxField(SelectMultipleField):
    """Several checkboxes for one multi-valued field (works without JavaScript); here, roles."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Form) -> None:
        """A value that is none of the boxes (a tampered form): WTForms has no Chinese for its
        own message, so say it in the portal's words."""
        try:
            super().pre_validate(form)
        except ValidationError:
            raise ValidationError(_l("Unknown role.")) from None


class LoginForm(FlaskForm):
    """Passphrase plus TOTP on one page."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    passphrase = PasswordField(_l("Passphrase"), validators=[DataRequired(), Length(max=256)])
    totp = StringField(
        _l("Code from your authenticator app"),
        validators=[DataRequired(), Length(max=12)],
        description=_l("Six digits, changing every 30 seconds."),
    )
    next = HiddenField()


class ActivateStartForm(FlaskForm):
    """Step one of activation: the two halves of the one-time code (#21.3)."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    code = StringField(_l("First half of the activation code"),
                       validators=[DataRequired(), Length(max=64)],
                       description=_l("From the administrator who created or reset your "
                                      "account."))
    code2 = StringField(_l("Second half of the activation code"),
                        validators=[Length(max=64)],
                        description=_l("From the second person who confirmed it: another "
                                       "administrator or the head of your department."))


class ActivateFinishForm(FlaskForm):
    """Step two of activation: own passphrase and a first TOTP code."""

    username = HiddenField(validators=[DataRequired(), Length(max=64)])
    code = HiddenField(validators=[DataRequired(), Length(max=128)])
    passphrase = PasswordField(
        _l("New passphrase"),
        validators=[DataRequired(), Length(max=256)],
        description=_l(
            "At least 12 characters; several unrelated words are easiest to remember. "
            "Nobody, administrators included, can see or recover it."
        ),
    )
    confirm = PasswordField(
        _l("Repeat the passphrase"),
        validators=[DataRequired(), EqualTo("passphrase", message=_l("The two entries differ."))],
    )
    totp = StringField(
        _l("Code shown by your authenticator app"), validators=[DataRequired(), Length(max=12)]
    )


class CreateAccountForm(FlaskForm):
    """Admin: a new account with roles only (no password)."""

    username = StringField(
        _l("Username"),
        validators=[DataRequired(), Length(max=64)],
        description=_l("Lower-case letters, digits, dot, dash or underscore."),
    )
    roles = MultiCheckboxField(
        _l("Roles"),
        choices=[SelectChoice(r.value, label) for r, label in ROLE_LABELS.items()],
        validators=[InputRequired(message=_l("Choose at least one role."))],
    )


class RolesForm(FlaskForm):
    """Admin: replace an account's roles."""

    roles = MultiCheckboxField(
        _l("Roles"),
        choices=[SelectChoice(r.value, label) for r, label in ROLE_LABELS.items()],
        validators=[InputRequired(message=_l("Choose at least one role."))],
    )


# Shown when an address is refused (the form and `staff email`).
INVALID_EMAIL = _l("Enter an e-mail address such as name@example.gov.cn, or leave the field "
                   "empty for no e-mail.")


class EmailForm(FlaskForm):
    """Admin: where an account's content-free notices go (empty: none)."""

    email = StringField(
        _l("E-mail for notices"),
        validators=[Length(max=254, message=INVALID_EMAIL)],
        description=_l("Only notices that a case is waiting, never report content."),
    )


class ConfirmForm(FlaskForm):
    """A button that only needs its CSRF token."""


class CalendarOverrideForm(FlaskForm):
    """Admin: mark one day as a working day or a holiday."""

    day = DateField(_l("Date"), validators=[DataRequired()])
    kind = RadioField(
        _l("This day is"),
        choices=[SelectChoice("workday", _l("a working day")),
                 SelectChoice("holiday", _l("a day off"))],
        validators=[DataRequired()],
    )
