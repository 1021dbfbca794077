"""Field types of the import formats, and the one path from a model's errors to the user.

The notice and compliance formats are pydantic models (:mod:`publicity.schemas`,
:mod:`publicity.compliance.schemas`) built from the field types below. A type refuses a value by
raising :func:`problem` with a code; :class:`ErrorMap` turns every error of a failed validation,
including pydantic's own (missing key, unknown key, not an object), into a
:class:`~publicity.validation.FieldError` with the project's translated message, the field's
form name and the row (person or nominee) it belongs to. :func:`put_on_form` puts those errors
beside the fields of a WTForms form. Pydantic's English texts never reach a user.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask_babel import lazy_gettext as _l
from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler, TypeAdapter, ValidationError
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema
from wtforms import Field, Form
from wtforms.fields import FieldList

from publicity.validation import FieldError

T = TypeVar("T")
Message = Any  # a lazy gettext string: formatted when the error is shown
CADRE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# What a Chinese input method types for digits, %, / and . (and nothing else is read as them).
FULL_WIDTH = str.maketrans("０１２３４５６７８９％／．－", "0123456789%/.-")
# Invisible characters never belong in published text: they can hide or reorder text (bidi
# overrides), break the feed (controls) or the database (lone surrogates). Unicode categories
# Cc (controls), Cf (format: zero-width, bidi, BOM, soft hyphen, tags) and Cs (surrogates).
_INVISIBLE = frozenset(("Cc", "Cf", "Cs"))

# Codes shared by both formats; each format adds its own (ErrorMap.messages).
MESSAGES: dict[str, Message] = {
    "required": _l("This field is required."),
    "text": _l("Must be text."),
    "invisible": _l("Contains invisible control characters."),
    "too-long": _l("At most %(n)s characters (%(got)s given)."),
    "unknown": _l("Unknown field."),
    "object": _l("Must be an object with fields."),
    "date-format": _l("Write the date as YYYY-MM-DD."),
    "no-date": _l("This date does not exist."),
    "cadre-id": _l("Letters, digits and . _ : - only, at most 64."),
    "choice": _l("Must be one of: %(values)s."),
    "choices": _l("Must be a list of: %(values)s."),
    "flag": _l("Must be true or false."),
    "count": _l("Must be a whole number from 0 to %(n)s."),
    "invalid": _l("This value is not accepted."),
}


def problem(code: str, **params: object) -> PydanticCustomError:
    """The error a field type raises: `code` selects the message, `params` fill it in; a
    `field` parameter names another field of the same row as the one to blame."""
    return PydanticCustomError(code, code, params)


def lenient(adapter: TypeAdapter[T], raw: object) -> T | None:
    """The value as the field type reads it, or None when it refuses it (the refusal itself
    is reported by the model)."""
    try:
        return adapter.validate_python(raw)
    except ValidationError:
        return None


def context(info: core_schema.ValidationInfo) -> Mapping[str, Any]:
    """What the caller knows that the row cannot (the notice's start, the terms, …)."""
    return info.context if isinstance(info.context, Mapping) else {}


class FieldType:
    """A field type: one plain validator (pydantic coerces nothing by itself) and the JSON
    schema of what it accepts."""

    def __get_pydantic_core_schema__(self, source: Any,
                                     handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.with_info_plain_validator_function(self.validate)

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema,
                                     handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return self.json_schema()

    def validate(self, raw: object, info: core_schema.ValidationInfo) -> Any:
        raise NotImplementedError

    def json_schema(self) -> JsonSchemaValue:
        raise NotImplementedError


def _nullable(schema: dict[str, Any], required: bool) -> dict[str, Any]:
    return schema if required else {"anyOf": [schema, {"type": "null"}]}


@dataclass(frozen=True)
class Text(FieldType):
    """Text on one line (runs of white space become one space), or kept with its line breaks
    (`multiline`); blank is missing."""

    limit: int = 200
    required: bool = True
    multiline: bool = False

    def validate(self, raw: object, info: core_schema.ValidationInfo) -> str | None:
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if self.required:
                raise problem("required")
            return None
        if not isinstance(raw, str):
            raise problem("text")
        value = raw.strip() if self.multiline else " ".join(raw.split())
        allowed = "\n\r" if self.multiline else ""
        if any(ch not in allowed and unicodedata.category(ch) in _INVISIBLE for ch in value):
            raise problem("invisible")
        if len(value) > self.limit:
            raise problem("too-long", n=self.limit, got=len(value))
        return value

    def json_schema(self) -> JsonSchemaValue:
        return _nullable({"type": "string", "minLength": 1, "maxLength": self.limit},
                         self.required)


@dataclass(frozen=True)
class Choice(FieldType):
    """One of the keys of `choices`, exactly as written; "" is missing."""

    choices: Mapping[str, object]
    required: bool = True

    def validate(self, raw: object, info: core_schema.ValidationInfo) -> str | None:
        if raw is None or raw == "":
            if self.required:
                raise problem("required")
            return None
        if not isinstance(raw, str) or raw not in self.choices:
            raise problem("choice", values=", ".join(self.choices))
        return raw

    def json_schema(self) -> JsonSchemaValue:
        return _nullable({"enum": list(self.choices)}, self.required)


@dataclass(frozen=True)
class Choices(FieldType):
    """A list of keys of `choices` (repeats dropped, order kept); missing is none."""

    choices: Mapping[str, object]

    def validate(self, raw: object, info: core_schema.ValidationInfo) -> tuple[str, ...]:
        if raw is None:
            return ()
        if (not isinstance(raw, list) or not all(isinstance(v, str) for v in raw)
                or any(v not in self.choices for v in raw)):
            raise problem("choices", values=", ".join(self.choices))
        return tuple(dict.fromkeys(raw))

    def json_schema(self) -> JsonSchemaValue:
        return {"type": "array", "items": {"enum": list(self.choices)}, "uniqueItems": True}


@dataclass(frozen=True)
class Flag(FieldType):
    """true or false; null is false."""

    def validate(self, raw: object, info: core_schema.ValidationInfo) -> bool:
        if raw is None:
            return False
        if not isinstance(raw, bool):
            raise problem("flag")
        return raw

    def json_schema(self) -> JsonSchemaValue:
        return {"type": "boolean"}


@dataclass(frozen=True)
class Count(FieldType):
    """A whole number from 0 to `most`, also as digits typed in a form (full-width too)."""

    most: int

    def validate(self, raw: object, info: core_schema.ValidationInfo) -> int:
        if raw is None or raw == "":
            raise problem("required")
        if isinstance(raw, str):
            text = raw.translate(FULL_WIDTH).strip()
            # Six digits at most: int() of thousands of digits is slow, or refused by Python.
            raw = int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else raw
        if not isinstance(raw, int) or isinstance(raw, bool) or not 0 <= raw <= self.most:
            raise problem("count", n=self.most)
        return raw

    def json_schema(self) -> JsonSchemaValue:
        return {"anyOf": [{"type": "integer", "minimum": 0, "maximum": self.most},
                          {"type": "string", "pattern": r"^\s*[0-9０-９]{1,6}\s*$"}]}


def read_date(text: str) -> dt.date:
    """An ISO date (YYYY-MM-DD) that exists."""
    if not ISO_DATE.fullmatch(text):
        raise problem("date-format")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise problem("no-date") from None


@dataclass(frozen=True)
class IsoDate(FieldType):
    """A date as YYYY-MM-DD (full-width digits and dashes read as ASCII); "" is missing."""

    def validate(self, raw: object, info: core_schema.ValidationInfo) -> dt.date:
        if raw is None or raw == "":
            raise problem("required")
        return read_date(raw.translate(FULL_WIDTH).strip() if isinstance(raw, str) else "")

    def json_schema(self) -> JsonSchemaValue:
        return {"type": "string", "format": "date"}


@dataclass(frozen=True)
class CadreId(FieldType):
    """The cadre management system's id; `missing` is the code when it is absent."""

    missing: str | None = None  # None: optional

    def validate(self, raw: object, info: core_schema.ValidationInfo) -> str | None:
        if raw is None or (raw == "" and self.missing):
            if self.missing:
                raise problem(self.missing)
            return None
        if not isinstance(raw, str) or not CADRE_ID.fullmatch(raw):
            raise problem("cadre-id")
        return raw

    def json_schema(self) -> JsonSchemaValue:
        return _nullable({"type": "string", "pattern": "^" + CADRE_ID.pattern + "$"},
                         self.missing is not None)


def rows(most: int, missing: str, too_many: str) -> Callable[[object], object]:
    """A before-validator for a list of rows: a non-empty list of at most `most` items."""

    def check(raw: object) -> object:
        if not isinstance(raw, list) or not raw:
            raise problem(missing)
        if len(raw) > most:
            raise problem(too_many, n=most)
        return raw

    return check


@dataclass(frozen=True)
class ErrorMap:
    """How a model's errors become FieldErrors.

    Error paths are written as dotted keys relative to the row: "" is the whole input, "[]"
    a row itself, "[].x" field x of a row, "x.y" field y of the object in field x. `names`
    gives a path's form field name (default: the parts joined by "_"); `missing` and
    `not_object` the code for an absent value and for a value that is not an object.
    """

    messages: Mapping[str, Message]
    rows: str
    names: Mapping[str, str] = field(default_factory=dict)
    missing: Mapping[str, str] = field(default_factory=dict)
    not_object: Mapping[str, str] = field(default_factory=dict)

    def errors(self, exc: ValidationError, more: Iterable[FieldError] = ()) -> list[FieldError]:
        """Every error, row by row (the input's own first), unknown keys first in each."""
        ranked = [self._error(e) for e in exc.errors(include_url=False, include_input=False)]
        ranked += [(error, (1, 0)) for error in more]
        ranked.sort(key=lambda r: (r[0].person is not None, r[0].person or 0, r[1]))
        return [error for error, _rank in ranked]

    def _error(self, e: Any) -> tuple[FieldError, tuple[int, int]]:
        loc: Sequence[int | str] = e["loc"]
        person: int | None = None
        path = [str(part) for part in loc]
        if len(loc) >= 2 and loc[0] == self.rows and isinstance(loc[1], int):
            person, path = loc[1], ["[]", *path[2:]]
        if e["type"] in ("extra_forbidden", "invalid_key"):
            return FieldError(person, path[-1][:40], self.message("unknown")), (0, len(path))
        key = ".".join(path)
        params = dict(e.get("ctx") or {})
        name = str(params.pop("field", "")) or self.names.get(key) or "_".join(
            p for p in path if p != "[]") or self.rows
        code = str(e["type"])
        if code == "missing":
            code = self.missing.get(key, "required")
        elif code in ("model_type", "model_attributes_type", "dict_type"):
            code = self.not_object.get(key, "object")
        return FieldError(person, name, self.message(code, **params)), (1, 0)

    def message(self, code: str, **params: object) -> str:
        """The translated message of `code`, filled in with `params`."""
        text = str(self.messages.get(code) or MESSAGES.get(code) or MESSAGES["invalid"])
        return text % params if params else text


def put_on_form(form: Form, errors: Iterable[FieldError], rows: str) -> None:
    """Each error beside its field (a row's beside that row's field), when the form has one."""
    for e in errors:
        target = form
        if e.person is not None:
            entries = getattr(form, rows).entries
            if e.person >= len(entries):
                continue
            target = entries[e.person].form
        found = target._fields.get(e.field)
        if isinstance(found, Field) and not isinstance(found, FieldList):
            found.errors = [*found.errors, e.message]
