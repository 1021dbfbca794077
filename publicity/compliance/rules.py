"""The county plan's ten rules on appointments, as pure functions.

:func:`evaluate` takes a validated record, the history of earlier batches (read by the service)
and the configured thresholds, and returns each rule's status with the facts it used. Nothing
here reads the database, so every threshold is tested at, just below and just above its value.
The clauses quoted are from the county's plan (方案), sections 四 and 五.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from publicity.compliance.validation import (
    CONSULTED,
    FLAGS,
    FORBIDDEN_RELATIONSHIPS,
    FULL_WIDTH,
    MEETING_BODIES,
    RELATIONSHIPS,
    NomineeInput,
    RecordInput,
)


class Status(enum.StrEnum):
    """What a rule says about a batch."""

    passed = "pass"
    violation = "violation"
    needs_reference = "needs_reference"


@dataclass(frozen=True)
class Rule:
    """One rule of the plan: its number, title, clause and the plan's own words."""

    number: int
    title: LazyString
    clause: str
    quote: str


RULES: tuple[Rule, ...] = (
    Rule(1, _l("Attendance of the decision meeting"), "五、一是、5",
         "常委到会不足三分之二的，不得研究干部任免事宜。"),
    Rule(2, _l("Democratic recommendation vote share"), "五、一是、2",
         "在民主推荐中得票率达不到50%的，不得列为考察对象。"),
    Rule(3, _l("No renomination within a year after failing"), "五、一是、2",
         "经考察不符合提拔条件或在讨论决定中未获通过的，一年内不得再次推荐。"),
    Rule(4, _l("No nomination of one's own relatives or staff"), "五、一是、2",
         "不准直接或间接推荐本人的配偶、子女、直系亲属和身边工作人员。"),
    Rule(5, _l("Number of batch adjustments and partial decisions"), "五、一是、1",
         "如无特殊情况一届内批量调整干部不得超过2次，讨论决定部分干部任免每年不得超过5次。"),
    Rule(6, _l("Share of leadership posts adjusted in a term"), "五、一是、1",
         "一个届期内调整干部的数量不得超过领导干部职数的50%。"),
    Rule(7, _l("Prefecture approval of a large promotion batch"), "五、一是、1；五、二是、1",
         "提拔超过30人以上向州党委组织部请示同意后进行调整；每批调整提拔人数超过30人的，"
         "事先要报经州党委组织部批准。"),
    Rule(8, _l("Prefecture review of persons with special circumstances"), "五、二是、1",
         "对县领导的配偶、子女、亲属及身边工作人员，需要破格提拔的人员，属于超职数配备的人员，"
         "在重要问题上有争议的人员，受过党纪政纪处分的人员，在决定提拔前，要报州党委组织部审核。"),
    Rule(9, _l("Objections of the principal leaders in consultation"), "五、一是、4",
         "对拟任人选意见分歧较大的，特别是人大、政府、政协、纪委主要领导明确提出不同意见的，"
         "不提交常委会讨论。"),
    Rule(10, _l("Full-committee secret ballot for important posts"), "五、一是、5",
         "对乡镇（中心）、县直机关部门党政正职拟任人选和推荐人选，由常委会提名，全委会审议，"
         "全体委员进行无记名投票表决。"),
)
RULE_NUMBERS = frozenset(r.number for r in RULES)


def rule(number: int) -> Rule:
    """The rule with that number."""
    return RULES[number - 1]


# ---------------------------------------------------------------------------------------------
# Thresholds: each stored as text (a fraction "2/3", a percentage "50%", or a whole number).

@dataclass(frozen=True)
class Threshold:
    """One configurable threshold of one rule."""

    key: str
    rule: int
    label: LazyString
    default: str
    share: bool  # a share (fraction or percentage) rather than a whole number


THRESHOLDS: tuple[Threshold, ...] = (
    Threshold("attendance", 1, _l("Least share of members present"), "2/3", True),
    Threshold("vote_share", 2, _l("Least vote share of a candidate"), "50%", True),
    Threshold("renomination_months", 3, _l("Months before a failed nominee may be nominated "
                                           "again"), "12", False),
    Threshold("batches_per_term", 5, _l("Most batch adjustments per term"), "2", False),
    Threshold("partials_per_year", 5, _l("Most partial appointment decisions per calendar "
                                         "year"), "5", False),
    Threshold("adjusted_share", 6, _l("Most share of leadership posts adjusted per term"),
              "50%", True),
    Threshold("promotions_without_approval", 7, _l("Most promotions in a batch without the "
                                                   "prefecture's approval"), "30", False),
    Threshold("ballot_majority", 10, _l("Votes for must exceed this share of the full committee"),
              "1/2", True),
)


# A share is a percentage with at most two decimals, or a fraction of small whole numbers;
# nothing else (no exponents: Fraction("1e-99999999") alone takes seconds).
_PERCENT = re.compile(r"[0-9]{1,3}(\.[0-9]{1,2})? ?%")
_FRACTION = re.compile(r"[0-9]{1,3}/[1-9][0-9]{0,2}|0?\.[0-9]{1,4}|1")


def parse_threshold(text: str, share: bool) -> Fraction | int:
    """A threshold's value; ValueError with a user-facing message when it is not one."""
    value = text.translate(FULL_WIDTH).strip()
    if share:
        if _PERCENT.fullmatch(value):
            number = Fraction(value.removesuffix("%")) / 100
        elif _FRACTION.fullmatch(value):
            number = Fraction(value)
        else:
            raise ValueError(_("Write a share as a fraction (2/3) or a percentage (50%)."))
        if not 0 < number <= 1:
            raise ValueError(_("A share lies above 0 and at most 100%."))
        return number
    if not (value.isascii() and value.isdigit() and len(value) <= 4) or int(value) > 1000:
        raise ValueError(_("Write a whole number from 0 to 1000."))
    return int(value)


@dataclass(frozen=True)
class Thresholds:
    """The values the rules use, from the settings (defaults from the plan)."""

    attendance: Fraction = Fraction(2, 3)
    vote_share: Fraction = Fraction(1, 2)
    renomination_months: int = 12
    batches_per_term: int = 2
    partials_per_year: int = 5
    adjusted_share: Fraction = Fraction(1, 2)
    promotions_without_approval: int = 30
    ballot_majority: Fraction = Fraction(1, 2)
    text: Mapping[str, str] = field(default_factory=lambda: {t.key: t.default
                                                             for t in THRESHOLDS})

    @classmethod
    def from_text(cls, stored: Mapping[str, str]) -> Thresholds:
        """Thresholds from stored text; a missing or unreadable value keeps its default."""
        values: dict[str, object] = {}
        text = {}
        for t in THRESHOLDS:
            raw = stored.get(t.key, t.default)
            try:
                values[t.key] = parse_threshold(raw, t.share)
            except ValueError:
                raw = t.default
                values[t.key] = parse_threshold(raw, t.share)
            text[t.key] = raw
        return cls(text=text, **values)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# History: what earlier batches say, read by the service.

@dataclass(frozen=True)
class Failure:
    """An earlier batch in which a nominee failed inspection or was not approved."""

    cadre_id: str
    meeting_date: dt.date
    notice_id: int


@dataclass(frozen=True)
class History:
    """Earlier published batches, as the rules need them."""

    term_name: str
    leadership_posts: int
    batches_before: int = 0  # batch adjustments published earlier in the term
    partials_before: int = 0  # partial decisions published earlier in the meeting's year
    adjusted_before: int = 0  # persons appointed by batches published earlier in the term
    failures: tuple[Failure, ...] = ()


@dataclass(frozen=True)
class RuleResult:
    """One rule's verdict on the batch, with the facts it used."""

    rule: Rule
    status: Status
    facts: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """Whether the rule is met."""
        return self.status == Status.passed


def percent(value: Fraction | int, total: int = 1) -> str:
    """A share as a percentage with at most one decimal."""
    if not total:
        return "–"
    share = Fraction(value) / total * 100
    rounded = round(float(share), 1)
    return f"{rounded:g}%"


def _share_text(bp: int) -> str:
    return f"{bp / 100:g}%"


def _who(n: NomineeInput) -> str:
    return f"{n.name}（{n.cadre_id}）"


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the month's last day when it has no such day)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _attendance(r: RecordInput, h: History, t: Thresholds) -> RuleResult:
    meetings = [(str(MEETING_BODIES[r.meeting_body]), r.members_in_office, r.members_present)]
    if r.ballot_in_office is not None and r.ballot_present is not None:
        meetings.append((str(MEETING_BODIES["full"]), r.ballot_in_office, r.ballot_present))
    facts, ok = [], True
    for body, in_office, present in meetings:
        enough = in_office > 0 and Fraction(present, in_office) >= t.attendance
        ok = ok and enough
        facts.append(_("%(body)s: %(present)s of %(n)s members present (%(share)s); at least "
                       "%(least)s required.", body=body, present=present, n=in_office,
                       share=percent(present, in_office), least=t.text["attendance"]))
    return RuleResult(rule(1), Status.passed if ok else Status.violation, tuple(facts))


def _vote_share(r: RecordInput, h: History, t: Thresholds) -> RuleResult:
    low = [n for n in r.nominees if n.candidate and (
        n.vote_share_bp is None or Fraction(n.vote_share_bp, 10000) < t.vote_share)]
    if low:
        return RuleResult(rule(2), Status.violation, tuple(
            _("%(who)s became a candidate without a democratic recommendation on record.",
              who=_who(n)) if n.vote_share_bp is None else
            _("%(who)s became a candidate with %(share)s of the votes; at least %(least)s "
              "required.", who=_who(n), share=_share_text(n.vote_share_bp),
              least=t.text["vote_share"]) for n in low))
    candidates = [n for n in r.nominees if n.candidate]
    dropped = [n for n in r.nominees if not n.candidate]
    facts = [_("%(n)s candidates; lowest vote share %(share)s; at least %(least)s required.",
               n=len(candidates), share=_share_text(min(n.vote_share_bp or 0
                                                        for n in candidates)),
               least=t.text["vote_share"])] if candidates else [
        _("No nominee became a candidate.")]
    if dropped:
        facts.append(_("%(n)s nominees were not made candidates.", n=len(dropped)))
    return RuleResult(rule(2), Status.passed, tuple(facts))


def _renomination(r: RecordInput, h: History, t: Thresholds) -> RuleResult:
    cadres = {n.cadre_id: n for n in r.nominees}
    recent = [f for f in h.failures if f.cadre_id in cadres
              and f.meeting_date <= r.meeting_date
              < add_months(f.meeting_date, t.renomination_months)]
    if recent:
        return RuleResult(rule(3), Status.violation, tuple(
            _("%(who)s failed in batch %(notice)s on %(day)s and may be nominated again from "
              "%(from)s.", who=_who(cadres[f.cadre_id]), notice=f.notice_id,
              day=f.meeting_date.isoformat(),
              **{"from": add_months(f.meeting_date, t.renomination_months).isoformat()})
            for f in recent))
    return RuleResult(rule(3), Status.passed, (
        _("No nominee failed inspection or a decision in the %(n)s months before %(day)s.",
          n=t.renomination_months, day=r.meeting_date.isoformat()),))


def _relatives(r: RecordInput, h: History, t: Thresholds) -> RuleResult:
    individual = [n for n in r.nominees if n.nominated_by == "individual"]
    bad = [n for n in individual if n.relationship in FORBIDDEN_RELATIONSHIPS]
    if bad:
        return RuleResult(rule(4), Status.violation, tuple(
            _("%(who)s was nominated by %(leader)s, who declared: %(relationship)s.",
              who=_who(n), leader=n.nominator,
              relationship=RELATIONSHIPS[n.relationship or ""]) for n in bad))
    return RuleResult(rule(4), Status.passed, (
        _("%(n)s individual nominations, none of a relative or personal staff.",
          n=len(individual)),))


def _frequency(r: RecordInput, h: History, t: Thresholds) -> RuleResult:
    if r.batch_kind == "batch":
        used, limit = h.batches_before + 1, t.batches_per_term
        fact = _("Batch adjustment %(n)s of term %(term)s; at most %(limit)s per term.",
                 n=used, term=h.term_name, limit=limit)
    else:
        used, limit = h.partials_before + 1, t.partials_per_year
        fact = _("Partial appointment decision %(n)s of %(year)s; at most %(limit)s per year.",
                 n=used, year=r.meeting_date.year, limit=limit)
    return RuleResult(rule(5), Status.passed if used <= limit else Status.violation, (fact,))


def _adjusted_share(r: RecordInput, h: History, t: Thresholds) -> RuleResult:
    total = h.adjusted_before + r.adjusted
    ok = total <= t.adjusted_share * h.leadership_posts
    return RuleResult(rule(6), Status.passed if ok else Status.violation, (
        _("%(total)s persons adjusted in term %(term)s (%(before)s earlier, %(now)s in this "
          "batch) of %(posts)s leadership posts: %(share)s; at most %(most)s.",
          total=total, term=h.term_name, before=h.adjusted_before, now=r.adjusted,
          posts=h.leadership_posts, share=percent(total, h.leadership_posts),
          most=t.text["adjusted_share"]),))


def _large_batch(r: RecordInput, h: History, t: Thresholds) -> RuleResult:
    fact = _("%(n)s promoted in this batch; the prefecture approves beforehand above "
             "%(limit)s.", n=r.promoted, limit=t.promotions_without_approval)
    if r.promoted <= t.promotions_without_approval:
        return RuleResult(rule(7), Status.passed, (fact,))
    if r.prefecture_approval_ref:
        return RuleResult(rule(7), Status.passed, (
            fact, _("Prefecture approval: %(ref)s.", ref=r.prefecture_approval_ref)))
    return RuleResult(rule(7), Status.needs_reference, (
        fact, _("Record the reference of the prefecture's approval.")))


def _flag_names(n: NomineeInput) -> str:
    return "、".join(str(FLAGS[f]) for f in n.flags)


def _special(r: RecordInput, h: History, t: Thresholds) -> RuleResult:
    flagged = [n for n in r.nominees if n.flags and n.submitted]
    missing = [n for n in flagged if not n.prefecture_review_ref]
    facts = tuple(
        _("%(who)s (%(flags)s): prefecture review %(ref)s.", who=_who(n), flags=_flag_names(n),
          ref=n.prefecture_review_ref) if n.prefecture_review_ref else
        _("%(who)s (%(flags)s): no prefecture review on record.", who=_who(n),
          flags=_flag_names(n)) for n in flagged)
    if missing:
        return RuleResult(rule(8), Status.needs_reference, facts)
    return RuleResult(rule(8), Status.passed, facts or (
        _("No nominee put to the decision has a special flag."),))


def _consultation(r: RecordInput, h: History, t: Thresholds) -> RuleResult:
    objected = [n for n in r.nominees if n.objections]
    submitted = [n for n in objected if n.submitted]
    if submitted:
        return RuleResult(rule(9), Status.violation, tuple(
            _("%(who)s was put to the decision although %(bodies)s objected.", who=_who(n),
              bodies="、".join(str(CONSULTED[b]) for b in n.objections)) for n in submitted))
    return RuleResult(rule(9), Status.passed, (
        _("%(n)s nominees met an objection in consultation; none was put to the decision.",
          n=len(objected)),) if objected else (_("No objection in consultation."),))


def _ballot(r: RecordInput, h: History, t: Thresholds) -> RuleResult:
    # The full committee votes on the standing committee's nominations: only a nominee the
    # meeting approved goes to it (one rejected or deferred never reaches the ballot).
    important = [n for n in r.nominees if n.important_post and n.decision == "approved"]
    if not important:
        return RuleResult(rule(10), Status.passed, (
            _("No important post (乡镇、县直部门党政正职) in this batch."),))
    facts, ok = [], True
    in_office = r.ballot_in_office
    for n in important:
        if in_office is None or n.ballot_for is None:
            ok = False
            facts.append(_("%(who)s, %(post)s: no full-committee secret ballot on record.",
                           who=_who(n), post=n.proposed_post))
            continue
        if not Fraction(n.ballot_for) > t.ballot_majority * in_office:
            ok = False
        facts.append(_("%(who)s, %(post)s: %(yes)s for, %(no)s against, %(abstain)s "
                       "abstaining, of %(n)s members; more than %(most)s needed.",
                       who=_who(n), post=n.proposed_post, yes=n.ballot_for,
                       no=n.ballot_against or 0, abstain=n.ballot_abstain or 0, n=in_office,
                       most=t.text["ballot_majority"]))
    return RuleResult(rule(10), Status.passed if ok else Status.violation, tuple(facts))


_CHECKS: tuple[Callable[[RecordInput, History, Thresholds], RuleResult], ...] = (
    _attendance, _vote_share, _renomination, _relatives, _frequency, _adjusted_share,
    _large_batch, _special, _consultation, _ballot,
)


def evaluate(record: RecordInput, history: History, thresholds: Thresholds
             ) -> list[RuleResult]:
    """Every rule's verdict on the batch, in the plan's order."""
    return [check(record, history, thresholds) for check in _CHECKS]


def fingerprints(record: RecordInput, history: History, thresholds: Thresholds
                 ) -> dict[int, str]:
    """Per rule, a digest of its verdict and facts, whatever the reader's language: what an
    override covers (it lapses when the digest changes)."""
    with force_locale("en"):
        results = evaluate(record, history, thresholds)
    return {r.rule.number: hashlib.sha256(json.dumps(
        [r.status.value, *r.facts], ensure_ascii=False).encode()).hexdigest() for r in results}
