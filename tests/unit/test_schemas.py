"""The declarative models: the published JSON Schema files, and the messages strange input gets.

The schema files in docs/schemas are generated from the models; a test fails when they drift
(regenerate with `python -m publicity.schemas docs/schemas`). Whatever the input, every error
carries one of the project's own messages: pydantic's English never reaches a user.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from publicity import fields, schemas
from publicity.compliance import schemas as compliance_schemas
from publicity.compliance.validation import InvalidRecord, TermSpan
from publicity.fields import ErrorMap
from publicity.schemas import SCHEMA_FILES, ImportFile, parse_notice, schema_documents
from publicity.validation import FieldError, InvalidNotice

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
TERMS = [TermSpan("第十五届", dt.date(2021, 9, 20), dt.date(2026, 9, 19))]


pytestmark = pytest.mark.usefixtures("gettext_context")


def _known(message: str) -> bool:
    """Whether the message is one of the project's, its parameters filled in."""
    templates = [*fields.MESSAGES.values(), *schemas.MESSAGES.values(),
                 *compliance_schemas.MESSAGES.values()]
    for template in templates:
        pattern = re.sub(r"%\\\((\w+)\\\)s|%\((\w+)\)s", ".*", re.escape(str(template)))
        if re.fullmatch(pattern, message, re.DOTALL):
            return True
    return False


def notice_errors(data: object) -> list[FieldError]:
    try:
        parse_notice(data, {}, 5)
    except InvalidNotice as exc:
        return exc.errors
    return []


def record_errors(data: object) -> list[FieldError]:
    try:
        compliance_schemas.parse_record(data, TERMS, promotions_without_approval=30)
    except InvalidRecord as exc:
        return exc.errors
    return []


# --- the published files --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCHEMA_FILES))
def test_the_published_schema_is_what_the_models_generate(name: str) -> None:
    assert (SCHEMAS / name).read_text(encoding="utf-8") == schema_documents()[name], (
        "regenerate with: python -m publicity.schemas docs/schemas")


def test_no_other_schema_file_is_published() -> None:
    assert sorted(p.name for p in SCHEMAS.iterdir()) == sorted(SCHEMA_FILES)


def test_the_import_schema_describes_the_nested_compliance_record() -> None:
    schema = ImportFile.model_json_schema()
    notice = schema["$defs"]["NoticeModel"]
    assert notice["required"] == ["title", "issuer", "period_start", "persons"]
    assert notice["additionalProperties"] is False
    assert notice["properties"]["compliance"]["anyOf"][0] == {"$ref": "#/$defs/RecordModel"}
    assert schema["$defs"]["VotesModel"]["required"] == ["for", "against", "abstain"]
    assert schema["$defs"]["PersonModel"]["properties"]["gender"]["enum"] == ["男", "女"]


def test_the_products_example_is_a_valid_import() -> None:
    example = {"notices": [{
        "title": "中共××县委组织部干部任前公示", "issuer": "中共××县委组织部",
        "period_start": "2026-09-30", "working_days": 5,
        "persons": [{
            "name": "张三", "gender": "男", "ethnicity": "汉族", "birth": "1980-05",
            "native_place": "××省××县", "education": "大学本科，管理学学士",
            "work_start": "2002-07", "party": "2001-06",
            "current_post": "××镇党委副书记、镇长", "proposed_post": "××镇党委书记",
            "exceptional": None, "resume": None, "cadre_id": None,
        }],
    }]}
    ImportFile.model_validate(example, context={"min_days": 5, "defaults": {}})


# --- messages -------------------------------------------------------------------------------


STRANGE = [None, True, 10**5000, -(10**400), 1e308, float("nan"), float("inf"), "²", "٣",
           "\x00", "２０２６", "", " ", [], {}, [[[[[]]]]], {"a": {"b": {"c": [1]}}},
           "张" * 100_000, {"\x00": 1}, {1: 2}]


@pytest.mark.parametrize("value", STRANGE, ids=range(len(STRANGE)))
def test_strange_values_anywhere_get_the_projects_messages(value: Any) -> None:
    person = {"name": value, "gender": value, "birth": value, "work_start": value,
              "party": value, "exceptional": value, "cadre_id": value, "unknown": value}
    notice = {"title": value, "period_start": value, "working_days": value,
              "persons": [person, value]}
    nominee = {"cadre_id": value, "vote_share": value, "ballot": {"for": value},
               "flags": value, "promotion": value, "relationship": value}
    record = {"batch_kind": value, "term": value, "meeting": {"date": value,
                                                             "members_present": value},
              "ballot": {"members_present": value}, "nominees": [nominee, value]}
    found = [*notice_errors(notice), *notice_errors(value), *record_errors(record),
             *record_errors(value)]
    assert found
    assert all(_known(e.message) for e in found), [e.message for e in found]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=3),
    max_leaves=12)


@settings(database=None, max_examples=150, deadline=None)
@given(junk=JSON)
def test_junk_gets_only_the_projects_messages(junk: Any) -> None:
    found = [*notice_errors(junk), *notice_errors({"persons": [junk], "title": junk}),
             *record_errors(junk), *record_errors({"nominees": [junk], "meeting": junk})]
    assert all(_known(e.message) for e in found), [e.message for e in found]


def test_an_error_type_the_map_does_not_know_gets_the_fallback_message() -> None:
    with pytest.raises(ValidationError) as info:
        TypeAdapter(int).validate_python("x")
    [error] = ErrorMap({}, rows="persons").errors(info.value)
    assert error == FieldError(None, "persons", "This value is not accepted.")
