"""Forms of the casework package's staff pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length


class RouteForm(FlaskForm):
    """One row of the routing table."""

    queue_id = SelectField(_l("Queue"), coerce=int)
    active = BooleanField(_l("Offered on the form"))


class EscalationForm(FlaskForm):
    """The escalation queue (上级) for reports about a body's own principal leader."""

    name_zh = StringField(_l("Name (Chinese)"), default="上级纪委监委信访室",
                          validators=[DataRequired(), Length(max=100)])
    name_en = StringField(_l("Name (English)"), default="Petitions office at the level above",
                          validators=[DataRequired(), Length(max=100)])
