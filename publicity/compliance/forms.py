"""Compliance forms. They only carry the fields: the record is checked by
publicity.compliance.validation (through :meth:`RecordForm.as_import`), the terms and the
thresholds by publicity.compliance.service, so every message comes from one place."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional
from wtforms.widgets import CheckboxInput, ListWidget

from portal.forms import FieldList, SubForm
from publicity.compliance import rules
from publicity.compliance.validation import (
    BATCH_KINDS,
    CONSULTED,
    DECISIONS,
    FIELD_LABELS,
    FLAGS,
    INSPECTIONS,
    MAX_NOMINEES,
    MEETING_BODIES,
    NOMINATORS,
    RELATIONSHIPS,
)

DATE_INPUT = {"type": "date"}
NUMBER_INPUT = {"inputmode": "numeric"}


def _choices(values: Mapping[str, object]) -> list[SelectChoice]:
    """A blank first choice (nothing chosen yet), then the values with their labels."""
    return [SelectChoice("", "—"), *(SelectChoice(k, label) for k, label in values.items())]


def _select(name: str, values: Mapping[str, object]) -> SelectField:
    # validate_choice=False: an unknown value reaches parse_record, which names it in the
    # portal's own words like every other record error.
    return SelectField(FIELD_LABELS[name], choices=_choices(values), validate_choice=False)


class CheckboxesField(SelectMultipleField):
    """Several checkboxes for one multi-valued field (works without JavaScript); the values
    are checked by parse_record."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _text(name: str, **kwargs: object) -> StringField:
    return StringField(FIELD_LABELS[name], **kwargs)


def _clean(value: object) -> str | None:
    """A typed value stripped, None when nothing was typed."""
    text = str(value or "").strip()
    return text or None


def _shown(value: object) -> str:
    return "" if value is None else str(value)


class NomineeForm(SubForm):
    """One person considered in the batch (part of RecordForm, no CSRF of its own)."""

    cadre_id = _text("cadre_id", description=_l("The id in the cadre management system: it "
                                                "matches the person across batches."))
    name = _text("name")
    proposed_post = _text("proposed_post")
    promotion = BooleanField(FIELD_LABELS["promotion"], default=True)
    nominated_by = _select("nominated_by", NOMINATORS)
    nominator = _text("nominator", description=_l("Only for an individual leader's "
                                                  "nomination."))
    relationship = _select("relationship", RELATIONSHIPS)
    reserve_pool = BooleanField(FIELD_LABELS["reserve_pool"])
    vote_share = _text("vote_share", render_kw=NUMBER_INPUT,
                       description=_l("e.g. 85 or 85.5; empty when no recommendation vote was "
                                      "held."))
    inspection = _select("inspection", INSPECTIONS)
    decision = _select("decision", DECISIONS)
    consultation_objections = CheckboxesField(
        FIELD_LABELS["consultation_objections"],
        choices=[SelectChoice(k, label) for k, label in CONSULTED.items()],
        validate_choice=False)
    flags = CheckboxesField(FIELD_LABELS["flags"],
                            choices=[SelectChoice(k, label) for k, label in FLAGS.items()],
                            validate_choice=False)
    prefecture_review_ref = _text("prefecture_review_ref")
    important_post = BooleanField(FIELD_LABELS["important_post"])
    ballot_for = _text("ballot_for", render_kw=NUMBER_INPUT)
    ballot_against = _text("ballot_against", render_kw=NUMBER_INPUT)
    ballot_abstain = _text("ballot_abstain", render_kw=NUMBER_INPUT)

    def as_import(self) -> dict[str, object]:
        """The nominee in the import format (None for what was left empty)."""
        votes = {"for": self.ballot_for.data, "against": self.ballot_against.data,
                 "abstain": self.ballot_abstain.data}
        return {
            "cadre_id": (self.cadre_id.data or "").strip(),
            "name": _clean(self.name.data), "proposed_post": _clean(self.proposed_post.data),
            "promotion": bool(self.promotion.data),
            "nominated_by": self.nominated_by.data or None,
            "nominator": _clean(self.nominator.data),
            "relationship": self.relationship.data or None,
            "reserve_pool": bool(self.reserve_pool.data),
            "vote_share": _clean(self.vote_share.data),
            "inspection": self.inspection.data or None, "decision": self.decision.data or None,
            "consultation_objections": list(self.consultation_objections.data or []),
            "flags": list(self.flags.data or []),
            "prefecture_review_ref": _clean(self.prefecture_review_ref.data),
            "important_post": bool(self.important_post.data),
            # A ballot only when a count was typed; then every count is required.
            "ballot": ({k: _clean(v) for k, v in votes.items()}
                       if any(_clean(v) for v in votes.values()) else None),
        }

    def fill(self, data: Mapping[str, object]) -> None:
        """Show a nominee given in the import format."""
        for name in ("cadre_id", "name", "proposed_post", "nominator", "vote_share",
                     "prefecture_review_ref"):
            getattr(self, name).data = _shown(data.get(name))
        for name in ("nominated_by", "relationship", "inspection", "decision"):
            getattr(self, name).data = data.get(name) or ""
        self.promotion.data = bool(data.get("promotion", True))
        self.reserve_pool.data = bool(data.get("reserve_pool"))
        self.important_post.data = bool(data.get("important_post"))
        self.consultation_objections.data = list(data.get("consultation_objections")
                                                 or [])  # type: ignore[call-overload]
        self.flags.data = list(data.get("flags") or [])  # type: ignore[call-overload]
        votes = data.get("ballot")
        votes = votes if isinstance(votes, Mapping) else {}
        for key in ("for", "against", "abstain"):
            getattr(self, f"ballot_{key}").data = _shown(votes.get(key))


class RecordForm(FlaskForm):
    """The process facts of a batch; rows are added or removed with buttons (no JavaScript)."""

    batch_kind = _select("batch_kind", BATCH_KINDS)
    term = SelectField(FIELD_LABELS["term"], choices=[], validate_choice=False)
    meeting_body = _select("meeting_body", MEETING_BODIES)
    meeting_date = _text("meeting_date", render_kw=DATE_INPUT,
                         description=_l("YYYY-MM-DD"))
    members_in_office = _text("members_in_office", render_kw=NUMBER_INPUT)
    members_present = _text("members_present", render_kw=NUMBER_INPUT)
    ballot_date = _text("ballot_date", render_kw=DATE_INPUT,
                        description=_l("Only when the full committee voted by secret ballot "
                                       "(important posts, rule 10)."))
    ballot_in_office = _text("ballot_in_office", render_kw=NUMBER_INPUT)
    ballot_present = _text("ballot_present", render_kw=NUMBER_INPUT)
    prefecture_approval_ref = _text(
        "prefecture_approval_ref",
        description=_l("Only when the batch promotes more persons than the prefecture allows "
                       "without its approval (rule 7)."))
    nominees = FieldList(FormField(NomineeForm), min_entries=1, max_entries=MAX_NOMINEES)
    version = HiddenField()
    add_nominee = SubmitField(_l("Add a nominee"))
    remove_nominee = SubmitField(_l("Remove the last nominee"))
    save = SubmitField(_l("Save the record"))

    def set_terms(self, names: list[str]) -> None:
        """Offer the configured terms (by name, as the import format names them)."""
        self.term.choices = [SelectChoice("", "—"), *(SelectChoice(n, n) for n in names)]

    def as_import(self) -> dict[str, object]:
        """The record in the import format, for validation.parse_record."""
        ballot = {"date": _clean(self.ballot_date.data),
                  "members_in_office": _clean(self.ballot_in_office.data),
                  "members_present": _clean(self.ballot_present.data)}
        return {
            "batch_kind": self.batch_kind.data or None,
            "term": self.term.data or None,
            "meeting": {"body": self.meeting_body.data or None,
                        "date": _clean(self.meeting_date.data),
                        "members_in_office": _clean(self.members_in_office.data),
                        "members_present": _clean(self.members_present.data)},
            # The full committee's ballot only when something of it was typed.
            "ballot": ballot if any(ballot.values()) else None,
            "prefecture_approval_ref": _clean(self.prefecture_approval_ref.data),
            "nominees": [entry.form.as_import() for entry in self.nominees],
        }

    def fill(self, data: Mapping[str, object]) -> None:
        """Show a record given in the import format (the stored one, or a starting point)."""
        self.batch_kind.data = data.get("batch_kind") or ""
        self.term.data = data.get("term") or ""
        meeting = data.get("meeting")
        meeting = meeting if isinstance(meeting, Mapping) else {}
        self.meeting_body.data = meeting.get("body") or ""
        self.meeting_date.data = _shown(meeting.get("date"))
        self.members_in_office.data = _shown(meeting.get("members_in_office"))
        self.members_present.data = _shown(meeting.get("members_present"))
        ballot = data.get("ballot")
        ballot = ballot if isinstance(ballot, Mapping) else {}
        self.ballot_date.data = _shown(ballot.get("date"))
        self.ballot_in_office.data = _shown(ballot.get("members_in_office"))
        self.ballot_present.data = _shown(ballot.get("members_present"))
        self.prefecture_approval_ref.data = _shown(data.get("prefecture_approval_ref"))
        nominees = data.get("nominees")
        rows = [n for n in nominees if isinstance(n, Mapping)] if isinstance(
            nominees, list) else []
        while len(self.nominees) < len(rows):
            self.nominees.append_entry()
        for entry, row in zip(self.nominees.entries, rows, strict=False):
            entry.form.fill(row)


class OverrideForm(FlaskForm):
    """The organization department head sets one rule aside for one draft, with a reason."""

    rule = HiddenField()
    version = HiddenField()  # the draft reviewed (Notice.version): a draft changed since is refused
    reason = TextAreaField(_l("Reason for the override (recorded in the audit log and shown "
                              "to supervisors)"),
                           description=_l("At least 10 characters."))


class TermForm(FlaskForm):
    """Add a term (届期) or change one (term_id set)."""

    term_id = HiddenField()
    name = StringField(_l("Name of the term"), description=_l("e.g. 第十五届"))
    starts_on = DateField(_l("First day"), validators=[Optional()])
    ends_on = DateField(_l("Last day"), validators=[Optional()])
    leadership_posts = IntegerField(_l("Number of leadership posts (领导干部职数)"),
                                    validators=[Optional()], render_kw=NUMBER_INPUT)
    save_term = SubmitField(_l("Save the term"))


class SettingsForm(FlaskForm):
    """Every rule threshold (one text field each, see rules.THRESHOLDS) and the public line."""

    show_attendance = BooleanField(
        _l("Show the deciding body and its attendance on each public notice"),
        description=_l("e.g. 经县委常委会研究（应到11人，实到9人）. Off by default."))
    save_settings = SubmitField(_l("Save the settings"))

    def threshold_fields(self) -> list[tuple[rules.Threshold, StringField]]:
        """The threshold fields in the plan's order, with their thresholds."""
        return [(t, self[t.key]) for t in rules.THRESHOLDS]


for _threshold in rules.THRESHOLDS:
    setattr(SettingsForm, _threshold.key, StringField(
        _threshold.label,
        description=_l("Rule %(n)s; the plan says %(default)s.", n=_threshold.rule,
                       default=_threshold.default)))
