"""The compliance record's format: its choices, labels, errors and validated values.

One path for every source, as for notices: the editor's form and `notices import` both build a
mapping in the import format (docs/import-formats.md) and pass it through
:func:`publicity.compliance.schemas.parse_record`. Every problem is listed at once, naming the
nominee and the field, and nothing is saved unless there is none.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from publicity.fields import FULL_WIDTH as FULL_WIDTH
from publicity.validation import FieldError

MAX_NOMINEES = 200
MAX_MEMBERS = 500

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
