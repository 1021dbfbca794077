"""The compliance record in the import format, checked as a whole.

One path for every source, as for notices: the editor's form and `notices import` both build a
mapping in the import format (README, "Compliance record") and pass it through
:func:`parse_record`. Every problem is listed at once, naming the nominee and the field, and
nothing is saved unless there is none.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from publicity.validation import FieldError

MAX_NOMINEES = 200
MAX_MEMBERS = 500
_CADRE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# What a Chinese input method types for digits, %, / and . (and nothing else is read as them).
FULL_WIDTH = str.maketrans("０１２３４５６７８９％／．－", "0123456789%/.-")
_SHARE = re.compile(r"[0-9]{1,3}(\.[0-9]{1,2})?")

BATCH_KINDS = {"batch": _l("Batch adjustment (批量调整)"),
               "partial": _l("Partial appointment decision (部分干部任免)")}
MEETING_BODIES = {"standing": _l("Standing committee (常委会)"),
                  "full": _l("Full committee (全委会)")}
NOMINATORS = {"org_department": _l("Organization department"),
              "collective": _l("Leadership collective"),
              "individual": _l("An individual leader")}
# The relationship declared on the 推荐干部登记表; the last four are forbidden (rule 4).
RELATIONSHIPS = {"none": _l("None beyond work"), "colleague": _l("Former colleague or "
                                                                  "subordinate"),
                 "spouse": _l("Spouse"), "child": _l("Child"),
                 "relative": _l("Direct relative"), "staff": _l("Personal staff")}
FORBIDDEN_RELATIONSHIPS = ("spouse", "child", "relative", "staff")
INSPECTIONS = {"passed": _l("Passed inspection"), "failed": _l("Failed inspection"),
               "not_inspected": _l("Not inspected")}
DECISIONS = {"approved": _l("Approved"), "rejected": _l("Not approved"),
             "deferred": _l("Deferred (暂缓)"), "not_submitted": _l("Not submitted")}
# Principal leaders consulted before the meeting (酝酿): 人大、政府、政协、纪委.
CONSULTED = {"npc": _l("People's congress (人大)"), "government": _l("Government (政府)"),
             "cppcc": _l("CPPCC (政协)"), "discipline": _l("Discipline commission (纪委)")}
# Persons the prefecture organization department must review before the decision (rule 8).
FLAGS = {"relative_of_leader": _l("Relative of a county leader"),
         "staff_of_leader": _l("Personal staff of a county leader"),
         "exceptional": _l("Exceptional promotion (破格)"),
         "over_quota": _l("Beyond the post quota (超职数)"),
         "disputed": _l("Disputed on an important question"),
         "disciplined": _l("Previously disciplined")}

RECORD_KEYS = ("batch_kind", "term", "meeting", "ballot", "prefecture_approval_ref", "nominees")
MEETING_KEYS = ("body", "date", "members_in_office", "members_present")
BALLOT_KEYS = ("date", "members_in_office", "members_present")
NOMINEE_KEYS = ("cadre_id", "name", "proposed_post", "promotion", "nominated_by", "nominator",
                "relationship", "reserve_pool", "vote_share", "inspection", "decision",
                "consultation_objections", "flags", "prefecture_review_ref", "important_post",
                "ballot")
VOTE_KEYS = ("for", "against", "abstain")

FIELD_LABELS = {
    "compliance": _l("Compliance record"), "batch_kind": _l("Kind of batch"),
    "term": _l("Term (届期)"), "meeting_body": _l("Deciding body"),
    "meeting_date": _l("Date of the decision meeting"),
    "members_in_office": _l("Members in office"), "members_present": _l("Members present"),
    "ballot_date": _l("Date of the full committee's secret ballot"),
    "ballot_in_office": _l("Full committee members in office"),
    "ballot_present": _l("Full committee members present"),
    "prefecture_approval_ref": _l("Prefecture's approval of the batch (reference)"),
    "nominees": _l("Nominees"), "cadre_id": _l("Cadre system id"), "name": _l("Name"),
    "proposed_post": _l("Proposed post"), "promotion": _l("Promotion (提拔)"),
    "nominated_by": _l("Nominated by"), "nominator": _l("Nominating leader"),
    "relationship": _l("Declared relationship (推荐干部登记表)"),
    "reserve_pool": _l("From the reserve pool (后备干部)"),
    "vote_share": _l("Democratic recommendation vote share (%)"),
    "inspection": _l("Inspection result"), "decision": _l("Decision result"),
    "consultation_objections": _l("Objections in consultation"), "flags": _l("Special flags"),
    "prefecture_review_ref": _l("Prefecture's review (reference)"),
    "important_post": _l("Important post (乡镇、县直部门党政正职)"),
    "ballot_for": _l("Secret ballot: for"), "ballot_against": _l("Secret ballot: against"),
    "ballot_abstain": _l("Secret ballot: abstentions"),
}
LIMITS = {"cadre_id": 64, "name": 50, "proposed_post": 200, "nominator": 100,
          "prefecture_approval_ref": 100, "prefecture_review_ref": 100, "term": 50}


@dataclass(frozen=True)
class NomineeInput:
    """A validated nominee."""

    cadre_id: str
    name: str
    proposed_post: str
    nominated_by: str
    inspection: str
    decision: str
    promotion: bool = True
    nominator: str | None = None
    relationship: str | None = None
    reserve_pool: bool = False
    vote_share_bp: int | None = None
    objections: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    prefecture_review_ref: str | None = None
    important_post: bool = False
    ballot_for: int | None = None
    ballot_against: int | None = None
    ballot_abstain: int | None = None

    @property
    def candidate(self) -> bool:
        """Made an inspection candidate (考察对象) or put to the decision meeting."""
        return self.inspection != "not_inspected" or self.submitted

    @property
    def submitted(self) -> bool:
        """Put to the decision meeting."""
        return self.decision != "not_submitted"

    @property
    def failed(self) -> bool:
        """Failed inspection or was not approved: not to be nominated again for a while."""
        return self.inspection == "failed" or self.decision == "rejected"


@dataclass(frozen=True)
class RecordInput:
    """A validated compliance record."""

    batch_kind: str
    term: str
    meeting_body: str
    meeting_date: dt.date
    members_in_office: int
    members_present: int
    ballot_date: dt.date | None = None
    ballot_in_office: int | None = None
    ballot_present: int | None = None
    prefecture_approval_ref: str | None = None
    nominees: tuple[NomineeInput, ...] = field(default_factory=tuple)

    @property
    def promoted(self) -> int:
        """Promotions put to the decision meeting (rule 7: the prefecture approves beforehand,
        so what counts is how many were proposed, not how many the meeting passed)."""
        return sum(1 for n in self.nominees if n.promotion and n.submitted)

    @property
    def adjusted(self) -> int:
        """Persons appointed by this batch, promoted or moved (rule 6)."""
        return sum(1 for n in self.nominees if n.decision == "approved")


@dataclass(frozen=True)
class TermSpan:
    """What validation needs to know of a configured term."""

    name: str
    starts_on: dt.date
    ends_on: dt.date


class InvalidRecord(ValueError):
    """The record has errors; `errors` lists every one (FieldError.person is the nominee)."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(f"{len(errors)} problems")
        self.errors = errors


def describe(error: FieldError) -> str:
    """A self-contained sentence naming the nominee and the field."""
    label = str(FIELD_LABELS.get(error.field, error.field))
    if error.person is None:
        return f"{label}: {error.message}"
    return _("Nominee %(n)s", n=error.person + 1) + f", {label}: {error.message}"


class _Reader:
    """Reads one mapping of the record, collecting errors."""

    def __init__(self, errors: list[FieldError], nominee: int | None) -> None:
        self.errors = errors
        self.nominee = nominee

    def error(self, name: str, message: str) -> None:
        self.errors.append(FieldError(self.nominee, name, message))

    def unknown(self, data: Mapping[str, object], allowed: Sequence[str]) -> None:
        for key in data:
            if key not in allowed:
                self.error(str(key)[:40], _("Unknown field."))

    def text(self, data: Mapping[str, object], key: str, name: str | None = None, *,
             required: bool = True) -> str | None:
        name = name or key
        raw = data.get(key)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if required:
                self.error(name, _("This field is required."))
            return None
        if not isinstance(raw, str):
            self.error(name, _("Must be text."))
            return None
        value = " ".join(raw.split())
        if any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in value):
            self.error(name, _("Contains invisible control characters."))
            return None
        limit = LIMITS.get(name, 200)
        if len(value) > limit:
            self.error(name, _("At most %(n)s characters (%(got)s given).", n=limit,
                               got=len(value)))
            return None
        return value

    def choice(self, data: Mapping[str, object], key: str, choices: Mapping[str, object],
               name: str | None = None, *, required: bool = True) -> str | None:
        name = name or key
        raw = data.get(key)
        if raw is None or raw == "":
            if required:
                self.error(name, _("This field is required."))
            return None
        if not isinstance(raw, str) or raw not in choices:
            self.error(name, _("Must be one of: %(values)s.", values=", ".join(choices)))
            return None
        return raw

    def choices(self, data: Mapping[str, object], key: str,
                choices: Mapping[str, object]) -> tuple[str, ...]:
        raw = data.get(key)
        if raw is None:
            return ()
        if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
            self.error(key, _("Must be a list of: %(values)s.", values=", ".join(choices)))
            return ()
        unknown = [v for v in raw if v not in choices]
        if unknown:
            self.error(key, _("Must be a list of: %(values)s.", values=", ".join(choices)))
            return ()
        return tuple(dict.fromkeys(raw))

    def flag(self, data: Mapping[str, object], key: str) -> bool:
        raw = data.get(key, False)
        if raw is None:
            return False
        if not isinstance(raw, bool):
            self.error(key, _("Must be true or false."))
            return False
        return raw

    def count(self, data: Mapping[str, object], key: str, name: str | None = None, *,
              required: bool = True) -> int | None:
        name = name or key
        raw = data.get(key)
        if raw is None or raw == "":
            if required:
                self.error(name, _("This field is required."))
            return None
        if isinstance(raw, str):
            text = raw.translate(FULL_WIDTH).strip()
            raw = int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else raw
        if not isinstance(raw, int) or isinstance(raw, bool) or not 0 <= raw <= MAX_MEMBERS:
            self.error(name, _("Must be a whole number from 0 to %(n)s.", n=MAX_MEMBERS))
            return None
        return raw

    def date(self, data: Mapping[str, object], key: str, name: str | None = None, *,
             required: bool = True) -> dt.date | None:
        name = name or key
        raw = data.get(key)
        if raw is None or raw == "":
            if required:
                self.error(name, _("This field is required."))
            return None
        text = raw.translate(FULL_WIDTH).strip() if isinstance(raw, str) else ""
        if not _ISO_DATE.fullmatch(text):
            self.error(name, _("Write the date as YYYY-MM-DD."))
            return None
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            self.error(name, _("This date does not exist."))
            return None

    def share(self, data: Mapping[str, object], key: str) -> int | None:
        """A percentage with at most two decimals, as basis points."""
        raw = data.get(key)
        if raw is None or raw == "":
            return None
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            self.error(key, _("Must be a percentage from 0 to 100."))
            return None
        text = str(raw).translate(FULL_WIDTH).strip().removesuffix("%").strip()
        if isinstance(raw, float):
            text = f"{raw:.10f}".rstrip("0").rstrip(".")
        if not _SHARE.fullmatch(text):
            self.error(key, _("Must be a percentage from 0 to 100, with at most two decimals."))
            return None
        whole, _dot, fraction = text.partition(".")
        bp = int(whole) * 100 + int((fraction + "00")[:2])
        if bp > 10000:
            self.error(key, _("Must be a percentage from 0 to 100."))
            return None
        return bp


def _mapping(reader: _Reader, raw: object, name: str) -> Mapping[str, object] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        reader.error(name, _("Must be an object with fields."))
        return None
    return raw


def _nominee(raw: object, index: int, errors: list[FieldError], balloted: bool,
             ballot_present: int | None) -> NomineeInput | None:
    r = _Reader(errors, index)
    if not isinstance(raw, Mapping):
        r.error("nominees", _("Each nominee must be an object with fields."))
        return None
    before = len(errors)
    r.unknown(raw, NOMINEE_KEYS)
    cadre_id = raw.get("cadre_id")
    if cadre_id is None or cadre_id == "":
        r.error("cadre_id", _("Required: it matches this person with earlier batches (rules 3 "
                              "and 6), never the name."))
    elif not isinstance(cadre_id, str) or not _CADRE_ID.fullmatch(cadre_id):
        r.error("cadre_id", _("Letters, digits and . _ : - only, at most 64."))
    name, post = r.text(raw, "name"), r.text(raw, "proposed_post")
    nominated_by = r.choice(raw, "nominated_by", NOMINATORS)
    nominator = r.text(raw, "nominator", required=nominated_by == "individual")
    relationship = r.choice(raw, "relationship", RELATIONSHIPS, required=False)
    if nominated_by == "individual" and raw.get("relationship") in (None, ""):
        r.error("relationship", _("An individual leader's nomination declares the relationship "
                                  "(推荐干部登记表)."))
    if nominated_by in ("org_department", "collective") and (nominator or relationship):
        r.error("nominator", _("Only an individual leader's nomination names a nominator and "
                               "a relationship."))
    inspection = r.choice(raw, "inspection", INSPECTIONS)
    decision = r.choice(raw, "decision", DECISIONS)
    if inspection in ("failed", "not_inspected") and decision == "approved":
        r.error("decision", _("Only a nominee who passed inspection can be approved."))
    flags = r.choices(raw, "flags", FLAGS)
    ref = r.text(raw, "prefecture_review_ref", required=False)
    if ref and not flags:
        r.error("prefecture_review_ref", _("Only a person with a special flag needs the "
                                           "prefecture's review: remove the reference or set "
                                           "the flag."))
    votes = _mapping(r, raw.get("ballot"), "ballot_for")
    tally: dict[str, int | None] = {k: None for k in VOTE_KEYS}
    if votes is not None:
        r.unknown(votes, VOTE_KEYS)
        tally = {k: r.count(votes, k, f"ballot_{k}") for k in VOTE_KEYS}
        if not balloted:
            r.error("ballot_for", _("Record the full committee's ballot meeting first."))
        elif ballot_present is not None and None not in tally.values() and sum(
                v or 0 for v in tally.values()) > ballot_present:
            r.error("ballot_for", _("More votes than members present (%(n)s).",
                                    n=ballot_present))
    nominee = NomineeInput(
        cadre_id=cadre_id if isinstance(cadre_id, str) else "", name=name or "",
        proposed_post=post or "", nominated_by=nominated_by or "",
        inspection=inspection or "", decision=decision or "",
        promotion=r.flag(raw, "promotion") if "promotion" in raw else True,
        nominator=nominator, relationship=relationship,
        reserve_pool=r.flag(raw, "reserve_pool"), vote_share_bp=r.share(raw, "vote_share"),
        objections=r.choices(raw, "consultation_objections", CONSULTED), flags=flags,
        prefecture_review_ref=ref, important_post=r.flag(raw, "important_post"),
        ballot_for=tally["for"], ballot_against=tally["against"],
        ballot_abstain=tally["abstain"],
    )
    return nominee if len(errors) == before else None


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
    errors: list[FieldError] = []
    r = _Reader(errors, None)
    if not isinstance(data, Mapping):
        raise InvalidRecord([FieldError(None, "compliance", _("Must be an object with "
                                                              "fields."))])
    r.unknown(data, RECORD_KEYS)
    kind = r.choice(data, "batch_kind", BATCH_KINDS)
    term_name = r.text(data, "term")
    term = next((t for t in terms if t.name == term_name), None)
    if term_name and term is None:
        r.error("term", _("No such term: the administrator configures the terms.")
                if terms else _("No term is configured yet: an administrator adds the term "
                                "and its number of leadership posts first."))
    meeting = _mapping(r, data.get("meeting"), "meeting_date")
    if meeting is None:
        r.error("meeting_date", _("Record the decision meeting."))
        meeting = {}
    else:
        r.unknown(meeting, MEETING_KEYS)
    body = r.choice(meeting, "body", MEETING_BODIES, "meeting_body")
    day = r.date(meeting, "date", "meeting_date")
    in_office = r.count(meeting, "members_in_office")
    present = r.count(meeting, "members_present")
    if in_office == 0:
        r.error("members_in_office", _("A meeting body has at least one member."))
    if in_office is not None and present is not None and present > in_office:
        r.error("members_present", _("More members present (%(p)s) than in office (%(n)s).",
                                     p=present, n=in_office))
    if term and day and not term.starts_on <= day <= term.ends_on:
        r.error("meeting_date", _("The meeting lies outside the term %(term)s (%(a)s – %(b)s).",
                                  term=term.name, a=term.starts_on.isoformat(),
                                  b=term.ends_on.isoformat()))
    if day and latest and day > latest:
        r.error("meeting_date", _("The decision meeting comes before the notice and cannot lie "
                                  "in the future: at the latest %(day)s.",
                                  day=latest.isoformat()))
    ballot = _mapping(r, data.get("ballot"), "ballot_date")
    ballot_day = ballot_in_office = ballot_present = None
    if ballot is not None:
        r.unknown(ballot, BALLOT_KEYS)
        ballot_day = r.date(ballot, "date", "ballot_date")
        ballot_in_office = r.count(ballot, "members_in_office", "ballot_in_office")
        ballot_present = r.count(ballot, "members_present", "ballot_present")
        if ballot_in_office == 0:
            r.error("ballot_in_office", _("A meeting body has at least one member."))
        if (ballot_in_office is not None and ballot_present is not None
                and ballot_present > ballot_in_office):
            r.error("ballot_present", _("More members present (%(p)s) than in office (%(n)s).",
                                        p=ballot_present, n=ballot_in_office))
        if ballot_day and day and (ballot_day < day or (latest and ballot_day > latest)):
            r.error("ballot_date", _("The full committee votes after the standing committee's "
                                     "meeting (%(a)s) and before the notice (at the latest "
                                     "%(b)s).", a=day.isoformat(),
                                     b=(latest or ballot_day).isoformat()))
    nominees: list[NomineeInput] = []
    complete = False  # every nominee read without error
    raw_nominees = data.get("nominees")
    if not isinstance(raw_nominees, list) or not raw_nominees:
        r.error("nominees", _("List everyone considered in the batch, published or not."))
    elif len(raw_nominees) > MAX_NOMINEES:
        r.error("nominees", _("At most %(n)s nominees.", n=MAX_NOMINEES))
    else:
        seen: dict[str, int] = {}
        for i, raw in enumerate(raw_nominees):
            nominee = _nominee(raw, i, errors, ballot is not None, ballot_present)
            if nominee:
                nominees.append(nominee)
            cadre_id = raw.get("cadre_id") if isinstance(raw, Mapping) else None
            if isinstance(cadre_id, str) and cadre_id:
                if cadre_id in seen:
                    errors.append(FieldError(i, "cadre_id", _(
                        "The same person is listed twice (nominee %(n)s).", n=seen[cadre_id] + 1)))
                seen.setdefault(cadre_id, i)
        complete = len(nominees) == len(raw_nominees)
    approval_ref = r.text(data, "prefecture_approval_ref", required=False)
    record = RecordInput(
        batch_kind=kind or "", term=term_name or "", meeting_body=body or "",
        meeting_date=day or dt.date.min, members_in_office=in_office or 0,
        members_present=present or 0, ballot_date=ballot_day, ballot_in_office=ballot_in_office,
        ballot_present=ballot_present, prefecture_approval_ref=approval_ref,
        nominees=tuple(nominees))
    if approval_ref and complete and record.promoted <= promotions_without_approval:
        r.error("prefecture_approval_ref", _(
            "This batch promotes %(n)s, not more than %(limit)s: it needs no prior approval. "
            "Remove the reference.", n=record.promoted, limit=promotions_without_approval))
    if errors:
        raise InvalidRecord(errors)
    return record
