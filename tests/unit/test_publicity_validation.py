"""parse_notice: the one validation path of the editor's form and the JSON import.

The app here has no translations, so messages are the English msgids. Every refusal is checked
for the exact field and person (0-based) it names: that is what puts the message beside the
right form field and into the right line of an import report.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from publicity.schemas import parse_notice
from publicity.validation import (
    LIMITS,
    InvalidNotice,
    NoticeInput,
    PersonInput,
)

DEFAULTS = {"phone": "0000-12380", "letter_address": "示例县人民路1号",
            "visit_address": "示例县人民路1号308室"}
XSS = "<script>alert(1)</script>"
# Invisible characters the product promises to refuse (validation._CONTROL).
PROMISED_INVISIBLE = {chr(c) for c in (*range(0x200B, 0x2010), *range(0x202A, 0x202F),
                                       *range(0x2066, 0x206A))}
# C1 controls that are not whitespace (U+0085 is, and is folded into a space).
C1_CONTROLS = [chr(c) for c in range(0x80, 0xA0) if not chr(c).isspace()]


def person(**changes: Any) -> dict[str, Any]:
    """A valid person in the import format (PRODUCT.md's example)."""
    data: dict[str, Any] = {
        "name": "张三", "gender": "男", "ethnicity": "汉族", "birth": "1980-05",
        "native_place": "××省××县", "education": "大学本科，管理学学士",
        "work_start": "2002-07", "party": "2001-06",
        "current_post": "××镇党委副书记、镇长", "proposed_post": "××镇党委书记",
        "exceptional": None, "resume": None, "cadre_id": None,
    }
    data.update(changes)
    return data


def notice(*persons: object, **changes: Any) -> dict[str, Any]:
    """A valid notice starting on Monday 2026-11-30 with the given (or one default) persons."""
    data: dict[str, Any] = {
        "title": "中共××县委组织部干部任前公示", "issuer": "中共××县委组织部",
        "period_start": "2026-11-30", "working_days": 5,
        "persons": list(persons) or [person()],
    }
    data.update(changes)
    return data


def without(data: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}


def outcome(data: object, min_days: int = 5,
            ) -> tuple[NoticeInput | None, list[tuple[int | None, str]]]:
    """The validated notice, or None and the (person, field) of every error."""
    try:
        return parse_notice(data, DEFAULTS, min_days), []
    except InvalidNotice as exc:
        return None, [(e.person, e.field) for e in exc.errors]


def problems(data: object, min_days: int = 5) -> list[tuple[int | None, str]]:
    """(person, field) of every error; [] when the notice is valid."""
    return outcome(data, min_days)[1]


def message(data: object) -> str:
    """The message of the only error."""
    with pytest.raises(InvalidNotice) as info:
        parse_notice(data, DEFAULTS)
    [error] = info.value.errors
    return error.message


def parsed_person(**changes: Any) -> PersonInput:
    """The validated single person of an otherwise valid notice."""
    [result] = parse_notice(notice(person(**changes)), DEFAULTS).persons
    return result


pytestmark = pytest.mark.usefixtures("gettext_context")


# --- a valid notice ------------------------------------------------------------------------------


def test_valid_notice_round_trips_with_normalised_text() -> None:
    data = notice(
        person(name="  张\u3000三 ", native_place="××省\n××县", cadre_id="HR-2026:00123_a.b",
               resume="  2002.07 参加工作\n2010.01 任××镇副镇长  "),
        person(name="李四", gender=" 女 ", birth="1985-11", work_start="2007-07", party="群众",
               exceptional={"circumstance": " 破格提拔 ", "reason": "实绩突出，\n群众公认"}),
        title="  中共××县委组织部\n干部任前公示  ", period_start="2026-09-30", working_days=7,
        phone="0000-1234567",
    )
    assert parse_notice(data, DEFAULTS) == NoticeInput(
        title="中共××县委组织部 干部任前公示", issuer="中共××县委组织部",
        period_start=dt.date(2026, 9, 30), working_days=7, phone="0000-1234567",
        letter_address=DEFAULTS["letter_address"], visit_address=DEFAULTS["visit_address"],
        persons=(
            PersonInput(name="张 三", gender="男", ethnicity="汉族", birth="1980-05",
                        native_place="××省 ××县", education="大学本科，管理学学士",
                        work_start="2002-07", party="2001-06", current_post="××镇党委副书记、镇长",
                        proposed_post="××镇党委书记",
                        resume="2002.07 参加工作\n2010.01 任××镇副镇长",
                        cadre_id="HR-2026:00123_a.b"),
            PersonInput(name="李四", gender="女", ethnicity="汉族", birth="1985-11",
                        native_place="××省××县", education="大学本科，管理学学士",
                        work_start="2007-07", party="群众", current_post="××镇党委副书记、镇长",
                        proposed_post="××镇党委书记", exceptional_circumstance="破格提拔",
                        exceptional_reason="实绩突出， 群众公认"),
        ),
    )


def test_person_without_exceptional_data_is_not_exceptional() -> None:
    result = parsed_person()
    assert not result.exceptional
    assert result.exceptional_circumstance is None
    assert result.exceptional_reason is None


def test_channels_default_only_when_absent_or_empty() -> None:
    result = parse_notice(notice(phone="", visit_address="县委大院1号楼"), DEFAULTS)
    assert (result.phone, result.letter_address, result.visit_address) == (
        "0000-12380", "示例县人民路1号", "县委大院1号楼")
    assert parse_notice(notice(), {}).phone == ""


def test_html_in_every_text_field_is_kept_as_literal_text() -> None:
    # Validation does not strip markup: it is escaped where rendered (tested with the pages).
    short = "<b>汉族</b>"  # ethnicity holds at most 20 characters
    text_fields = ("name", "native_place", "education", "current_post", "proposed_post",
                   "resume")
    data = notice(
        person(**dict.fromkeys(text_fields, XSS), ethnicity=short,
               exceptional={"circumstance": XSS, "reason": XSS}),
        **dict.fromkeys(("title", "issuer", "phone", "letter_address", "visit_address"), XSS),
    )
    result = parse_notice(data, DEFAULTS)
    for name in ("title", "issuer", "phone", "letter_address", "visit_address"):
        assert getattr(result, name) == XSS
    [accepted] = result.persons
    for name in (*text_fields, "exceptional_circumstance", "exceptional_reason"):
        assert getattr(accepted, name) == XSS
    assert accepted.ethnicity == short


# --- notice-level fields -------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["title", "issuer"])
@pytest.mark.parametrize("value", [None, "", " \n\u3000 ", 42])
def test_notice_text_is_required(field: str, value: object) -> None:
    assert problems(notice(**{field: value})) == [(None, field)]


@pytest.mark.parametrize("field", ["title", "issuer"])
def test_notice_text_missing(field: str) -> None:
    assert problems(without(notice(), field)) == [(None, field)]


@pytest.mark.parametrize(("given", "expected"), [(None, 5), (5, 5), (12, 12), (30, 30)])
def test_working_days_accepted(given: object, expected: int) -> None:
    assert parse_notice(notice(working_days=given), DEFAULTS).working_days == expected


def test_working_days_missing_means_the_minimum() -> None:
    assert parse_notice(without(notice(), "working_days"), DEFAULTS).working_days == 5
    assert parse_notice(without(notice(), "working_days"), DEFAULTS, 7).working_days == 7


@pytest.mark.parametrize("days", [4, 0, -5, 31, 365, "5", 5.0, True, [5]])
def test_working_days_refused(days: object) -> None:
    assert problems(notice(working_days=days)) == [(None, "working_days")]


def test_working_days_below_the_configured_minimum_is_refused() -> None:
    assert problems(notice(working_days=6), min_days=7) == [(None, "working_days")]
    assert problems(notice(working_days=7), min_days=7) == []


def test_working_days_messages_name_the_limits() -> None:
    assert "5" in message(notice(working_days=4))
    assert "30" in message(notice(working_days=31))


@pytest.mark.parametrize("start", ["2026-11-30", "2020-01-01", "2026-10-01"])
def test_period_start_accepted(start: str) -> None:
    result = parse_notice(notice(period_start=start), DEFAULTS)
    assert result.period_start == dt.date.fromisoformat(start)


@pytest.mark.parametrize("start", ["2026-11-30 ", "２０２６-１１-３０", "２０２６－１１－３０"])
def test_period_start_typed_with_a_chinese_input_method_is_normalised(start: str) -> None:
    assert parse_notice(notice(period_start=start), DEFAULTS).period_start == dt.date(2026, 11, 30)


def test_period_start_may_be_the_last_allowed_day() -> None:
    young = person(birth="2040-01", work_start="2060-01", party="2060-01")
    assert parse_notice(notice(young, period_start="2099-12-31"), DEFAULTS).period_start == (
        dt.date(2099, 12, 31))


@pytest.mark.parametrize(
    "start",
    ["2026/11/30", "2026-02-30", 20261130, "20261130", "2026-11-30T09:00", "30.11.2026",
     "", None, "٢٠٢٦-١١-٣٠", "1899-01-01", "2019-12-31", "2150-01-01"],
)
def test_period_start_refused(start: object) -> None:
    # Without a valid start no age can be computed, so the persons raise nothing more.
    assert problems(notice(period_start=start)) == [(None, "period_start")]


def test_period_start_missing() -> None:
    assert problems(without(notice(), "period_start")) == [(None, "period_start")]


def test_notice_must_be_an_object() -> None:
    assert problems(["title"]) == [(None, "title")]


# --- persons -------------------------------------------------------------------------------------


@pytest.mark.parametrize("persons", [[], "张三", {"name": "张三"}, None, 1])
def test_persons_must_be_a_non_empty_list(persons: object) -> None:
    assert problems(notice(persons=persons)) == [(None, "persons")]


def test_persons_missing() -> None:
    assert problems(without(notice(), "persons")) == [(None, "persons")]


def test_at_most_fifty_persons() -> None:
    assert len(parse_notice(notice(*[person()] * 50), DEFAULTS).persons) == 50
    assert problems(notice(*[person()] * 51)) == [(None, "persons")]
    assert "50" in message(notice(*[person()] * 51))


def test_a_person_that_is_not_an_object_is_named_by_position() -> None:
    data = notice(person(), "张三", None, ["李四"], person())
    assert problems(data) == [(1, "persons"), (2, "persons"), (3, "persons")]


def test_errors_name_the_person_by_position() -> None:
    data = notice(person(), person(gender="M"), person(name="", birth="1980-13"))
    assert problems(data) == [(1, "gender"), (2, "name"), (2, "birth")]


def test_persons_keep_their_order() -> None:
    names = ["张三", "李四", "王五", "赵六"]
    result = parse_notice(notice(*[person(name=n) for n in names]), DEFAULTS)
    assert [p.name for p in result.persons] == names


REQUIRED_PERSON_FIELDS = ["name", "gender", "ethnicity", "birth", "native_place", "education",
                          "work_start", "party", "current_post", "proposed_post"]


@pytest.mark.parametrize("field", REQUIRED_PERSON_FIELDS)
def test_required_person_field_missing(field: str) -> None:
    assert problems(notice(without(person(), field))) == [(0, field)]
    assert problems(notice(person(**{field: None}))) == [(0, field)]
    assert problems(notice(person(**{field: "  \t "}))) == [(0, field)]
    assert message(notice(without(person(), field))) == "This field is required."


@pytest.mark.parametrize("field", REQUIRED_PERSON_FIELDS)
def test_person_field_that_is_not_text(field: str) -> None:
    assert problems(notice(person(**{field: 1980}))) == [(0, field)]
    assert message(notice(person(**{field: ["张三"]}))) == "Must be text."


@pytest.mark.parametrize("gender", ["女", " 男 "])
def test_gender_accepted(gender: str) -> None:
    assert parsed_person(gender=gender).gender == gender.strip()


@pytest.mark.parametrize("gender", ["M", "male", "男性", "男女", "其他"])
def test_gender_refused(gender: str) -> None:
    assert problems(notice(person(gender=gender))) == [(0, "gender")]


@pytest.mark.parametrize("field", ["birth", "work_start"])
@pytest.mark.parametrize(
    "value", ["1980-5", "1980-13", "1980-00", "1980/05", "198005", "80-05", "1980-05-01",
              "1980年5月", "1899-12"],
)
def test_year_month_format_refused(field: str, value: str) -> None:
    assert problems(notice(person(**{field: value}))) == [(0, field)]


@pytest.mark.parametrize("work_start", ["1980-04", "1980-05", "1970-01"])
def test_work_start_must_follow_birth(work_start: str) -> None:
    assert problems(notice(person(birth="1980-05", work_start=work_start))) == [(0, "work_start")]
    assert message(notice(person(birth="1980-05", work_start=work_start))) == (
        "Must be after the date of birth.")


def test_work_cannot_start_before_sixteen() -> None:
    assert problems(notice(person(birth="1980-05", work_start="1996-04"))) == [(0, "work_start")]
    assert problems(notice(person(birth="1980-05", work_start="1996-05"))) == []


@pytest.mark.parametrize(
    ("birth", "work_start", "age_ok"),
    [
        ("2008-11", "2025-01", True),    # 18 on 2026-11-30
        ("2008-12", "2025-01", False),   # 17
        ("1955-12", "1975-07", True),    # 70
        ("1955-11", "1975-07", False),   # 71
        ("1930-01", "1950-01", False),   # 96
    ],
)
def test_age_at_the_start_of_publicity(birth: str, work_start: str, age_ok: bool) -> None:
    data = notice(person(birth=birth, work_start=work_start, party="群众"))
    assert problems(data) == ([] if age_ok else [(0, "birth")])


def test_age_is_taken_at_the_notice_start() -> None:
    data = person(birth="2008-12", work_start="2025-01", party="群众")
    assert problems(notice(data, period_start="2026-11-30")) == [(0, "birth")]
    assert problems(notice(data, period_start="2026-12-01")) == []


@pytest.mark.parametrize("party", ["1998-05", "2001-06", "中共党员", "中共预备党员", "群众",
                                   "共青团员", "无党派人士", "九三学社社员", " 中共党员 "])
def test_party_accepted(party: str) -> None:
    assert parsed_person(birth="1980-05", party=party).party == party.strip()


def test_party_before_the_eighteenth_birthday_is_refused() -> None:
    assert problems(notice(person(birth="1980-05", party="1998-04"))) == [(0, "party")]
    assert message(notice(person(birth="1980-05", party="1998-04"))) == (
        "Party membership starts at 18 at the earliest.")


@pytest.mark.parametrize("party", ["党员", "中共 党员", "Communist", "yes", "1998-13", "1998/05",
                                   "1998", "1998-5"])
def test_party_garbage_refused(party: str) -> None:
    assert problems(notice(person(party=party))) == [(0, "party")]


def test_exceptional_promotion_with_circumstance_and_reason() -> None:
    result = parsed_person(exceptional={"circumstance": "破格提拔", "reason": "实绩突出"})
    assert result.exceptional
    assert (result.exceptional_circumstance, result.exceptional_reason) == ("破格提拔", "实绩突出")


@pytest.mark.parametrize(
    ("exceptional", "expected"),
    [
        ({"circumstance": "破格提拔"}, [(0, "exceptional_reason")]),
        ({"reason": "实绩突出"}, [(0, "exceptional_circumstance")]),
        ({"circumstance": "破格提拔", "reason": " "}, [(0, "exceptional_reason")]),
        ({}, [(0, "exceptional_circumstance"), (0, "exceptional_reason")]),
        ("破格", [(0, "exceptional")]),
        (True, [(0, "exceptional")]),
        (["破格提拔", "实绩突出"], [(0, "exceptional")]),
    ],
)
def test_exceptional_promotion_incomplete(exceptional: object,
                                          expected: list[tuple[int, str]]) -> None:
    assert problems(notice(person(exceptional=exceptional))) == expected


# --- lengths and characters ----------------------------------------------------------------------


def test_a_ten_thousand_character_name_is_refused_naming_the_limit() -> None:
    data = notice(person(name="张" * 10_000))
    assert problems(data) == [(0, "name")]
    assert message(data) == "At most 50 characters (10000 given)."


NOTICE_LIMITED = ("title", "issuer", "phone", "letter_address", "visit_address")


def _with_value(field: str, value: str) -> dict[str, Any]:
    if field in NOTICE_LIMITED:
        return notice(**{field: value})
    if field.startswith("exceptional_"):
        exceptional = {"circumstance": "破格提拔", "reason": "实绩突出"}
        exceptional[field.removeprefix("exceptional_")] = value
        return notice(person(exceptional=exceptional))
    return notice(person(**{field: value}))


@pytest.mark.parametrize("field", sorted(LIMITS))
def test_length_limits(field: str) -> None:
    limit = LIMITS[field]
    who = None if field in NOTICE_LIMITED else 0
    assert problems(_with_value(field, "字" * (limit + 1))) == [(who, field)]
    assert str(limit) in message(_with_value(field, "字" * (limit + 1)))
    if field != "party":  # party is a status or a month; no 30-character value is either
        assert problems(_with_value(field, "字" * limit)) == []


@pytest.mark.parametrize(
    "char",
    [
        "\x00", "\x07", "\x1b", "\x7f",          # C0 controls and DEL
        "\u200b", "\u200c", "\u200d",            # zero-width space / non-joiner / joiner
        "\u200e", "\u200f",                      # LRM, RLM
        "\u202a", "\u202e", "\u2066", "\u2069",  # bidi embeddings, overrides and isolates
        "\x80",
        "\x9b",
        "\u2060",
        "\ufeff",
        "\u061c",
    ],
)
def test_invisible_characters_in_a_name_are_refused(char: str) -> None:
    data = notice(person(name=f"张{char}三"))
    assert problems(data) == [(0, "name")]
    assert message(data) == "Contains invisible control characters."


@pytest.mark.parametrize("char", ["\t", "\n", "\r", "\x0b", "\x0c", "\u3000", "\u2028"])
def test_whitespace_in_a_name_becomes_one_space(char: str) -> None:
    assert parsed_person(name=f" 张{char}{char}三 ").name == "张 三"


def test_resume_keeps_line_breaks_but_refuses_control_characters() -> None:
    assert parsed_person(resume="2002.07 参加工作\r\n2010.01 任职").resume == (
        "2002.07 参加工作\r\n2010.01 任职")
    assert problems(notice(person(resume="2002.07\x1b[31m 参加工作"))) == [(0, "resume")]
    assert problems(notice(person(resume="2002.07 \u202e作工加参"))) == [(0, "resume")]


def test_lone_surrogate_in_a_name_is_refused() -> None:
    assert problems(notice(person(name="张\ud800三"))) == [(0, "name")]


@pytest.mark.parametrize(("field", "month", "ascii_month"), [
    ("birth", "１９８０-０５", "1980-05"),
    ("work_start", "２００２-０７", "2002-07"),
    ("party", "２００１-０６", "2001-06"),
])
def test_non_ascii_digits_in_a_month_are_normalised_or_refused(
    field: str, month: str, ascii_month: str
) -> None:
    result, found = outcome(notice(person(**{field: month})))
    if result is None:
        assert found == [(0, field)]
    else:
        assert getattr(result.persons[0], field) == ascii_month


# --- unknown keys --------------------------------------------------------------------------------


def test_unknown_notice_keys_are_named() -> None:
    assert problems(notice(subtitle="x", period_end="2026-12-04")) == [
        (None, "subtitle"), (None, "period_end")]


def test_unknown_person_keys_are_named_with_the_person() -> None:
    data = notice(person(), person(nickname="小张", age=46))
    assert problems(data) == [(1, "nickname"), (1, "age")]
    assert message(notice(person(id=7))) == "Unknown field."


def test_an_unknown_key_is_cut_to_forty_characters() -> None:
    assert problems(notice(**{"k" * 1000: 1})) == [(None, "k" * 40)]


# --- cadre id ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cadre_id", ["HR-0001", "a.b_c:d-1", "9", "A" * 64])
def test_cadre_id_accepted(cadre_id: str) -> None:
    assert parsed_person(cadre_id=cadre_id).cadre_id == cadre_id


@pytest.mark.parametrize(
    "cadre_id",
    [
        "", "A" * 65, "张三", "HR 0001", "HR/0001", "<b>1</b>", "HR-0001;", 12345, ["HR-1"],
        "HR-0001\n",
        "A" * 64 + "\n",
    ],
)
def test_cadre_id_refused(cadre_id: object) -> None:
    assert problems(notice(person(cadre_id=cadre_id))) == [(0, "cadre_id")]


# --- property ------------------------------------------------------------------------------------


def _visible(text: str) -> bool:
    return not any(unicodedata.category(c) == "Cc" or c in PROMISED_INVISIBLE for c in text)


# C1 controls are left out of the alphabet: accepting them is a known bug, pinned by
# test_invisible_characters_in_a_name_are_refused. Drop the exclusion once it is fixed.
@settings(database=None, max_examples=300)
@given(name=st.text(st.characters(exclude_characters=C1_CONTROLS)))
@example(name="")
@example(name=" \u3000\n")
@example(name="\u200b")
@example(name="张" * 51)
@example(name=" " * 40 + "张" * 50 + " " * 40)
@example(name="张\x00三")
def test_any_name_is_accepted_clean_or_refused_on_name(name: str) -> None:
    result, found = outcome(notice(person(name=name)))
    if result is None:
        assert found == [(0, "name")]
        return
    accepted = result.persons[0].name
    assert 0 < len(accepted) <= 50
    assert accepted == " ".join(name.split())
    assert _visible(accepted)


@pytest.mark.parametrize(("field", "value"), [("work_start", "2090-07"), ("party", "2095-06"),
                                              ("party", "２０９５-０６")])
def test_months_after_the_start_of_publicity_are_refused(field: str, value: str) -> None:
    assert problems(notice(person(**{field: value}))) == [(0, field)]
