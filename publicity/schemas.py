"""The notice import format and the open-data API, as pydantic models.

:class:`NoticeModel` is the one description of a notice in the import format (PRODUCT.md):
:func:`parse_notice` checks the editor's form and the JSON import with it, and
:func:`schema_documents` publishes it, with the API's models, as JSON Schema
(``docs/schemas/``; regenerate with ``python -m publicity.schemas docs/schemas``).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from flask_babel import lazy_gettext as _l
from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SkipValidation,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from publicity.compliance.schemas import RecordModel
from publicity.fields import (
    CadreId,
    ErrorMap,
    FieldType,
    Text,
    context,
    lenient,
    problem,
    read_date,
    rows,
)
from publicity.models import ChangeKind, PublicState
from publicity.validation import (
    EARLIEST_START,
    GENDERS,
    LATEST_START,
    LIMITS,
    MAX_PERSONS,
    MAX_WORKING_DAYS,
    POLITICAL_STATUSES,
    InvalidNotice,
    NoticeInput,
    PersonInput,
    ascii_digits,
    year_month,
)

MESSAGES = {
    "notice-object": _l("A notice must be an object."),
    "person-object": _l("Each person must be an object with fields."),
    "exceptional-object": _l("Must give the circumstance and the reason."),
    "gender": _l("Must be 男 or 女."),
    "birth-format": _l("Write the year and month as YYYY-MM, e.g. 1980-05."),
    "work-format": _l("Write the year and month as YYYY-MM, e.g. 2002-07."),
    "work-before-birth": _l("Must be after the date of birth."),
    "work-before-16": _l("Work cannot start before the age of 16."),
    "after-start": _l("Cannot be after the start of publicity."),
    "age": _l("Gives an age of %(age)s at the start of publicity; check it."),
    "party-format": _l("Write the month of joining as YYYY-MM, or a political status such as "
                       "中共党员 or 群众."),
    "party-age": _l("Party membership starts at 18 at the earliest."),
    "start-range": _l("The date must lie between %(a)s and %(b)s."),
    "whole-number": _l("Must be a whole number."),
    "too-few-days": _l("The period is at least %(n)s working days (条例第四十二条)."),
    "too-many-days": _l("At most %(n)s working days."),
    "persons-required": _l("A notice lists at least one person."),
    "persons-too-many": _l("At most %(n)s persons per notice."),
}
ERRORS = ErrorMap(
    MESSAGES, rows="persons",
    names={"": "title", "[].exceptional.exceptional_circumstance": "exceptional_circumstance"},
    missing={"period_start": "date-format", "persons": "persons-required"},
    not_object={"": "notice-object", "[]": "person-object",
                "[].exceptional": "exceptional-object"},
)


@dataclass(frozen=True)
class YearMonth(Text):
    """A month as YYYY-MM (full-width digits read as ASCII), 1900–2100; `code` names the
    example shown when it is not one."""

    code: str = "birth-format"

    def validate(self, raw: object, info: core_schema.ValidationInfo) -> str:
        value = ascii_digits(str(super().validate(raw, info)))
        if year_month(value) is None:
            raise problem(self.code)
        return value

    def json_schema(self) -> JsonSchemaValue:
        return {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"}


@dataclass(frozen=True)
class Party(Text):
    """The month of joining the Party (YYYY-MM), or a political status (政治面貌)."""

    def validate(self, raw: object, info: core_schema.ValidationInfo) -> str:
        value = str(super().validate(raw, info))
        month = ascii_digits(value)
        if year_month(month) is not None:
            return month
        if value not in POLITICAL_STATUSES:
            raise problem("party-format")
        return value

    def json_schema(self) -> JsonSchemaValue:
        return {"anyOf": [{"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"},
                          {"enum": list(POLITICAL_STATUSES)}]}


class StartDate(FieldType):
    """The first day of publicity as YYYY-MM-DD, between EARLIEST_START and LATEST_START."""

    def validate(self, raw: object, info: core_schema.ValidationInfo) -> dt.date:
        start = read_date(ascii_digits(raw.strip()) if isinstance(raw, str) else "")
        if not EARLIEST_START <= start <= LATEST_START:
            raise problem("start-range", a=EARLIEST_START.isoformat(),
                          b=LATEST_START.isoformat())
        return start

    def json_schema(self) -> JsonSchemaValue:
        return {"type": "string", "format": "date", "formatMinimum": EARLIEST_START.isoformat(),
                "formatMaximum": LATEST_START.isoformat()}


class WorkingDays(FieldType):
    """The period's working days: the configured minimum when absent, at most 30."""

    def validate(self, raw: object, info: core_schema.ValidationInfo) -> int:
        least = int(context(info).get("min_days", 5))
        if raw is None:
            return least
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise problem("whole-number")
        if raw < least:
            raise problem("too-few-days", n=least)
        if raw > MAX_WORKING_DAYS:
            raise problem("too-many-days", n=MAX_WORKING_DAYS)
        return raw

    def json_schema(self) -> JsonSchemaValue:
        # null: the configured minimum (5 unless configured higher).
        return {"type": ["integer", "null"], "minimum": 5, "maximum": MAX_WORKING_DAYS}


@dataclass(frozen=True)
class Channel(Text):
    """A channel for objections (`name`); the configured one when absent or empty."""

    name: str = ""

    def validate(self, raw: object, info: core_schema.ValidationInfo) -> str:
        defaults = context(info).get("defaults", {})
        return super().validate(raw or defaults.get(self.name, ""), info) or ""


def _text(name: str, **options: bool) -> Text:
    return Text(LIMITS[name], **options)


def _channel(name: str) -> Channel:
    return Channel(LIMITS[name], required=False, name=name)


def _years_between(earlier: tuple[int, int], later: tuple[int, int]) -> int:
    """Whole years from one (year, month) to another."""
    return later[0] - earlier[0] - (1 if later[1] < earlier[1] else 0)


class ExceptionalModel(BaseModel):
    """An exceptional promotion (破格): the circumstance and the reason."""

    circumstance: Annotated[str, _text("exceptional_circumstance")] = Field(
        validation_alias=AliasChoices("circumstance", "exceptional_circumstance"))
    reason: Annotated[str, _text("exceptional_reason")]


class PersonModel(BaseModel):
    """A person of the notice (公示对象); months as YYYY-MM."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, _text("name")]
    gender: Annotated[str, Text()] = Field(json_schema_extra={"enum": list(GENDERS)})
    ethnicity: Annotated[str, _text("ethnicity")]
    birth: Annotated[str, YearMonth(code="birth-format")]
    native_place: Annotated[str, _text("native_place")]
    education: Annotated[str, _text("education")]
    work_start: Annotated[str, YearMonth(code="work-format")]
    party: Annotated[str, Party(LIMITS["party"])]
    current_post: Annotated[str, _text("current_post")]
    proposed_post: Annotated[str, _text("proposed_post")]
    exceptional: ExceptionalModel | None = None
    resume: Annotated[str | None, _text("resume", required=False, multiline=True)] = None
    cadre_id: Annotated[str | None, CadreId()] = None

    @field_validator("gender")
    @classmethod
    def _known_gender(cls, value: str) -> str:
        if value not in GENDERS:
            raise problem("gender")
        return value

    @field_validator("birth")
    @classmethod
    def _plausible_age(cls, value: str, info: ValidationInfo) -> str:
        start = context(info).get("start")
        born = year_month(value)
        if start and born:
            age = _years_between(born, (start.year, start.month))
            if not 18 <= age <= 70:
                raise problem("age", age=age)
        return value

    @field_validator("work_start")
    @classmethod
    def _after_birth(cls, value: str, info: ValidationInfo) -> str:
        work, born = year_month(value), year_month(info.data.get("birth") or "")
        if work and born:
            if work <= born:
                raise problem("work-before-birth")
            if _years_between(born, work) < 16:
                raise problem("work-before-16")
        _not_after_start(work, info)
        return value

    @field_validator("party")
    @classmethod
    def _adult_member(cls, value: str, info: ValidationInfo) -> str:
        joined, born = year_month(value), year_month(info.data.get("birth") or "")
        _not_after_start(joined, info)
        if joined and born and _years_between(born, joined) < 18:
            raise problem("party-age")
        return value


def _not_after_start(month: tuple[int, int] | None, info: ValidationInfo) -> None:
    start = context(info).get("start")
    if month and start and month > (start.year, start.month):
        raise problem("after-start")


class NoticeModel(BaseModel):
    """A notice in the import format; channels left out take the configured ones."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, _text("title")]
    issuer: Annotated[str, _text("issuer")]
    phone: Annotated[str, _channel("phone")] = Field(default=None, validate_default=True)
    letter_address: Annotated[str, _channel("letter_address")] = Field(
        default=None, validate_default=True)
    visit_address: Annotated[str, _channel("visit_address")] = Field(
        default=None, validate_default=True)
    period_start: Annotated[dt.date, StartDate()]
    working_days: Annotated[int, WorkingDays()] = Field(default=None, validate_default=True)
    persons: Annotated[list[PersonModel],
                       BeforeValidator(rows(MAX_PERSONS, "persons-required", "persons-too-many")),
                       Field(min_length=1, max_length=MAX_PERSONS)]
    # The batch's compliance record, checked by publicity.compliance with the configured terms.
    compliance: SkipValidation[RecordModel | None] = None


START = TypeAdapter(Annotated[dt.date, StartDate()])


def parse_notice(data: object, defaults: Mapping[str, str], min_days: int = 5) -> NoticeInput:
    """Validate a notice in the import format; raise InvalidNotice listing every problem."""
    # Each person's dates are checked against the notice's start, when it is valid.
    start = lenient(START, data.get("period_start")) if isinstance(data, Mapping) else None
    try:
        notice = NoticeModel.model_validate(
            data, context={"start": start, "defaults": defaults, "min_days": min_days})
    except ValidationError as exc:
        raise InvalidNotice(ERRORS.errors(exc)) from None
    return NoticeInput(
        title=notice.title, issuer=notice.issuer, period_start=notice.period_start,
        working_days=notice.working_days, phone=notice.phone,
        letter_address=notice.letter_address, visit_address=notice.visit_address,
        persons=tuple(_person(p) for p in notice.persons))


def _person(p: PersonModel) -> PersonInput:
    return PersonInput(
        name=p.name, gender=p.gender, ethnicity=p.ethnicity, birth=p.birth,
        native_place=p.native_place, education=p.education, work_start=p.work_start,
        party=p.party, current_post=p.current_post, proposed_post=p.proposed_post,
        exceptional_circumstance=p.exceptional.circumstance if p.exceptional else None,
        exceptional_reason=p.exceptional.reason if p.exceptional else None,
        resume=p.resume, cadre_id=p.cadre_id)


class ImportFile(BaseModel):
    """Notices imported as drafts by `flask notices import FILE.json`; a file with any invalid
    notice is rejected whole, naming the notice, person and field."""

    notices: list[NoticeModel] = Field(min_length=1)


# --- the open-data API (GET /api/notices, GET /api/notices/<id>) -------------------------------
# Descriptions of publicity.views.notice_json's output, for the published schema only; a test
# checks the API's real answers against them.


class _Api(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ApiExceptional(_Api):
    """The 破格 circumstance and reason."""

    circumstance: str | None
    reason: str | None


class ApiPerson(_Api):
    """A person of a published notice; `id` is kept through corrections."""

    id: int
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
    exceptional: ApiExceptional | None
    resume: str | None


class ApiChannels(_Api):
    """Where objections are received."""

    phone: str
    letter: str
    visit: str


class ApiCorrection(_Api):
    """A published correction or withdrawal."""

    kind: ChangeKind
    published_at: dt.datetime | None
    reason: str
    substantive: bool
    fields: list[str]
    period_start: dt.date | None
    period_end: dt.date | None


class ApiNotice(_Api):
    """A published notice (GET /api/notices/<id>); dates in ISO format."""

    id: int
    title: str
    issuer: str
    status: PublicState | None
    period_start: dt.date | None
    period_end: dt.date | None
    working_days: int
    channels: ApiChannels
    withdrawn_reason: str | None
    url: str = Field(json_schema_extra={"format": "uri"})
    persons: list[ApiPerson]
    corrections: list[ApiCorrection]


class ApiNoticePage(_Api):
    """A page of published notices, newest first (GET /api/notices); `next` links the
    following page."""

    notices: list[ApiNotice]
    next: str | None = Field(json_schema_extra={"format": "uri"})


# File name → the model and whether it describes input (validation) or output (serialization).
SCHEMA_FILES: dict[str, tuple[type[BaseModel], Literal["validation", "serialization"]]] = {
    "notice-import.schema.json": (ImportFile, "validation"),
    "api-notices.schema.json": (ApiNoticePage, "serialization"),
    "api-notice.schema.json": (ApiNotice, "serialization"),
}


def schema_documents() -> dict[str, str]:
    """The published JSON Schema files (name → text), generated from the models."""
    documents = {}
    for name, (model, mode) in SCHEMA_FILES.items():
        schema: dict[str, Any] = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                                  **model.model_json_schema(mode=mode)}
        documents[name] = json.dumps(schema, ensure_ascii=False, indent=2) + "\n"
    return documents


def _write(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in schema_documents().items():
        (folder / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    _write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas"))
