"""publicity's one table of domain errors (portal.errors): code → (message, HTTP status) for the
refused actions of notices (PublicityError) and of their compliance records (ComplianceError),
registered with the feature."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from portal import workdays
from portal.errors import Entry, ErrorTable
from publicity.compliance.service import ComplianceError
from publicity.service import PublicityError


def _year_not_loaded(params: Mapping[str, object]) -> str:
    return workdays.year_not_loaded_message(int(str(params.get("year"))))


def _compliance(params: Mapping[str, object]) -> str:
    """How many appointment rules block approval: only the count. The problems name
    unpublished nominees, their relationships and flags, and a flash lives in the session
    cookie (signed, not encrypted); the notice page lists them all."""
    problems = params.get("problems")
    n = len(problems) if isinstance(problems, list) else 0
    return _("Approval refused by the appointment rules: %(n)s problems; the list is below.",
             n=n)


PUBLICITY_ERRORS: dict[str, Entry] = {
    "not-found": (_l("No such notice or change."), 404),
    "not-a-draft": (_l("Only a draft can be edited or approved. An approved notice is changed "
                       "by a correction."), 409),
    "stale": (_l("Someone else saved this draft in the meantime. Reload it and apply your "
                 "changes again."), 409),
    "four-eyes": (_l("A second editor must approve: you edited or proposed this yourself."),
                  403),
    "start-passed": (_l("The start date %(day)s has passed. Edit the draft and choose a new "
                        "start."), 409),
    "year-not-loaded": (_year_not_loaded, 409),
    "persons-fixed": (_l("A correction cannot add or remove persons. Record 不予任用 for a "
                         "person, or publish a new notice."), 400),
    "not-published": (_l("This notice is not published (or was withdrawn)."), 409),
    "change-pending": (_l("A correction or withdrawal is already waiting for approval."), 409),
    "no-changes": (_l("Nothing was changed."), 400),
    "reason-required": (_l("Give the reason; it is published."), 400),
    "bad-outcome": (_l("Choose an outcome."), 400),
    "period-not-over": (_l("The appointment can proceed only after the period has closed."),
                        409),
    "person-decided": (_l("A person of this notice already has a final outcome: a substantive "
                          "correction is no longer possible."), 409),
    "outcome-final": (_l("This person's outcome is final and cannot be changed."), 409),
    "objection-open": (_l("An objection about this person is still being verified: the "
                          "appointment cannot proceed."), 409),
    "compliance": (_compliance, 409),
}

COMPLIANCE_ERRORS: dict[str, Entry] = {
    "not-found": (_l("No such notice, term or rule."), 404),
    "not-a-draft": (_l("Only a draft's compliance record can be changed or overridden: this "
                       "notice is already published."), 409),
    "stale": (_l("Someone else saved this draft in the meantime. Reload the record and enter "
                 "your changes again."), 409),
    "no-term": (_l("No such term: the administrator configures the terms."), 400),
    "bad-thresholds": (_l("Correct the marked thresholds."), 400),
    "bad-term": (_l("Correct the marked fields of the term."), 400),
    "reason-required": (_l("Write the reason for the override, at least 10 characters."), 400),
    "reason-too-long": (_l("The reason for the override is too long: at most %(most)s "
                           "characters."), 400),
    "not-org-head": (_l("Only the organization department's head may override a rule."), 403),
    "no-record": (_l("This notice has no compliance record yet: there is nothing to "
                     "override."), 409),
    "rule-passes": (_l("This rule is met: there is nothing to override."), 409),
    "already-overridden": (_l("This rule is already overridden for this notice."), 409),
}

ERRORS: ErrorTable = {PublicityError: PUBLICITY_ERRORS, ComplianceError: COMPLIANCE_ERRORS}
