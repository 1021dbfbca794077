"""The notice format: its limits, labels, errors and validated values.

One path for every source: the editor's form and the JSON import both build a plain mapping in
the import format (PRODUCT.md) and pass it through :func:`publicity.schemas.parse_notice`, which
checks it with the declarative model of the format. Errors name the field (and the person) so
the form can show them beside the field and the import can list them.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

MAX_PERSONS = 50
MAX_WORKING_DAYS = 30
EARLIEST_START = dt.date(2020, 1, 1)
LATEST_START = dt.date(2099, 12, 31)
GENDERS = ("男", "女")
# 政治面貌 accepted instead of a party-joining month.
POLITICAL_STATUSES = (
    "中共党员", "中共预备党员", "共青团员", "群众", "无党派人士", "民革党员", "民盟盟员",
    "民建会员", "民进会员", "农工党党员", "致公党党员", "九三学社社员", "台盟盟员",
)
_YEAR_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")


def ascii_digits(value: str) -> str:
    """Full-width digits and dashes typed with a Chinese input method, as ASCII (NFKC)."""
    return unicodedata.normalize("NFKC", value)


# Fields whose change restarts the period (PRODUCT.md: name, birth, posts, 破格 data).
SUBSTANTIVE_FIELDS = ("name", "birth", "current_post", "proposed_post", "exceptional",
                      "exceptional_circumstance", "exceptional_reason")

FIELD_LABELS = {
    "title": _l("Title"), "issuer": _l("Issuing body"), "period_start": _l("Start date"),
    "working_days": _l("Working days"), "persons": _l("Persons"), "phone": _l("Telephone"),
    "letter_address": _l("Letter address"), "visit_address": _l("Visit address"),
    "name": _l("Name"), "gender": _l("Gender"), "ethnicity": _l("Ethnicity"),
    "birth": _l("Born (year-month)"), "native_place": _l("Native place"),
    "education": _l("Education and degree"), "work_start": _l("Started work (year-month)"),
    "party": _l("Joined the Party (year-month) or political status"),
    "current_post": _l("Current post"), "proposed_post": _l("Proposed post"),
    "exceptional": _l("Exceptional promotion (破格)"),
    "exceptional_circumstance": _l("Exceptional circumstance"),
    "exceptional_reason": _l("Reason for the exceptional promotion"),
    "resume": _l("Résumé"), "cadre_id": _l("Cadre system id (never published)"),
}
LIMITS = {
    "title": 200, "issuer": 100, "phone": 40, "letter_address": 300, "visit_address": 300,
    "name": 50, "ethnicity": 20, "native_place": 100, "education": 100, "party": 30,
    "current_post": 200, "proposed_post": 200, "exceptional_circumstance": 300,
    "exceptional_reason": 1000, "resume": 1000,
}


@dataclass(frozen=True)
class FieldError:
    """One problem: which person (0-based, None for the notice) and which field."""

    person: int | None
    field: str
    message: str

    def describe(self) -> str:
        """A self-contained sentence naming the person and field."""
        label = str(FIELD_LABELS.get(self.field, self.field))
        if self.person is None:
            return f"{label}: {self.message}"
        return _("Person %(n)s", n=self.person + 1) + f", {label}: {self.message}"


class InvalidNotice(ValueError):
    """The notice has errors; `errors` lists every one of them."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(e.describe() for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class PersonInput:
    """A validated person."""

    name: str
    gender: str
    ethnicity: str
    birth: str
    native_place: str
    education: str
    work_start: str
    party: str
    current_post: str
    proposed_post: str
    exceptional_circumstance: str | None = None
    exceptional_reason: str | None = None
    resume: str | None = None
    cadre_id: str | None = None

    @property
    def exceptional(self) -> bool:
        """Whether the promotion is exceptional (破格)."""
        return self.exceptional_circumstance is not None


@dataclass(frozen=True)
class NoticeInput:
    """A validated notice."""

    title: str
    issuer: str
    period_start: dt.date
    working_days: int
    phone: str
    letter_address: str
    visit_address: str
    persons: tuple[PersonInput, ...] = field(default_factory=tuple)


def year_month(value: str) -> tuple[int, int] | None:
    """(year, month) of a YYYY-MM text within 1900–2100, else None."""
    match = _YEAR_MONTH.fullmatch(value)
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (1900 <= year <= 2100 and 1 <= month <= 12):
        return None
    return year, month

