"""parse_record: the compliance record in the import format, checked as a whole.

Every refusal is checked for the exact nominee (0-based, None for the record) and field it
names, and a record with several problems must list every one of them at once. The app here has
no translations, so messages are the English msgids.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from publicity.compliance.schemas import parse_record
from publicity.compliance.validation import (
    MAX_MEMBERS,
    MAX_NOMINEES,
    InvalidRecord,
    NomineeInput,
    RecordInput,
    TermSpan,
    describe,
)
from publicity.validation import FieldError

D = dt.date.fromisoformat
TERMS = [TermSpan("第十五届", D("2021-09-20"), D("2026-09-19")),
         TermSpan("第十六届", D("2026-09-20"), D("2031-09-19"))]

Problems = list[tuple[int | None, str]]


pytestmark = pytest.mark.usefixtures("gettext_context")


def nominee(cadre_id: object = "HR-0001", **changes: Any) -> dict[str, Any]:
    """A valid nominee in the import format."""
    data: dict[str, Any] = {
        "cadre_id": cadre_id, "name": "张三", "proposed_post": "××镇党委书记",
        "promotion": True, "nominated_by": "org_department", "vote_share": 85,
        "inspection": "passed", "decision": "approved",
    }
    data.update(changes)
    return data


def record(*nominees: object, **changes: Any) -> dict[str, Any]:
    """A valid partial decision of the standing committee in term 第十五届."""
    data: dict[str, Any] = {
        "batch_kind": "partial", "term": "第十五届",
        "meeting": {"body": "standing", "date": "2026-03-10", "members_in_office": 11,
                    "members_present": 9},
        "nominees": list(nominees) or [nominee()],
    }
    data.update(changes)
    return data


def meeting(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"body": "standing", "date": "2026-03-10", "members_in_office": 11,
                            "members_present": 9}
    data.update(changes)
    return data


def ballot(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"date": "2026-03-12", "members_in_office": 30,
                            "members_present": 28}
    data.update(changes)
    return data


def parse(data: object, terms: list[TermSpan] = TERMS, limit: int = 30) -> RecordInput:
    return parse_record(data, terms, promotions_without_approval=limit)


def errors(data: object, terms: list[TermSpan] = TERMS, limit: int = 30) -> list[FieldError]:
    with pytest.raises(InvalidRecord) as exc:
        parse(data, terms, limit)
    return exc.value.errors


def problems(data: object, terms: list[TermSpan] = TERMS, limit: int = 30) -> Problems:
    """(nominee, field) of every error."""
    return [(e.person, e.field) for e in errors(data, terms, limit)]


def only(data: object, terms: list[TermSpan] = TERMS, limit: int = 30) -> FieldError:
    [error] = errors(data, terms, limit)
    return error


def parsed_nominee(**changes: Any) -> NomineeInput:
    [result] = parse(record(nominee(**changes))).nominees
    return result


# --- a valid record --------------------------------------------------------------------------

def test_a_valid_minimal_record() -> None:
    result = parse(record())
    assert result == RecordInput(
        batch_kind="partial", term="第十五届", meeting_body="standing",
        meeting_date=D("2026-03-10"), members_in_office=11, members_present=9,
        nominees=(NomineeInput(cadre_id="HR-0001", name="张三", proposed_post="××镇党委书记",
                               nominated_by="org_department", inspection="passed",
                               decision="approved", promotion=True, vote_share_bp=8500),))


def test_a_full_record_keeps_every_field() -> None:
    full = nominee("HR-0002", name=" 李  四 ", promotion=False, nominated_by="individual",
                   nominator="王书记", relationship="colleague", reserve_pool=True,
                   vote_share="66.67%", consultation_objections=["npc", "npc", "cppcc"],
                   flags=["exceptional"], prefecture_review_ref="州组审〔2026〕3号",
                   important_post=True, ballot={"for": 20, "against": 5, "abstain": 3})
    result = parse(record(full, batch_kind="batch", ballot=ballot(),
                          meeting=meeting(body="full")))
    assert (result.batch_kind, result.meeting_body) == ("batch", "full")
    assert (result.ballot_date, result.ballot_in_office, result.ballot_present) == (
        D("2026-03-12"), 30, 28)
    [n] = result.nominees
    assert n == NomineeInput(
        cadre_id="HR-0002", name="李 四", proposed_post="××镇党委书记",
        nominated_by="individual", inspection="passed", decision="approved", promotion=False,
        nominator="王书记", relationship="colleague", reserve_pool=True, vote_share_bp=6667,
        objections=("npc", "cppcc"), flags=("exceptional",),
        prefecture_review_ref="州组审〔2026〕3号", important_post=True, ballot_for=20,
        ballot_against=5, ballot_abstain=3)


def test_the_meeting_may_fall_on_the_terms_first_and_last_day() -> None:
    assert parse(record(meeting=meeting(date="2021-09-20"))).meeting_date == D("2021-09-20")
    assert parse(record(meeting=meeting(date="2026-09-19"))).meeting_date == D("2026-09-19")
    assert parse(record(term="第十六届", meeting=meeting(date="2026-09-20"))).term == "第十六届"


def test_full_width_digits_are_accepted_for_counts_dates_and_shares() -> None:
    result = parse(record(
        nominee(vote_share="８５．５", ballot={"for": "２０", "against": "０", "abstain": "１"},
                important_post=True),
        meeting=meeting(date="２０２６－０３－１０", members_in_office="１１",
                        members_present="９"),
        ballot=ballot(date="２０２６－０３－１２", members_in_office="３０",
                      members_present="２８")))
    assert (result.meeting_date, result.members_in_office, result.members_present) == (
        D("2026-03-10"), 11, 9)
    assert (result.ballot_date, result.ballot_in_office, result.ballot_present) == (
        D("2026-03-12"), 30, 28)
    [n] = result.nominees
    assert (n.vote_share_bp, n.ballot_for, n.ballot_against, n.ballot_abstain) == (8550, 20, 0, 1)


def test_counts_may_be_digit_strings() -> None:
    result = parse(record(meeting=meeting(members_in_office="11", members_present=" 9 ")))
    assert (result.members_in_office, result.members_present) == (11, 9)


@pytest.mark.parametrize(("share", "bp"), [
    (50, 5000), ("50", 5000), ("50%", 5000), (50.5, 5050), ("49.99", 4999), (0, 0),
    (100, 10000), ("100.00", 10000), ("0.01", 1), (33.33, 3333), ("８５％", 8500)])
def test_vote_shares_in_basis_points(share: object, bp: int) -> None:
    assert parsed_nominee(vote_share=share).vote_share_bp == bp


@pytest.mark.parametrize("share", [None, ""])
def test_a_missing_vote_share_is_none(share: object) -> None:
    assert parsed_nominee(vote_share=share).vote_share_bp is None


def test_defaults_of_optional_nominee_fields() -> None:
    data = nominee()
    del data["promotion"]
    [n] = parse(record(data)).nominees
    assert n.promotion is True
    assert (n.reserve_pool, n.important_post, n.objections, n.flags) == (False, False, (), ())
    assert (n.nominator, n.relationship, n.prefecture_review_ref, n.ballot_for) == (
        None, None, None, None)


def test_an_individual_nomination_with_its_declaration() -> None:
    n = parsed_nominee(nominated_by="individual", nominator="王书记", relationship="spouse")
    assert (n.nominated_by, n.nominator, n.relationship) == ("individual", "王书记", "spouse")


def test_more_than_thirty_promotions_may_carry_the_prefectures_approval() -> None:
    many = [nominee(f"HR-{i:04d}") for i in range(31)]
    result = parse(record(*many, prefecture_approval_ref="州组字〔2026〕12号"))
    assert result.prefecture_approval_ref == "州组字〔2026〕12号"
    assert result.promoted == 31


# --- every problem, named by nominee and field ---------------------------------------------------

def test_every_problem_of_a_record_is_listed_at_once() -> None:
    bad = record(
        nominee("HR-1", vote_share=101),
        nominee("HR-2", nominated_by="individual"),
        nominee("", name=""),
        meeting=meeting(members_in_office=9, members_present=10),
        term="第九届", surplus=1)
    assert problems(bad) == [
        (None, "surplus"), (None, "term"), (None, "members_present"),
        (0, "vote_share"),
        (1, "nominator"), (1, "relationship"),
        (2, "cadre_id"), (2, "name")]


def test_attendance_larger_than_membership() -> None:
    error = only(record(meeting=meeting(members_in_office=9, members_present=10)))
    assert (error.person, error.field) == (None, "members_present")
    assert error.message == "More members present (10) than in office (9)."
    assert describe(error) == ("Members present: More members present (10) than in office "
                               "(9).")
    assert parse(record(meeting=meeting(members_in_office=9, members_present=9)))


def test_a_body_without_members() -> None:
    assert problems(record(meeting=meeting(members_in_office=0, members_present=0))) == [
        (None, "members_in_office")]
    assert problems(record(ballot=ballot(members_in_office=0, members_present=0))) == [
        (None, "ballot_in_office")]


def test_ballot_attendance_larger_than_membership() -> None:
    assert problems(record(ballot=ballot(members_in_office=30, members_present=31))) == [
        (None, "ballot_present")]


@pytest.mark.parametrize("share", [101, -1, "abc", 50.123, "50.123", "100.01", "-0", "1e2",
                                   True, [50], {"v": 50}, float("nan"), 1000])
def test_vote_shares_outside_0_to_100_or_with_three_decimals(share: object) -> None:
    error = only(record(nominee(vote_share=share)))
    assert (error.person, error.field) == (0, "vote_share")
    assert describe(error).startswith("Nominee 1, Democratic recommendation vote share (%): ")


def test_an_individual_nomination_without_relationship_or_nominator() -> None:
    assert problems(record(nominee(nominated_by="individual", nominator="王书记"))) == [
        (0, "relationship")]
    assert problems(record(nominee(nominated_by="individual", relationship="none"))) == [
        (0, "nominator")]
    error = only(record(nominee(nominated_by="individual", nominator="王书记",
                                relationship="")))
    assert error.message == ("An individual leader's nomination declares the relationship "
                             "(推荐干部登记表).")


@pytest.mark.parametrize("nominated_by", ["org_department", "collective"])
@pytest.mark.parametrize("extra", [{"nominator": "王书记"}, {"relationship": "none"},
                                   {"nominator": "王书记", "relationship": "spouse"}])
def test_a_nominator_only_for_an_individual_nomination(nominated_by: str,
                                                       extra: dict[str, str]) -> None:
    error = only(record(nominee(nominated_by=nominated_by, **extra)))
    assert (error.person, error.field) == (0, "nominator")


def test_an_unknown_relationship() -> None:
    error = only(record(nominee(nominated_by="individual", nominator="王书记",
                                relationship="cousin")))
    assert (error.person, error.field) == (0, "relationship")


@pytest.mark.parametrize(("approved", "not_approved"), [
    (0, 0), (1, 0), (29, 0), (29, 1), (0, 30), (15, 15)])
def test_a_prefecture_approval_not_needed_is_refused(approved: int, not_approved: int) -> None:
    # Rule 7 counts promotions put to the decision (rejected and deferred ones too); moves and
    # nominees held back from the meeting do not count.
    nominees = [nominee(f"HR-{i:04d}") for i in range(approved)]
    nominees += [nominee(f"R-{i:04d}", decision="rejected" if i % 2 else "deferred")
                 for i in range(not_approved)]
    nominees += [nominee("M-1", promotion=False),
                 nominee("N-1", decision="not_submitted")]
    error = only(record(*nominees, prefecture_approval_ref="州组字〔2026〕12号"))
    assert (error.person, error.field) == (None, "prefecture_approval_ref")
    promoted = approved + not_approved
    assert error.message == (f"This batch promotes {promoted}, not more than 30: it needs no "
                             "prior approval. Remove the reference.")


@pytest.mark.parametrize(("approved", "not_approved"), [(31, 0), (30, 1), (0, 31), (1, 30)])
def test_a_prefecture_approval_counts_proposed_promotions(approved: int,
                                                          not_approved: int) -> None:
    nominees = [nominee(f"HR-{i:04d}") for i in range(approved)]
    nominees += [nominee(f"R-{i:04d}", decision="rejected" if i % 2 else "deferred")
                 for i in range(not_approved)]
    result = parse(record(*nominees, prefecture_approval_ref="州组字〔2026〕12号"))
    assert result.promoted == 31
    assert result.prefecture_approval_ref == "州组字〔2026〕12号"


def test_promoted_counts_promotions_put_to_the_decision() -> None:
    result = parse(record(nominee("A"), nominee("B", decision="rejected"),
                          nominee("C", decision="deferred"),
                          nominee("D", decision="not_submitted"),
                          nominee("E", promotion=False)))
    assert result.promoted == 3


def test_the_approval_limit_is_the_configured_one() -> None:
    three = [nominee(f"HR-{i}") for i in range(3)]
    assert parse(record(*three, prefecture_approval_ref="州组字1号"), limit=2)
    assert problems(record(*three, prefecture_approval_ref="州组字1号"), limit=3) == [
        (None, "prefecture_approval_ref")]


def test_a_prefecture_review_without_a_flag_is_refused() -> None:
    error = only(record(nominee(), nominee("HR-2", prefecture_review_ref="州组审1号")))
    assert (error.person, error.field) == (1, "prefecture_review_ref")
    assert describe(error).startswith("Nominee 2, Prefecture's review (reference): ")
    assert parse(record(nominee(flags=["disputed"], prefecture_review_ref="州组审1号")))


def test_an_unknown_term() -> None:
    error = only(record(term="第九届"))
    assert (error.person, error.field) == (None, "term")
    assert error.message == "No such term: the administrator configures the terms."


def test_no_terms_configured() -> None:
    error = only(record(), terms=[])
    assert (error.person, error.field) == (None, "term")
    assert error.message.startswith("No term is configured yet")


@pytest.mark.parametrize("day", ["2021-09-19", "2026-09-20", "2031-01-01"])
def test_a_meeting_outside_the_term(day: str) -> None:
    error = only(record(meeting=meeting(date=day)))
    assert (error.person, error.field) == (None, "meeting_date")
    assert error.message == ("The meeting lies outside the term 第十五届 (2021-09-20 – "
                             "2026-09-19).")


# --- meeting dates: the decision comes before the notice, and not in the future -------------

def dated(data: object, latest: dt.date | None) -> list[FieldError]:
    with pytest.raises(InvalidRecord) as exc:
        parse_record(data, TERMS, promotions_without_approval=30, latest=latest)
    return exc.value.errors


def parses(data: object, latest: dt.date | None) -> RecordInput:
    return parse_record(data, TERMS, promotions_without_approval=30, latest=latest)


@pytest.mark.parametrize("latest", ["2026-03-10", "2026-03-11", "2026-09-19"])
def test_a_meeting_on_or_before_the_latest_day(latest: str) -> None:
    assert parses(record(), D(latest)).meeting_date == D("2026-03-10")


@pytest.mark.parametrize("latest", ["2026-03-09", "2026-01-01"])
def test_a_meeting_after_the_latest_day_is_refused(latest: str) -> None:
    # `latest` is min(today, the notice's start): a meeting after the notice starts, or in the
    # future, is refused the same way.
    [error] = dated(record(), D(latest))
    assert (error.person, error.field) == (None, "meeting_date")
    assert error.message == ("The decision meeting comes before the notice and cannot lie in "
                             f"the future: at the latest {latest}.")


def test_without_a_latest_day_the_meeting_date_is_only_checked_against_the_term() -> None:
    assert parses(record(meeting=meeting(date="2026-09-19")), None)


@pytest.mark.parametrize("ballot_day", ["2026-03-10", "2026-03-12", "2026-03-20"])
def test_a_ballot_between_the_meeting_and_the_latest_day(ballot_day: str) -> None:
    data = record(ballot=ballot(date=ballot_day))
    assert parses(data, D("2026-03-20")).ballot_date == D(ballot_day)


@pytest.mark.parametrize(("ballot_day", "latest"), [
    ("2026-03-09", "2026-03-20"),   # before the standing committee's meeting
    ("2026-01-01", None),           # before the meeting, whatever the latest day
    ("2026-03-21", "2026-03-20")])  # after the notice starts, or in the future
def test_a_ballot_out_of_order_is_refused(ballot_day: str, latest: str | None) -> None:
    data = record(ballot=ballot(date=ballot_day))
    [error] = dated(data, D(latest) if latest else None)
    assert (error.person, error.field) == (None, "ballot_date")
    assert error.message.startswith("The full committee votes after the standing committee's "
                                    "meeting (2026-03-10) and before the notice")


def test_a_meeting_and_ballot_both_after_the_latest_day_are_both_named() -> None:
    data = record(meeting=meeting(date="2026-03-10"), ballot=ballot(date="2026-03-12"))
    assert [(e.person, e.field) for e in dated(data, D("2026-03-01"))] == [
        (None, "meeting_date"), (None, "ballot_date")]


@pytest.mark.parametrize("cadre_id", [None, ""])
def test_a_nominee_without_cadre_id(cadre_id: object) -> None:
    error = only(record(nominee(cadre_id=cadre_id)))
    assert (error.person, error.field) == (0, "cadre_id")
    assert error.message.startswith("Required: it matches this person with earlier batches")


def test_a_nominee_with_no_cadre_id_key() -> None:
    data = nominee()
    del data["cadre_id"]
    assert problems(record(nominee("HR-9"), data)) == [(1, "cadre_id")]


@pytest.mark.parametrize("cadre_id", ["HR 1", "A" * 65, 123, "ＨＲ１", " HR-1"])
def test_a_cadre_id_in_a_bad_form(cadre_id: object) -> None:
    assert problems(record(nominee(cadre_id=cadre_id))) == [(0, "cadre_id")]


def test_the_same_cadre_id_twice() -> None:
    error = only(record(nominee("HR-1"), nominee("HR-2"), nominee("HR-1", name="张三丰")))
    assert (error.person, error.field) == (2, "cadre_id")
    assert error.message == "The same person is listed twice (nominee 1)."


def test_the_same_cadre_id_twice_after_an_invalid_nominee() -> None:
    listed = record(nominee("HR-0", name=""), nominee("HR-1"), nominee("HR-1"))
    assert problems(listed) == [(0, "name"), (2, "cadre_id")]
    assert errors(listed)[1].message == "The same person is listed twice (nominee 2)."


@pytest.mark.parametrize("inspection", ["failed", "not_inspected"])
def test_approved_without_passing_inspection(inspection: str) -> None:
    error = only(record(nominee(inspection=inspection, decision="approved")))
    assert (error.person, error.field) == (0, "decision")
    assert error.message == "Only a nominee who passed inspection can be approved."


@pytest.mark.parametrize("decision", ["rejected", "deferred", "not_submitted"])
def test_a_failed_nominee_may_be_recorded_as_not_approved(decision: str) -> None:
    assert parsed_nominee(inspection="failed", decision=decision).failed


def test_unknown_fields_everywhere() -> None:
    data = record(nominee(age=40, ballot={"for": 1, "against": 0, "abstain": 0, "blank": 0},
                          important_post=True),
                  meeting=meeting(place="礼堂"), ballot=ballot(chair="x"), notes="")
    assert problems(data) == [(None, "notes"), (None, "place"), (None, "chair"),
                              (0, "age"), (0, "blank")]
    assert all(e.message == "Unknown field." for e in errors(data))


def test_a_long_unknown_field_name_is_cut() -> None:
    [(_, name)] = problems(record(**{"x" * 1000: 1}))
    assert name == "x" * 40


@pytest.mark.parametrize(("where", "value", "field"), [
    ("members_in_office", "eleven", "members_in_office"),
    ("members_in_office", 11.0, "members_in_office"),
    ("members_in_office", True, "members_in_office"),
    ("members_in_office", [11], "members_in_office"),
    ("members_present", "9人", "members_present"),
    ("members_present", -1, "members_present"),
    ("members_present", MAX_MEMBERS + 1, "members_present"),
    ("date", "2026/03/10", "meeting_date"),
    ("date", "2026-02-30", "meeting_date"),
    ("date", 20260310, "meeting_date"),
    ("body", "plenary", "meeting_body"),
    ("body", ["standing"], "meeting_body")])
def test_wrong_types_in_the_meeting(where: str, value: object, field: str) -> None:
    assert problems(record(meeting=meeting(**{where: value}))) == [(None, field)]


@pytest.mark.parametrize("missing", ["body", "date", "members_in_office", "members_present"])
def test_a_meeting_field_missing(missing: str) -> None:
    data = meeting()
    del data[missing]
    assert len(problems(record(meeting=data))) == 1


@pytest.mark.parametrize(("key", "value", "field"), [
    ("meeting", ["standing", "2026-03-10", 11, 9], "meeting_date"),
    ("meeting", "2026-03-10", "meeting_date"),
    ("ballot", [30, 28], "ballot_date"),
    ("batch_kind", "annual", "batch_kind"),
    ("batch_kind", 1, "batch_kind"),
    ("term", 15, "term"),
    ("nominees", {"0": {}}, "nominees"),
    ("nominees", [], "nominees"),
    ("nominees", "张三", "nominees"),
    ("prefecture_approval_ref", 12, "prefecture_approval_ref")])
def test_wrong_types_in_the_record(key: str, value: object, field: str) -> None:
    assert (None, field) in problems(record(**{key: value}))


def test_a_missing_meeting_is_named() -> None:
    data = record()
    del data["meeting"]
    error = errors(data)[0]
    assert (error.person, error.field) == (None, "meeting_date")
    assert error.message == "Record the decision meeting."


@pytest.mark.parametrize("data", [None, [], "记录", 1, [record()]])
def test_a_record_that_is_not_an_object(data: object) -> None:
    error = only(data)
    assert (error.person, error.field) == (None, "compliance")
    assert describe(error) == "Compliance record: Must be an object with fields."


@pytest.mark.parametrize(("key", "value"), [
    ("promotion", "yes"), ("promotion", 1), ("reserve_pool", "true"), ("important_post", 0),
    ("name", 12), ("proposed_post", ["x"]), ("nominated_by", "self"),
    ("inspection", "ok"), ("decision", "approve"), ("flags", "exceptional"),
    ("flags", ["exceptional", "rich"]), ("flags", [1]), ("consultation_objections", "npc"),
    ("consultation_objections", ["press"]), ("ballot", [20, 5, 3]), ("ballot", "20"),
    ("name", "张\u200b三"), ("name", "张" * 51), ("proposed_post", " ")])
def test_wrong_types_of_a_nominee(key: str, value: object) -> None:
    data = record(nominee(), nominee("HR-2", **{key: value}), ballot=ballot())
    [error] = errors(data)
    assert error.person == 1
    field = "ballot_for" if key == "ballot" else key
    assert error.field == field


def test_a_nominee_that_is_not_an_object() -> None:
    assert problems(record(nominee(), ["HR-2", "李四"], "王五")) == [
        (1, "nominees"), (2, "nominees")]


def test_too_many_nominees() -> None:
    many = [nominee(f"HR-{i}") for i in range(MAX_NOMINEES + 1)]
    assert problems(record(*many)) == [(None, "nominees")]


def test_ballot_votes_without_the_ballot_meeting() -> None:
    error = only(record(nominee(important_post=True,
                                ballot={"for": 20, "against": 5, "abstain": 3})))
    assert (error.person, error.field) == (0, "ballot_for")
    assert error.message == "Record the full committee's ballot meeting first."


def test_more_votes_than_members_present() -> None:
    votes = {"for": 20, "against": 5, "abstain": 4}
    error = only(record(nominee(ballot=votes), ballot=ballot(members_present=28)))
    assert (error.person, error.field) == (0, "ballot_for")
    assert error.message == "More votes than members present (28)."
    votes["abstain"] = 3
    assert parse(record(nominee(ballot=votes), ballot=ballot(members_present=28)))


@pytest.mark.parametrize("missing", ["for", "against", "abstain"])
def test_each_vote_count_is_required(missing: str) -> None:
    votes = {"for": 20, "against": 5, "abstain": 3}
    del votes[missing]
    assert problems(record(nominee(ballot=votes), ballot=ballot())) == [
        (0, f"ballot_{missing}")]


def test_wrong_types_of_ballot_votes() -> None:
    votes = {"for": "twenty", "against": -1, "abstain": 2.5}
    assert problems(record(nominee(ballot=votes), ballot=ballot())) == [
        (0, "ballot_for"), (0, "ballot_against"), (0, "ballot_abstain")]


def test_a_ballot_meeting_with_fields_missing() -> None:
    assert problems(record(ballot={})) == [
        (None, "ballot_date"), (None, "ballot_in_office"), (None, "ballot_present")]


def test_describe_names_the_nominee_and_the_field() -> None:
    assert describe(FieldError(2, "vote_share", "Bad.")) == (
        "Nominee 3, Democratic recommendation vote share (%): Bad.")
    assert describe(FieldError(None, "term", "Bad.")) == "Term (届期): Bad."
    assert describe(FieldError(0, "age", "Unknown field.")) == "Nominee 1, age: Unknown field."


def test_invalid_record_carries_every_error() -> None:
    with pytest.raises(InvalidRecord) as exc:
        parse(record(nominee(vote_share=-1), nominee("HR-2", vote_share=101)))
    assert str(exc.value) == "2 problems"
    assert [(e.person, e.field) for e in exc.value.errors] == [(0, "vote_share"),
                                                               (1, "vote_share")]


def test_an_unneeded_approval_is_named_with_the_other_problems() -> None:
    assert problems(record(term="第九届", prefecture_approval_ref="州组字1号")) == [
        (None, "term"), (None, "prefecture_approval_ref")]


@pytest.mark.parametrize("key", ["members_in_office", "members_present"])
def test_a_count_with_thousands_of_digits_is_refused_not_a_crash(key: str) -> None:
    assert problems(record(meeting=meeting(**{key: "9" * 5000}))) == [(None, key)]
