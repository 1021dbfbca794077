"""The compliance record in the import format, as pydantic models.

:class:`RecordModel` is the one description of a batch's record (the notice import's
`compliance` object, and the editor's form through :meth:`RecordForm.as_import`);
:func:`parse_record` checks it against the configured terms and thresholds.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from flask_babel import lazy_gettext as _l
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from publicity.compliance.validation import (
    BATCH_KINDS,
    CONSULTED,
    DECISIONS,
    FLAGS,
    INSPECTIONS,
    LIMITS,
    MAX_MEMBERS,
    MAX_NOMINEES,
    MEETING_BODIES,
    NOMINATORS,
    RELATIONSHIPS,
    InvalidRecord,
    NomineeInput,
    RecordInput,
    TermSpan,
)
from publicity.fields import (
    FULL_WIDTH,
    CadreId,
    Choice,
    Choices,
    Count,
    ErrorMap,
    FieldType,
    Flag,
    IsoDate,
    Text,
    context,
    lenient,
    problem,
    rows,
)
from publicity.validation import FieldError

_SHARE = re.compile(r"[0-9]{1,3}(\.[0-9]{1,2})?")

MESSAGES = {
    "nominee-object": _l("Each nominee must be an object with fields."),
    "cadre-required": _l("Required: it matches this person with earlier batches (rules 3 and "
                         "6), never the name."),
    "relationship-required": _l("An individual leader's nomination declares the relationship "
                                "(推荐干部登记表)."),
    "only-individual": _l("Only an individual leader's nomination names a nominator and a "
                          "relationship."),
    "not-passed": _l("Only a nominee who passed inspection can be approved."),
    "review-without-flag": _l("Only a person with a special flag needs the prefecture's review: "
                              "remove the reference or set the flag."),
    "ballot-first": _l("Record the full committee's ballot meeting first."),
    "more-votes": _l("More votes than members present (%(n)s)."),
    "share": _l("Must be a percentage from 0 to 100."),
    "share-format": _l("Must be a percentage from 0 to 100, with at most two decimals."),
    "no-term": _l("No such term: the administrator configures the terms."),
    "no-terms": _l("No term is configured yet: an administrator adds the term and its number of "
                   "leadership posts first."),
    "meeting-required": _l("Record the decision meeting."),
    "empty-body": _l("A meeting body has at least one member."),
    "more-present": _l("More members present (%(p)s) than in office (%(n)s)."),
    "outside-term": _l("The meeting lies outside the term %(term)s (%(a)s – %(b)s)."),
    "meeting-too-late": _l("The decision meeting comes before the notice and cannot lie in the "
                           "future: at the latest %(day)s."),
    "ballot-order": _l("The full committee votes after the standing committee's meeting (%(a)s) "
                       "and before the notice (at the latest %(b)s)."),
    "nominees-required": _l("List everyone considered in the batch, published or not."),
    "nominees-too-many": _l("At most %(n)s nominees."),
    "duplicate": _l("The same person is listed twice (nominee %(n)s)."),
    "approval-not-needed": _l("This batch promotes %(n)s, not more than %(limit)s: it needs no "
                              "prior approval. Remove the reference."),
}
ERRORS = ErrorMap(
    MESSAGES, rows="nominees",
    names={"": "compliance", "meeting": "meeting_date",
           "meeting.members_in_office": "members_in_office",
           "meeting.members_present": "members_present", "ballot": "ballot_date",
           "ballot.members_in_office": "ballot_in_office",
           "ballot.members_present": "ballot_present", "[].ballot": "ballot_for"},
    missing={"meeting": "meeting-required", "nominees": "nominees-required",
             "[].cadre_id": "cadre-required"},
    not_object={"[]": "nominee-object"},
)


class Share(FieldType):
    """A percentage with at most two decimals (also as text: "85.5", "85.5%"), read as basis
    points; missing is none."""

    def validate(self, raw: object, info: core_schema.ValidationInfo) -> int | None:
        if raw is None or raw == "":
            return None
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise problem("share")
        if isinstance(raw, int) and not 0 <= raw <= 999:  # str() of a huge int is refused
            raise problem("share-format")
        if isinstance(raw, float):
            text = f"{raw:.10f}".rstrip("0").rstrip(".")
        else:
            text = str(raw).translate(FULL_WIDTH).strip().removesuffix("%").strip()
        if not _SHARE.fullmatch(text):
            raise problem("share-format")
        whole, _dot, fraction = text.partition(".")
        points = int(whole) * 100 + int((fraction + "00")[:2])
        if points > 10000:
            raise problem("share")
        return points

    def json_schema(self) -> JsonSchemaValue:
        return {"anyOf": [{"type": "number", "minimum": 0, "maximum": 100},
                          {"type": "string",
                           "pattern": r"^\s*[0-9０-９]{1,3}([.．][0-9０-９]{1,2})?\s*[%％]?\s*$"},
                          {"type": "null"}]}


def _required(code: str) -> Any:
    """A before-validator: null is reported with `code` (an object given is checked as one)."""

    def check(raw: object) -> object:
        if raw is None:
            raise problem(code)
        return raw

    return BeforeValidator(check)


def _at_least_one(value: int) -> int:
    if value == 0:
        raise problem("empty-body")
    return value


def _not_more_than_in_office(value: int, info: ValidationInfo) -> int:
    in_office = info.data.get("members_in_office")
    if in_office is not None and value > in_office:
        raise problem("more-present", p=value, n=in_office)
    return value


MEMBERS = Count(MAX_MEMBERS)


class MeetingModel(BaseModel):
    """The decision meeting (standing or full committee) and its attendance."""

    model_config = ConfigDict(extra="forbid")

    body: Annotated[str, Choice(MEETING_BODIES)]
    date: Annotated[dt.date, IsoDate()]
    members_in_office: Annotated[int, MEMBERS]
    members_present: Annotated[int, MEMBERS]

    _members = field_validator("members_in_office")(_at_least_one)
    _attendance = field_validator("members_present")(_not_more_than_in_office)

    @field_validator("date")
    @classmethod
    def _in_term_and_past(cls, day: dt.date, info: ValidationInfo) -> dt.date:
        term: TermSpan | None = context(info).get("term")
        latest: dt.date | None = context(info).get("latest")
        if term and not term.starts_on <= day <= term.ends_on:
            raise problem("outside-term", term=term.name, a=term.starts_on.isoformat(),
                          b=term.ends_on.isoformat())
        if latest and day > latest:
            raise problem("meeting-too-late", day=latest.isoformat())
        return day


class BallotModel(BaseModel):
    """The full committee's secret ballot on important posts (rule 10)."""

    model_config = ConfigDict(extra="forbid")

    date: Annotated[dt.date, IsoDate()]
    members_in_office: Annotated[int, MEMBERS]
    members_present: Annotated[int, MEMBERS]

    _members = field_validator("members_in_office")(_at_least_one)
    _attendance = field_validator("members_present")(_not_more_than_in_office)

    @field_validator("date")
    @classmethod
    def _after_the_meeting(cls, day: dt.date, info: ValidationInfo) -> dt.date:
        meeting: dt.date | None = context(info).get("meeting_date")
        latest: dt.date | None = context(info).get("latest")
        if meeting and (day < meeting or (latest and day > latest)):
            raise problem("ballot-order", a=meeting.isoformat(), b=(latest or day).isoformat())
        return day


class VotesModel(BaseModel):
    """One nominee's tally in the full committee's secret ballot."""

    model_config = ConfigDict(extra="forbid")

    for_: Annotated[int, MEMBERS] = Field(alias="for")
    against: Annotated[int, MEMBERS]
    abstain: Annotated[int, MEMBERS]


def _text(name: str, required: bool = True) -> Text:
    return Text(LIMITS.get(name, 200), required=required)


class NomineeModel(BaseModel):
    """Someone considered in the batch, published or not; `cadre_id` matches the person
    across batches."""

    model_config = ConfigDict(extra="forbid")

    cadre_id: Annotated[str, CadreId(missing="cadre-required")]
    name: Annotated[str, _text("name")]
    proposed_post: Annotated[str, _text("proposed_post")]
    nominated_by: Annotated[str, Choice(NOMINATORS)]
    # Checked even when absent: an individual leader's nomination names both.
    nominator: Annotated[str | None, _text("nominator", required=False)] = Field(
        default=None, validate_default=True)
    relationship: Annotated[str | None, Choice(RELATIONSHIPS, required=False)] = Field(
        default=None, validate_default=True)
    promotion: Annotated[bool, Flag()] = True
    reserve_pool: Annotated[bool, Flag()] = False
    vote_share: Annotated[int | None, Share()] = None
    inspection: Annotated[str, Choice(INSPECTIONS)]
    decision: Annotated[str, Choice(DECISIONS)]
    consultation_objections: Annotated[tuple[str, ...], Choices(CONSULTED)] = ()
    flags: Annotated[tuple[str, ...], Choices(FLAGS)] = ()
    prefecture_review_ref: Annotated[str | None, _text("prefecture_review_ref",
                                                       required=False)] = None
    important_post: Annotated[bool, Flag()] = False
    ballot: VotesModel | None = None

    @field_validator("nominator")
    @classmethod
    def _named_when_individual(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("nominated_by") == "individual":
            raise problem("required")
        return value

    @field_validator("relationship")
    @classmethod
    def _declared_when_individual(cls, value: str | None, info: ValidationInfo) -> str | None:
        by = info.data.get("nominated_by")
        if value is None and by == "individual":
            raise problem("relationship-required")
        if by in ("org_department", "collective") and (value or info.data.get("nominator")):
            raise problem("only-individual", field="nominator")
        return value

    @field_validator("decision")
    @classmethod
    def _approved_after_inspection(cls, value: str, info: ValidationInfo) -> str:
        if value == "approved" and info.data.get("inspection") in ("failed", "not_inspected"):
            raise problem("not-passed")
        return value

    @field_validator("prefecture_review_ref")
    @classmethod
    def _review_for_flagged(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value and not info.data.get("flags"):
            raise problem("review-without-flag")
        return value

    @field_validator("ballot")
    @classmethod
    def _tally_fits_the_ballot(cls, votes: VotesModel | None,
                               info: ValidationInfo) -> VotesModel | None:
        if votes is None:
            return None
        if not context(info).get("balloted"):
            raise problem("ballot-first")
        present = context(info).get("ballot_present")
        if present is not None and votes.for_ + votes.against + votes.abstain > present:
            raise problem("more-votes", n=present)
        return votes


class RecordModel(BaseModel):
    """The process facts of a batch that the county plan's rules read."""

    model_config = ConfigDict(extra="forbid")

    batch_kind: Annotated[str, Choice(BATCH_KINDS)]
    term: Annotated[str, _text("term")]
    meeting: Annotated[MeetingModel, _required("meeting-required")]
    ballot: BallotModel | None = None
    nominees: Annotated[list[NomineeModel],
                        BeforeValidator(rows(MAX_NOMINEES, "nominees-required",
                                             "nominees-too-many")),
                        Field(min_length=1, max_length=MAX_NOMINEES)]
    prefecture_approval_ref: Annotated[str | None, _text("prefecture_approval_ref",
                                                         required=False)] = None

    @field_validator("term")
    @classmethod
    def _configured_term(cls, value: str, info: ValidationInfo) -> str:
        terms: Sequence[TermSpan] = context(info).get("terms", ())
        if not any(t.name == value for t in terms):
            raise problem("no-term" if terms else "no-terms")
        return value

    @field_validator("prefecture_approval_ref")
    @classmethod
    def _approval_needed(cls, value: str | None, info: ValidationInfo) -> str | None:
        # Only once every nominee is read: the count decides.
        nominees: list[NomineeModel] | None = info.data.get("nominees")
        limit = int(context(info).get("promotions_without_approval", 0))
        if value and nominees is not None:
            promoted = sum(1 for n in nominees if n.promotion and n.decision != "not_submitted")
            if promoted <= limit:
                raise problem("approval-not-needed", n=promoted, limit=limit)
        return value


TERM = TypeAdapter(Annotated[str, _text("term")])
DATE = TypeAdapter(Annotated[dt.date, IsoDate()])
COUNT = TypeAdapter(Annotated[int, MEMBERS])


def _facts(data: object, terms: Sequence[TermSpan]) -> dict[str, Any]:
    """What a row is checked against that lies elsewhere in the record: the term of the
    meeting, the meeting's date for the ballot, the ballot's attendance for each tally. Each is
    read as its own field reads it (None when refused: that refusal is reported there)."""
    raw = data if isinstance(data, Mapping) else {}
    meeting, ballot = raw.get("meeting"), raw.get("ballot")
    meeting = meeting if isinstance(meeting, Mapping) else {}
    name = lenient(TERM, raw.get("term"))
    return {
        "terms": terms, "term": next((t for t in terms if t.name == name), None),
        "meeting_date": lenient(DATE, meeting.get("date")),
        "balloted": isinstance(ballot, Mapping),
        "ballot_present": (lenient(COUNT, ballot.get("members_present"))
                           if isinstance(ballot, Mapping) else None),
    }


def _duplicates(data: object) -> list[FieldError]:
    """The same cadre id a second time, naming the first (across rows: no row sees this)."""
    raw = data.get("nominees") if isinstance(data, Mapping) else None
    if not isinstance(raw, list) or not 0 < len(raw) <= MAX_NOMINEES:
        return []
    seen: dict[str, int] = {}
    found = []
    for i, row in enumerate(raw):
        cadre_id = row.get("cadre_id") if isinstance(row, Mapping) else None
        if isinstance(cadre_id, str) and cadre_id:
            if cadre_id in seen:
                found.append(FieldError(i, "cadre_id",
                                        ERRORS.message("duplicate", n=seen[cadre_id] + 1)))
            seen.setdefault(cadre_id, i)
    return found


def parse_record(data: object, terms: Sequence[TermSpan], *,
                 promotions_without_approval: int, latest: dt.date | None = None
                 ) -> RecordInput:
    """Validate a record in the import format; raise InvalidRecord listing every problem.

    `promotions_without_approval` is rule 7's threshold: a prefecture approval reference on a
    batch that does not need one is refused (it would suggest a check that never happened).
    `latest` is the last day the meetings can have taken place: today, or the notice's start
    when earlier (the decision comes before its publicity). A date out of order would move a
    batch out of the history the rules read.
    """
    facts = {**_facts(data, terms), "latest": latest,
             "promotions_without_approval": promotions_without_approval}
    duplicates = _duplicates(data)
    try:
        record = RecordModel.model_validate(data, context=facts)
    except ValidationError as exc:
        raise InvalidRecord(ERRORS.errors(exc, duplicates)) from None
    if duplicates:
        raise InvalidRecord(duplicates)
    return _record(record)


def _record(r: RecordModel) -> RecordInput:
    return RecordInput(
        batch_kind=r.batch_kind, term=r.term, meeting_body=r.meeting.body,
        meeting_date=r.meeting.date, members_in_office=r.meeting.members_in_office,
        members_present=r.meeting.members_present,
        ballot_date=r.ballot.date if r.ballot else None,
        ballot_in_office=r.ballot.members_in_office if r.ballot else None,
        ballot_present=r.ballot.members_present if r.ballot else None,
        prefecture_approval_ref=r.prefecture_approval_ref,
        nominees=tuple(_nominee(n) for n in r.nominees))


def _nominee(n: NomineeModel) -> NomineeInput:
    return NomineeInput(
        cadre_id=n.cadre_id, name=n.name, proposed_post=n.proposed_post,
        nominated_by=n.nominated_by, inspection=n.inspection, decision=n.decision,
        promotion=n.promotion, nominator=n.nominator, relationship=n.relationship,
        reserve_pool=n.reserve_pool, vote_share_bp=n.vote_share,
        objections=n.consultation_objections, flags=n.flags,
        prefecture_review_ref=n.prefecture_review_ref, important_post=n.important_post,
        ballot_for=n.ballot.for_ if n.ballot else None,
        ballot_against=n.ballot.against if n.ballot else None,
        ballot_abstain=n.ballot.abstain if n.ballot else None)
