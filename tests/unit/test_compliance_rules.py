"""The county plan's ten rules as pure functions: every threshold at, just below and just above
its value, every forbidden relationship, flag and consulted body, and the thresholds' text.

No database: records are built directly as validated inputs, and the history is given. The
rules' messages go through flask_babel, so each test runs in a request context of a bare app
(no translations: messages are the English msgids).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from fractions import Fraction

import pytest

from publicity.compliance import rules
from publicity.compliance.rules import (
    THRESHOLDS,
    Failure,
    History,
    RuleResult,
    Status,
    Thresholds,
    add_months,
    evaluate,
    parse_threshold,
)
from publicity.compliance.validation import (
    CONSULTED,
    FLAGS,
    FORBIDDEN_RELATIONSHIPS,
    RELATIONSHIPS,
    NomineeInput,
    RecordInput,
)

D = dt.date.fromisoformat
TERM = "第十五届"
HISTORY = History(term_name=TERM, leadership_posts=1000)
DEFAULTS = Thresholds()


pytestmark = pytest.mark.usefixtures("gettext_context")


def nominee(cadre_id: str = "C-1", **changes: object) -> NomineeInput:
    """A nominee every rule accepts: department nomination, 85%, passed, approved."""
    base = NomineeInput(cadre_id=cadre_id, name=f"张{cadre_id}", proposed_post="示例镇党委书记",
                        nominated_by="org_department", inspection="passed",
                        decision="approved", vote_share_bp=8500)
    return replace(base, **changes)  # type: ignore[arg-type]


def record(*nominees: NomineeInput, **changes: object) -> RecordInput:
    """A partial decision of the standing committee, 9 of 9 present, on 2026-03-10."""
    base = RecordInput(batch_kind="partial", term=TERM, meeting_body="standing",
                       meeting_date=D("2026-03-10"), members_in_office=9, members_present=9,
                       nominees=nominees or (nominee(),))
    return replace(base, **changes)  # type: ignore[arg-type]


def verdict(number: int, data: RecordInput, history: History = HISTORY,
            thresholds: Thresholds = DEFAULTS) -> RuleResult:
    """Rule `number`'s result, through evaluate (the one entry point the service uses)."""
    results = evaluate(data, history, thresholds)
    result = results[number - 1]
    assert result.rule.number == number
    return result


def status(number: int, data: RecordInput, history: History = HISTORY,
           thresholds: Thresholds = DEFAULTS) -> Status:
    return verdict(number, data, history, thresholds).status


def thresholds(**text: str) -> Thresholds:
    return Thresholds.from_text(text)


# --- evaluate --------------------------------------------------------------------------------

def test_a_clean_record_passes_every_rule_in_the_plans_order() -> None:
    results = evaluate(record(), HISTORY, DEFAULTS)
    assert [r.rule.number for r in results] == list(range(1, 11))
    assert [r.status for r in results] == [Status.passed] * 10
    assert all(r.passed and r.facts for r in results)


def test_rules_are_numbered_and_quoted() -> None:
    assert [r.number for r in rules.RULES] == list(range(1, 11))
    assert set(rules.RULE_NUMBERS) == set(range(1, 11))
    assert all(rules.rule(n).number == n for n in range(1, 11))
    assert "三分之二" in rules.rule(1).quote
    assert "50%" in rules.rule(2).quote


def test_a_result_passes_only_when_its_status_is_pass() -> None:
    assert not verdict(1, record(members_present=1)).passed
    assert not verdict(7, record(*(nominee(f"C-{i}") for i in range(31)))).passed
    assert verdict(1, record()).passed


# --- rule 1: attendance ----------------------------------------------------------------------

@pytest.mark.parametrize(("present", "expected"), [
    (6, Status.passed), (5, Status.violation), (7, Status.passed), (9, Status.passed),
    (0, Status.violation)])
def test_rule_1_at_two_thirds_of_nine(present: int, expected: Status) -> None:
    assert status(1, record(members_in_office=9, members_present=present)) == expected


@pytest.mark.parametrize(("in_office", "present", "expected"), [
    (11, 8, Status.passed),   # 72.7%
    (11, 7, Status.violation),  # 63.6%: "不足三分之二"
    (12, 8, Status.passed),   # exactly 2/3
    (3, 2, Status.passed),
    (3, 1, Status.violation)])
def test_rule_1_other_committee_sizes(in_office: int, present: int, expected: Status) -> None:
    assert status(1, record(members_in_office=in_office, members_present=present)) == expected


@pytest.mark.parametrize(("present", "expected"), [
    (6, Status.passed), (5, Status.violation), (7, Status.passed)])
def test_rule_1_with_a_configured_three_quarters(present: int, expected: Status) -> None:
    configured = thresholds(attendance="3/4")
    assert status(1, record(members_in_office=8, members_present=present),
                  thresholds=configured) == expected
    # 6 of 9 passes the plan's 2/3 but not 3/4.
    assert status(1, record(members_in_office=9, members_present=6),
                  thresholds=configured) == Status.violation


def test_rule_1_states_the_attendance() -> None:
    result = verdict(1, record(members_in_office=9, members_present=5))
    assert result.facts == (
        "Standing committee (常委会): 5 of 9 members present (55.6%); at least 2/3 required.",)


@pytest.mark.parametrize(("ballot_present", "expected"), [
    (20, Status.passed), (19, Status.violation), (21, Status.passed)])
def test_rule_1_also_checks_the_full_committee_ballot(ballot_present: int,
                                                      expected: Status) -> None:
    data = record(ballot_date=D("2026-03-12"), ballot_in_office=30,
                  ballot_present=ballot_present)
    result = verdict(1, data)
    assert result.status == expected
    assert len(result.facts) == 2
    assert result.facts[1].startswith("Full committee (全委会): ")


def test_rule_1_fails_when_either_meeting_lacks_attendance() -> None:
    data = record(members_in_office=9, members_present=5, ballot_date=D("2026-03-12"),
                  ballot_in_office=30, ballot_present=30)
    assert status(1, data) == Status.violation


def test_rule_1_a_body_without_members_never_decides() -> None:
    assert status(1, record(members_in_office=0, members_present=0)) == Status.violation


# --- rule 2: vote share ----------------------------------------------------------------------

@pytest.mark.parametrize(("share_bp", "expected"), [
    (5000, Status.passed), (4999, Status.violation), (5001, Status.passed),
    (10000, Status.passed), (0, Status.violation)])
def test_rule_2_at_half_the_votes(share_bp: int, expected: Status) -> None:
    data = record(nominee("A"), nominee("B", vote_share_bp=share_bp))
    assert status(2, data) == expected


def test_rule_2_a_candidate_without_a_recommendation_is_a_violation() -> None:
    result = verdict(2, record(nominee(vote_share_bp=None)))
    assert result.status == Status.violation
    assert result.facts == ("张C-1（C-1） became a candidate without a democratic "
                            "recommendation on record.",)


def test_rule_2_names_each_low_candidate() -> None:
    result = verdict(2, record(nominee("A", vote_share_bp=4999), nominee("B"),
                               nominee("C", vote_share_bp=1000)))
    assert result.facts == (
        "张A（A） became a candidate with 49.99% of the votes; at least 50% required.",
        "张C（C） became a candidate with 10% of the votes; at least 50% required.")


@pytest.mark.parametrize(("inspection", "decision"), [
    ("passed", "not_submitted"), ("failed", "not_submitted"), ("passed", "deferred"),
    ("not_inspected", "rejected"), ("passed", "rejected")])
def test_rule_2_inspected_or_submitted_is_a_candidate(inspection: str, decision: str) -> None:
    low = nominee("B", inspection=inspection, decision=decision, vote_share_bp=4999)
    assert status(2, record(nominee("A"), low)) == Status.violation
    assert status(2, record(nominee("A"), replace(low, vote_share_bp=5000))) == Status.passed


@pytest.mark.parametrize("share_bp", [1000, 0, None])
def test_rule_2_a_nominee_not_made_a_candidate_is_fine(share_bp: int | None) -> None:
    dropped = nominee("B", inspection="not_inspected", decision="not_submitted",
                      vote_share_bp=share_bp)
    result = verdict(2, record(nominee("A"), dropped))
    assert result.status == Status.passed
    assert "1 nominees were not made candidates." in result.facts


def test_rule_2_with_only_dropped_nominees() -> None:
    dropped = nominee("B", inspection="not_inspected", decision="not_submitted",
                      vote_share_bp=1000)
    assert verdict(2, record(dropped)).facts[0] == "No nominee became a candidate."


@pytest.mark.parametrize(("share_bp", "expected"), [
    (6000, Status.passed), (5999, Status.violation), (6001, Status.passed)])
def test_rule_2_with_a_configured_sixty_percent(share_bp: int, expected: Status) -> None:
    data = record(nominee(vote_share_bp=share_bp))
    assert status(2, data, thresholds=thresholds(vote_share="60%")) == expected


# --- rule 3: renomination after failing --------------------------------------------------------

FAILED_ON = D("2025-03-15")


def failed(cadre_id: str = "C-1", day: dt.date = FAILED_ON) -> History:
    return replace(HISTORY, failures=(Failure(cadre_id, day, 7),))


@pytest.mark.parametrize(("meeting", "expected"), [
    ("2026-03-14", Status.violation),  # 12 months minus one day
    ("2026-03-15", Status.passed),     # exactly 12 months
    ("2026-03-16", Status.passed),     # 12 months plus one day
    ("2025-03-15", Status.violation),  # the same day
    ("2025-09-01", Status.violation)])
def test_rule_3_twelve_months_after_failing(meeting: str, expected: Status) -> None:
    assert status(3, record(meeting_date=D(meeting)), failed()) == expected


def test_rule_3_names_the_batch_and_the_day_from_which_it_is_allowed() -> None:
    result = verdict(3, record(meeting_date=D("2026-03-14")), failed())
    assert result.facts == ("张C-1（C-1） failed in batch 7 on 2025-03-15 and may be nominated "
                            "again from 2026-03-15.",)


def test_rule_3_only_the_same_cadre_id_counts() -> None:
    data = record(meeting_date=D("2025-06-01"))
    assert status(3, data, failed("C-2")) == Status.passed
    assert status(3, data, failed("c-1")) == Status.passed


def test_rule_3_any_nominee_counts_even_one_not_made_a_candidate() -> None:
    again = nominee("C-9", inspection="not_inspected", decision="not_submitted")
    data = record(nominee("C-1"), again, meeting_date=D("2025-06-01"))
    assert status(3, data, failed("C-9")) == Status.violation


def test_rule_3_a_failure_after_this_meeting_does_not_count() -> None:
    assert status(3, record(meeting_date=D("2025-03-14")), failed()) == Status.passed


@pytest.mark.parametrize(("failed_on", "meeting", "expected"), [
    ("2025-01-31", "2025-02-27", Status.violation),
    ("2025-01-31", "2025-02-28", Status.passed),  # January 31 + 1 month: February's last day
    ("2024-01-31", "2024-02-28", Status.violation),
    ("2024-01-31", "2024-02-29", Status.passed),  # leap year
    ("2025-03-31", "2025-04-29", Status.violation),
    ("2025-03-31", "2025-04-30", Status.passed)])
def test_rule_3_at_month_ends(failed_on: str, meeting: str, expected: Status) -> None:
    one_month = thresholds(renomination_months="1")
    assert status(3, record(meeting_date=D(meeting)), failed(day=D(failed_on)),
                  one_month) == expected


@pytest.mark.parametrize(("meeting", "expected"), [
    ("2025-02-27", Status.violation), ("2025-02-28", Status.passed)])
def test_rule_3_twelve_months_from_a_leap_day(meeting: str, expected: Status) -> None:
    assert status(3, record(meeting_date=D(meeting)),
                  failed(day=D("2024-02-29"))) == expected


def test_rule_3_with_a_configured_six_months() -> None:
    six = thresholds(renomination_months="6")
    assert status(3, record(meeting_date=D("2025-09-14")), failed(), six) == Status.violation
    assert status(3, record(meeting_date=D("2025-09-15")), failed(), six) == Status.passed


# --- rule 4: relatives and personal staff ------------------------------------------------------

@pytest.mark.parametrize("relationship", FORBIDDEN_RELATIONSHIPS)
def test_rule_4_each_forbidden_relationship(relationship: str) -> None:
    mine = nominee("B", nominated_by="individual", nominator="李书记",
                   relationship=relationship)
    result = verdict(4, record(nominee("A"), mine))
    assert result.status == Status.violation
    assert result.facts == (f"张B（B） was nominated by 李书记, who declared: "
                            f"{RELATIONSHIPS[relationship]}.",)


@pytest.mark.parametrize("relationship", ["none", "colleague"])
def test_rule_4_allowed_relationships(relationship: str) -> None:
    ok = nominee("B", nominated_by="individual", nominator="李书记", relationship=relationship)
    result = verdict(4, record(ok))
    assert result.status == Status.passed
    assert result.facts == ("1 individual nominations, none of a relative or personal staff.",)


def test_rule_4_the_forbidden_set_is_the_plans_four() -> None:
    assert set(FORBIDDEN_RELATIONSHIPS) == {"spouse", "child", "relative", "staff"}
    assert set(RELATIONSHIPS) - set(FORBIDDEN_RELATIONSHIPS) == {"none", "colleague"}


@pytest.mark.parametrize("nominated_by", ["org_department", "collective"])
def test_rule_4_concerns_only_an_individual_leaders_nomination(nominated_by: str) -> None:
    assert status(4, record(nominee(nominated_by=nominated_by))) == Status.passed


def test_rule_4_a_relative_not_made_a_candidate_still_counts() -> None:
    # The plan forbids the nomination itself, whatever became of it.
    mine = nominee("B", nominated_by="individual", nominator="李书记", relationship="child",
                   inspection="not_inspected", decision="not_submitted")
    assert status(4, record(nominee("A"), mine)) == Status.violation


# --- rule 5: batches per term, partial decisions per year --------------------------------------

@pytest.mark.parametrize(("before", "expected"), [
    (0, Status.passed), (1, Status.passed), (2, Status.violation), (5, Status.violation)])
def test_rule_5_two_batch_adjustments_per_term(before: int, expected: Status) -> None:
    history = replace(HISTORY, batches_before=before, partials_before=99)
    result = verdict(5, record(batch_kind="batch"), history)
    assert result.status == expected
    assert result.facts == (f"Batch adjustment {before + 1} of term {TERM}; at most 2 per "
                            "term.",)


@pytest.mark.parametrize(("before", "expected"), [
    (3, Status.passed), (4, Status.passed), (5, Status.violation)])
def test_rule_5_five_partial_decisions_per_year(before: int, expected: Status) -> None:
    history = replace(HISTORY, partials_before=before, batches_before=99)
    result = verdict(5, record(batch_kind="partial"), history)
    assert result.status == expected
    assert result.facts == (f"Partial appointment decision {before + 1} of 2026; at most 5 per "
                            "year.",)


def test_rule_5_with_configured_limits() -> None:
    configured = thresholds(batches_per_term="3", partials_per_year="1")
    assert status(5, record(batch_kind="batch"), replace(HISTORY, batches_before=2),
                  configured) == Status.passed
    assert status(5, record(batch_kind="batch"), replace(HISTORY, batches_before=3),
                  configured) == Status.violation
    assert status(5, record(), replace(HISTORY, partials_before=0), configured) == Status.passed
    assert status(5, record(), replace(HISTORY, partials_before=1),
                  configured) == Status.violation
    assert status(5, record(), HISTORY, thresholds(partials_per_year="0")) == Status.violation


# --- rule 6: share of leadership posts adjusted ------------------------------------------------

def approved(n: int, **changes: object) -> tuple[NomineeInput, ...]:
    return tuple(nominee(f"C-{i}", **changes) for i in range(n))


@pytest.mark.parametrize(("now", "expected"), [
    (1, Status.passed), (2, Status.passed), (3, Status.violation)])
def test_rule_6_half_of_the_posts(now: int, expected: Status) -> None:
    history = replace(HISTORY, leadership_posts=10, adjusted_before=3)
    result = verdict(6, record(*approved(now)), history)
    assert result.status == expected
    assert result.facts[0].startswith(f"{3 + now} persons adjusted in term {TERM} (3 earlier, "
                                      f"{now} in this batch) of 10 leadership posts: ")


def test_rule_6_exactly_half_passes_one_over_fails() -> None:
    history = replace(HISTORY, leadership_posts=4, adjusted_before=1)
    assert status(6, record(*approved(1)), history) == Status.passed
    assert status(6, record(*approved(2)), history) == Status.violation
    odd = replace(HISTORY, leadership_posts=9, adjusted_before=0)  # half is 4.5
    assert status(6, record(*approved(4)), odd) == Status.passed
    assert status(6, record(*approved(5)), odd) == Status.violation


@pytest.mark.parametrize("decision", ["rejected", "deferred", "not_submitted"])
def test_rule_6_counts_only_approved_nominees(decision: str) -> None:
    history = replace(HISTORY, leadership_posts=4, adjusted_before=2)
    others = tuple(nominee(f"X-{i}", decision=decision) for i in range(3))
    assert status(6, record(*others), history) == Status.passed
    assert status(6, record(nominee("Y"), *others), history) == Status.violation


def test_rule_6_counts_moves_as_well_as_promotions() -> None:
    history = replace(HISTORY, leadership_posts=4, adjusted_before=2)
    assert status(6, record(nominee(promotion=False)), history) == Status.violation


def test_rule_6_with_a_configured_share() -> None:
    history = replace(HISTORY, leadership_posts=10, adjusted_before=0)
    configured = thresholds(adjusted_share="30%")
    assert status(6, record(*approved(3)), history, configured) == Status.passed
    assert status(6, record(*approved(4)), history, configured) == Status.violation


# --- rule 7: large promotion batches -----------------------------------------------------------

@pytest.mark.parametrize(("promoted", "ref", "expected"), [
    (30, None, Status.passed), (31, None, Status.needs_reference),
    (31, "州组字〔2026〕12号", Status.passed), (29, None, Status.passed),
    (30, "州组字〔2026〕12号", Status.passed)])  # validation refuses this one (not needed)
def test_rule_7_above_thirty_promotions(promoted: int, ref: str | None,
                                        expected: Status) -> None:
    result = verdict(7, record(*approved(promoted), prefecture_approval_ref=ref))
    assert result.status == expected
    assert result.facts[0] == (f"{promoted} promoted in this batch; the prefecture approves "
                               "beforehand above 30.")


def test_rule_7_names_the_missing_and_the_given_reference() -> None:
    missing = verdict(7, record(*approved(31)))
    assert missing.facts[1] == "Record the reference of the prefecture's approval."
    given = verdict(7, record(*approved(31), prefecture_approval_ref="州组字〔2026〕12号"))
    assert given.facts[1] == "Prefecture approval: 州组字〔2026〕12号."


def test_rule_7_counts_promotions_put_to_the_decision() -> None:
    # The prefecture approves beforehand: what counts is how many promotions were proposed to
    # the meeting, whatever it decided; moves and nominees held back do not count.
    moves = tuple(nominee(f"M-{i}", promotion=False) for i in range(5))
    held_back = tuple(nominee(f"N-{i}", decision="not_submitted") for i in range(5))
    assert status(7, record(*approved(30), *moves, *held_back)) == Status.passed
    assert status(7, record(*approved(31), *moves, *held_back)) == Status.needs_reference


@pytest.mark.parametrize(("approved_n", "not_approved", "expected"), [
    (25, 4, Status.passed),            # 29 proposed
    (25, 5, Status.passed),            # 30: at the limit
    (25, 6, Status.needs_reference),   # 31: above, though only 25 approved
    (0, 31, Status.needs_reference),   # every proposal rejected or deferred still counts
    (0, 30, Status.passed)])
def test_rule_7_rejected_and_deferred_promotions_count(approved_n: int, not_approved: int,
                                                       expected: Status) -> None:
    others = tuple(nominee(f"R-{i}", decision="rejected" if i % 2 else "deferred")
                   for i in range(not_approved))
    result = verdict(7, record(*approved(approved_n), *others))
    assert result.status == expected
    assert result.facts[0].startswith(f"{approved_n + not_approved} promoted in this batch")


def test_rule_7_with_a_configured_limit() -> None:
    configured = thresholds(promotions_without_approval="2")
    assert status(7, record(*approved(2)), thresholds=configured) == Status.passed
    assert status(7, record(*approved(3)), thresholds=configured) == Status.needs_reference


# --- rule 8: special circumstances need the prefecture's review --------------------------------

@pytest.mark.parametrize("flag", list(FLAGS))
def test_rule_8_each_flag_needs_the_review(flag: str) -> None:
    flagged = nominee("B", flags=(flag,))
    result = verdict(8, record(nominee("A"), flagged))
    assert result.status == Status.needs_reference
    assert result.facts == (f"张B（B） ({FLAGS[flag]}): no prefecture review on record.",)
    reviewed = replace(flagged, prefecture_review_ref="州组审〔2026〕3号")
    result = verdict(8, record(nominee("A"), reviewed))
    assert result.status == Status.passed
    assert result.facts == (f"张B（B） ({FLAGS[flag]}): prefecture review 州组审〔2026〕3号.",)


@pytest.mark.parametrize("decision", ["approved", "rejected", "deferred"])
def test_rule_8_any_nominee_put_to_the_decision(decision: str) -> None:
    flagged = nominee(flags=("disciplined",), decision=decision)
    assert status(8, record(flagged)) == Status.needs_reference


def test_rule_8_a_flagged_nominee_not_put_to_the_decision_needs_nothing() -> None:
    flagged = nominee("B", flags=tuple(FLAGS), decision="not_submitted")
    result = verdict(8, record(nominee("A"), flagged))
    assert result.status == Status.passed
    assert result.facts == ("No nominee put to the decision has a special flag.",)


def test_rule_8_one_missing_review_among_several() -> None:
    data = record(nominee("A", flags=("exceptional",), prefecture_review_ref="州组审1号"),
                  nominee("B", flags=("over_quota", "disputed")))
    result = verdict(8, data)
    assert result.status == Status.needs_reference
    assert len(result.facts) == 2
    assert "、" in result.facts[1]  # both flags named


# --- rule 9: objections in consultation --------------------------------------------------------

@pytest.mark.parametrize("body", list(CONSULTED))
def test_rule_9_each_consulted_body(body: str) -> None:
    objected = nominee("B", objections=(body,))
    result = verdict(9, record(nominee("A"), objected))
    assert result.status == Status.violation
    assert result.facts == (f"张B（B） was put to the decision although {CONSULTED[body]} "
                            "objected.",)


@pytest.mark.parametrize("decision", ["approved", "rejected", "deferred"])
def test_rule_9_put_to_the_decision_whatever_its_result(decision: str) -> None:
    assert status(9, record(nominee(objections=("npc",), decision=decision))) == Status.violation


def test_rule_9_an_objection_that_kept_the_nominee_from_the_meeting_is_fine() -> None:
    held_back = nominee("B", objections=tuple(CONSULTED), decision="not_submitted")
    result = verdict(9, record(nominee("A"), held_back))
    assert result.status == Status.passed
    assert result.facts == ("1 nominees met an objection in consultation; none was put to the "
                            "decision.",)
    assert verdict(9, record()).facts == ("No objection in consultation.",)


# --- rule 10: full-committee secret ballot for important posts ---------------------------------

def balloted(votes_for: int | None, in_office: int = 30, **changes: object) -> RecordInput:
    important = nominee("B", important_post=True, ballot_for=votes_for,
                        ballot_against=0 if votes_for is not None else None,
                        ballot_abstain=0 if votes_for is not None else None, **changes)
    return record(nominee("A"), important, ballot_date=D("2026-03-12"),
                  ballot_in_office=in_office, ballot_present=in_office)


@pytest.mark.parametrize(("in_office", "votes_for", "expected"), [
    (30, 15, Status.violation),  # exactly half: must exceed
    (30, 16, Status.passed),
    (30, 14, Status.violation),
    (31, 15, Status.violation),
    (31, 16, Status.passed)])
def test_rule_10_more_than_half_of_the_full_committee(in_office: int, votes_for: int,
                                                      expected: Status) -> None:
    assert status(10, balloted(votes_for, in_office)) == expected


def test_rule_10_counts_members_in_office_not_present() -> None:
    data = replace(balloted(16), ballot_present=20)
    assert status(10, data) == Status.passed  # 16 of 30 in office, though 80% of those present
    data = replace(balloted(15), ballot_present=20)
    assert status(10, data) == Status.violation


def test_rule_10_without_a_ballot_on_record() -> None:
    no_meeting = record(nominee("B", important_post=True))
    result = verdict(10, no_meeting)
    assert result.status == Status.violation
    assert result.facts == ("张B（B）, 示例镇党委书记: no full-committee secret ballot on "
                            "record.",)
    assert status(10, balloted(None)) == Status.violation  # meeting, but no votes


@pytest.mark.parametrize("decision", ["rejected", "deferred"])
def test_rule_10_a_nominee_not_approved_never_reaches_the_ballot(decision: str) -> None:
    # Only a nominee the standing committee approved goes to the full committee.
    assert status(10, balloted(3, decision=decision)) == Status.passed
    assert status(10, record(nominee(important_post=True, decision=decision))
                  ) == Status.passed
    assert verdict(10, record(nominee(important_post=True, decision=decision))).facts == (
        "No important post (乡镇、县直部门党政正职) in this batch.",)


def test_rule_10_an_approved_important_nominee_needs_the_ballot() -> None:
    rejected = nominee("B", important_post=True, decision="rejected")
    approved_one = nominee("C", important_post=True)
    result = verdict(10, record(nominee("A"), rejected, approved_one))
    assert result.status == Status.violation
    assert result.facts == ("张C（C）, 示例镇党委书记: no full-committee secret ballot on "
                            "record.",)
    assert status(10, record(nominee("A"), rejected)) == Status.passed


def test_rule_10_concerns_only_important_posts_put_to_the_decision() -> None:
    assert status(10, record(nominee(important_post=True, decision="not_submitted"))
                  ) == Status.passed
    assert verdict(10, record()).facts == (
        "No important post (乡镇、县直部门党政正职) in this batch.",)


def test_rule_10_with_a_configured_two_thirds() -> None:
    configured = thresholds(ballot_majority="2/3")
    assert status(10, balloted(20), thresholds=configured) == Status.violation
    assert status(10, balloted(21), thresholds=configured) == Status.passed


# --- thresholds ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "value"), [
    ("2/3", Fraction(2, 3)), ("50%", Fraction(1, 2)), ("0.5", Fraction(1, 2)),
    (" 3/4 ", Fraction(3, 4)), ("50 %", Fraction(1, 2)), ("50％", Fraction(1, 2)),
    ("100%", Fraction(1)), ("1", Fraction(1)), ("66.5%", Fraction(133, 200)),
    ("66.67%", Fraction(6667, 10000)), ("0.01%", Fraction(1, 10000)), (".5", Fraction(1, 2)),
    ("0.6667", Fraction(6667, 10000)), ("999/999", Fraction(1)), ("1/100", Fraction(1, 100)),
    ("２／３", Fraction(2, 3)), ("1/3", Fraction(1, 3))])
def test_parse_threshold_shares(text: str, value: Fraction) -> None:
    assert parse_threshold(text, share=True) == value


@pytest.mark.parametrize("text", [
    "abc", "0", "0%", "150%", "1.5", "-1/2", "-50%", "", "1/0", "%", "nan", "inf",
    "1e-9", "1E-9", "5e-1", "1e-99999999", "1/00", "1/0000", "2/3/4", "1000/1001",
    "66.667%", "0.12345", "1.0", "+1/2", "+50%", "1_0%", "50%%", "1 / 2", "0x1", "½",
    "٥٠%", "50 %%", "5" * 50 + "%", "1/" + "9" * 50])
def test_parse_threshold_refuses_bad_shares(text: str) -> None:
    with pytest.raises(ValueError, match="share"):
        parse_threshold(text, share=True)


@pytest.mark.parametrize(("text", "value"), [
    ("12", 12), ("0", 0), ("1000", 1000), (" 5 ", 5), ("１２", 12), ("0012", 12)])
def test_parse_threshold_whole_numbers(text: str, value: int) -> None:
    assert parse_threshold(text, share=False) == value


@pytest.mark.parametrize("text", ["abc", "-1", "1001", "2.5", "1/2", "50%", "", "1e3",
                                  "01000", "+5", "٥", "1_0", "9" * 5000])
def test_parse_threshold_refuses_bad_whole_numbers(text: str) -> None:
    with pytest.raises(ValueError, match="Write a whole number from 0 to 1000."):
        parse_threshold(text, share=False)


@pytest.mark.parametrize("text", ["²", "①"])
def test_parse_threshold_refuses_digit_like_symbols_with_its_own_message(text: str) -> None:
    with pytest.raises(ValueError, match="Write a whole number from 0 to 1000."):
        parse_threshold(text, share=False)


def test_thresholds_default_to_the_plan() -> None:
    plan = Thresholds()
    assert Thresholds.from_text({}) == plan
    assert (plan.attendance, plan.vote_share, plan.renomination_months, plan.batches_per_term,
            plan.partials_per_year, plan.adjusted_share, plan.promotions_without_approval,
            plan.ballot_majority) == (Fraction(2, 3), Fraction(1, 2), 12, 2, 5, Fraction(1, 2),
                                      30, Fraction(1, 2))
    assert dict(plan.text) == {t.key: t.default for t in THRESHOLDS}
    for t in THRESHOLDS:
        assert parse_threshold(t.default, t.share) == getattr(plan, t.key)


def test_thresholds_from_text_reads_each_value_and_keeps_its_text() -> None:
    stored = {"attendance": "3/4", "vote_share": "60%", "renomination_months": "6",
              "batches_per_term": "3", "partials_per_year": "4", "adjusted_share": "0.4",
              "promotions_without_approval": "20", "ballot_majority": "2/3"}
    t = Thresholds.from_text(stored)
    assert (t.attendance, t.vote_share, t.renomination_months, t.batches_per_term,
            t.partials_per_year, t.adjusted_share, t.promotions_without_approval,
            t.ballot_majority) == (Fraction(3, 4), Fraction(3, 5), 6, 3, 4, Fraction(2, 5),
                                   20, Fraction(2, 3))
    assert dict(t.text) == stored


@pytest.mark.parametrize("bad", ["abc", "150%", "-1", "1/0", "1e-9", "1/00"])
def test_thresholds_from_text_keeps_the_default_for_an_unreadable_value(bad: str) -> None:
    t = Thresholds.from_text({"attendance": bad, "vote_share": bad, "batches_per_term": bad})
    assert t.attendance == Fraction(2, 3)
    assert t.vote_share == Fraction(1, 2)
    assert t.batches_per_term == 2
    assert (t.text["attendance"], t.text["vote_share"], t.text["batches_per_term"]) == (
        "2/3", "50%", "2")


def test_thresholds_from_text_a_zero_share_is_unreadable_a_zero_count_is_not() -> None:
    t = Thresholds.from_text({"attendance": "0", "batches_per_term": "0"})
    assert (t.attendance, t.text["attendance"]) == (Fraction(2, 3), "2/3")
    assert (t.batches_per_term, t.text["batches_per_term"]) == (0, "0")


def test_the_text_shown_is_the_one_stored() -> None:
    result = verdict(1, record(members_present=5), thresholds=thresholds(attendance="75%"))
    assert result.facts[0].endswith("at least 75% required.")


# --- add_months --------------------------------------------------------------------------------

@pytest.mark.parametrize(("day", "months", "expected"), [
    ("2025-01-31", 1, "2025-02-28"),
    ("2024-01-31", 1, "2024-02-29"),
    ("2025-03-31", 1, "2025-04-30"),
    ("2025-01-30", 1, "2025-02-28"),
    ("2025-01-28", 1, "2025-02-28"),
    ("2025-01-15", 1, "2025-02-15"),
    ("2025-12-15", 1, "2026-01-15"),
    ("2025-03-15", 12, "2026-03-15"),
    ("2024-02-29", 12, "2025-02-28"),
    ("2024-02-29", 48, "2028-02-29"),
    ("2025-08-31", 6, "2026-02-28"),
    ("2025-11-30", 13, "2026-12-30"),
    ("2025-05-31", 0, "2025-05-31"),
    ("2025-03-31", -1, "2025-02-28"),
    ("2025-01-15", -1, "2024-12-15")])
def test_add_months(day: str, months: int, expected: str) -> None:
    assert add_months(D(day), months) == D(expected)
