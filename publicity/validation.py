"""Validation of a notice and its persons, as an organization department would check them.

One path for every source: the editor's form and the JSON import both build a plain mapping in
the import format (PRODUCT.md) and pass it through :func:`parse_notice`. Errors name the field
(and the person) so the form can show them beside the field and the import can list them.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
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
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CADRE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
# Invisible characters never belong in a notice: they can hide or reorder text (bidi
# overrides), break the feed (controls) or the database (lone surrogates). Unicode categories
# Cc (controls), Cf (format: zero-width, bidi, BOM, soft hyphen, tags) and Cs (surrogates).
_INVISIBLE = frozenset(("Cc", "Cf", "Cs"))


def _has_invisible(value: str, multiline: bool) -> bool:
    allowed = "\n\r" if multiline else ""
    return any(ch not in allowed and unicodedata.category(ch) in _INVISIBLE for ch in value)


def _ascii_digits(value: str) -> str:
    """Full-width digits and dashes typed with a Chinese input method, as ASCII (NFKC)."""
    return unicodedata.normalize("NFKC", value)


NOTICE_KEYS = ("title", "issuer", "period_start", "working_days", "persons", "phone",
               "letter_address", "visit_address", "compliance")
# The optional "compliance" object is the batch's record, read by publicity.compliance.
PERSON_KEYS = ("name", "gender", "ethnicity", "birth", "native_place", "education", "work_start",
               "party", "current_post", "proposed_post", "exceptional", "resume", "cadre_id")
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


def _year_month(value: str) -> tuple[int, int] | None:
    match = _YEAR_MONTH.fullmatch(value)
    if not match:
        return None
    year, month = int(match.group(1)), int(match.group(2))
    if not (1900 <= year <= 2100 and 1 <= month <= 12):
        return None
    return year, month


class _Collector:
    """Collects errors while reading one mapping."""

    def __init__(self, errors: list[FieldError], person: int | None) -> None:
        self.errors = errors
        self.person = person

    def error(self, name: str, message: str) -> None:
        self.errors.append(FieldError(self.person, name, message))

    def text(self, data: Mapping[str, object], name: str, *, required: bool = True,
             multiline: bool = False) -> str | None:
        raw = data.get(name)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if required:
                self.error(name, _("This field is required."))
            return None
        if not isinstance(raw, str):
            self.error(name, _("Must be text."))
            return None
        value = raw.strip() if multiline else " ".join(raw.split())
        if _has_invisible(value, multiline):
            self.error(name, _("Contains invisible control characters."))
            return None
        limit = LIMITS.get(name, 200)
        if len(value) > limit:
            self.error(name, _("At most %(n)s characters (%(got)s given).", n=limit,
                               got=len(value)))
            return None
        return value


def _unknown_keys(c: _Collector, data: Mapping[str, object], allowed: tuple[str, ...]) -> None:
    for key in data:
        if key not in allowed:
            c.error(str(key)[:40], _("Unknown field."))


def party_text(data: Mapping[str, object]) -> str:
    """The party field as typed, with full-width digits made ASCII ("" when not text)."""
    raw = data.get("party")
    return _ascii_digits(raw.strip()) if isinstance(raw, str) else ""


def parse_person(data: object, index: int, start: dt.date | None,
                 errors: list[FieldError]) -> PersonInput | None:
    """Validate one person; append errors; return it when valid."""
    c = _Collector(errors, index)
    if not isinstance(data, Mapping):
        c.error("persons", _("Each person must be an object with fields."))
        return None
    before = len(errors)
    _unknown_keys(c, data, PERSON_KEYS)
    values = {k: c.text(data, k) for k in ("name", "ethnicity", "native_place", "education",
                                           "current_post", "proposed_post", "party")}
    gender = c.text(data, "gender")
    if gender is not None and gender not in GENDERS:
        c.error("gender", _("Must be 男 or 女."))
    birth_text, work_text = c.text(data, "birth"), c.text(data, "work_start")
    birth_text = _ascii_digits(birth_text) if birth_text else birth_text
    work_text = _ascii_digits(work_text) if work_text else work_text
    birth = _year_month(birth_text) if birth_text else None
    work = _year_month(work_text) if work_text else None
    if birth_text and birth is None:
        c.error("birth", _("Write the year and month as YYYY-MM, e.g. 1980-05."))
    if work_text and work is None:
        c.error("work_start", _("Write the year and month as YYYY-MM, e.g. 2002-07."))
    if birth and work:
        age_at_work = work[0] - birth[0] - (1 if work[1] < birth[1] else 0)
        if work <= birth:
            c.error("work_start", _("Must be after the date of birth."))
        elif age_at_work < 16:
            c.error("work_start", _("Work cannot start before the age of 16."))
    if start:
        latest = (start.year, start.month)
        for name, value in (("work_start", work), ("party", _year_month(party_text(data)))):
            if value and value > latest:
                c.error(name, _("Cannot be after the start of publicity."))
    if birth and start:
        age = start.year - birth[0] - (1 if start.month < birth[1] else 0)
        if not 18 <= age <= 70:
            c.error("birth", _("Gives an age of %(age)s at the start of publicity; check it.",
                               age=age))
    party = values["party"]
    if party is not None and _YEAR_MONTH.fullmatch(_ascii_digits(party)):
        party = _ascii_digits(party)
    if party is not None and party not in POLITICAL_STATUSES:
        joined = _year_month(party)
        if joined is None:
            c.error("party", _("Write the month of joining as YYYY-MM, or a political status "
                               "such as 中共党员 or 群众."))
        elif birth and (joined[0] - birth[0] - (1 if joined[1] < birth[1] else 0)) < 18:
            c.error("party", _("Party membership starts at 18 at the earliest."))
    circumstance = reason = None
    exceptional = data.get("exceptional")
    if exceptional is not None:
        if not isinstance(exceptional, Mapping):
            c.error("exceptional", _("Must give the circumstance and the reason."))
        else:
            circumstance = c.text(exceptional, "exceptional_circumstance") if (
                "exceptional_circumstance" in exceptional) else c.text(
                {"exceptional_circumstance": exceptional.get("circumstance")},
                "exceptional_circumstance")
            reason = c.text({"exceptional_reason": exceptional.get("reason")},
                            "exceptional_reason")
    resume = c.text(data, "resume", required=False, multiline=True)
    cadre_id = data.get("cadre_id")
    valid_id = isinstance(cadre_id, str) and _CADRE_ID.fullmatch(cadre_id)
    if cadre_id is not None and not valid_id:
        c.error("cadre_id", _("Letters, digits and . _ : - only, at most 64."))
        cadre_id = None
    if len(errors) > before:
        return None
    return PersonInput(
        name=values["name"] or "", gender=gender or "", ethnicity=values["ethnicity"] or "",
        birth=birth_text or "", native_place=values["native_place"] or "",
        education=values["education"] or "", work_start=work_text or "", party=party or "",
        current_post=values["current_post"] or "", proposed_post=values["proposed_post"] or "",
        exceptional_circumstance=circumstance, exceptional_reason=reason, resume=resume,
        cadre_id=cadre_id or None,
    )


def parse_notice(data: object, defaults: Mapping[str, str], min_days: int = 5) -> NoticeInput:
    """Validate a notice in the import format; raise InvalidNotice listing every problem."""
    errors: list[FieldError] = []
    c = _Collector(errors, None)
    if not isinstance(data, Mapping):
        raise InvalidNotice([FieldError(None, "title", _("A notice must be an object."))])
    _unknown_keys(c, data, NOTICE_KEYS)
    title, issuer = c.text(data, "title"), c.text(data, "issuer")
    channels = {k: c.text({k: data.get(k) or defaults.get(k, "")}, k, required=False) or ""
                for k in ("phone", "letter_address", "visit_address")}
    start: dt.date | None = None
    raw_start = data.get("period_start")
    if isinstance(raw_start, str):
        raw_start = _ascii_digits(raw_start.strip())
    if not isinstance(raw_start, str) or not _ISO_DATE.fullmatch(raw_start):
        c.error("period_start", _("Write the date as YYYY-MM-DD."))
    else:
        try:
            start = dt.date.fromisoformat(raw_start)
        except ValueError:
            c.error("period_start", _("This date does not exist."))
        else:
            if not EARLIEST_START <= start <= LATEST_START:
                c.error("period_start", _("The date must lie between %(a)s and %(b)s.",
                                          a=EARLIEST_START.isoformat(),
                                          b=LATEST_START.isoformat()))
                start = None
    days = data.get("working_days", min_days)
    if days is None:
        days = min_days
    if not isinstance(days, int) or isinstance(days, bool):
        c.error("working_days", _("Must be a whole number."))
        days = min_days
    elif days < min_days:
        c.error("working_days", _("The period is at least %(n)s working days (条例第四十二条).",
                                  n=min_days))
    elif days > MAX_WORKING_DAYS:
        c.error("working_days", _("At most %(n)s working days.", n=MAX_WORKING_DAYS))
    persons_raw = data.get("persons")
    persons: list[PersonInput] = []
    if not isinstance(persons_raw, list) or not persons_raw:
        c.error("persons", _("A notice lists at least one person."))
    elif len(persons_raw) > MAX_PERSONS:
        c.error("persons", _("At most %(n)s persons per notice.", n=MAX_PERSONS))
    else:
        for i, raw in enumerate(persons_raw):
            person = parse_person(raw, i, start, errors)
            if person:
                persons.append(person)
    if errors:
        raise InvalidNotice(errors)
    # No errors means every required value was read.
    return NoticeInput(title=title or "", issuer=issuer or "",
                       period_start=start or EARLIEST_START, working_days=days,
                       phone=channels["phone"], letter_address=channels["letter_address"],
                       visit_address=channels["visit_address"], persons=tuple(persons))
