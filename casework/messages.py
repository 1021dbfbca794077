"""What staff read on case pages: state and deadline labels, reasons, findings, error messages."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from casework.models import CaseState, Channel, DeadlineKind, FeedbackChannel

STATE_LABELS: dict[str, LazyString] = {
    CaseState.received: _l("Received"),
    CaseState.accepted: _l("Accepted"),
    CaseState.in_progress: _l("In progress"),
    CaseState.not_accepted: _l("Not accepted"),
    CaseState.transferred: _l("Transferred"),
    CaseState.withdrawn: _l("Withdrawn"),
    CaseState.concluded: _l("Concluded"),
    CaseState.closed: _l("Archived"),
}

CHANNEL_LABELS: dict[str, LazyString] = {
    Channel.web: _l("Website"),
    Channel.phone: _l("Telephone"),
    Channel.letter: _l("Letter"),
    Channel.visit: _l("Visit"),
}

REFUSAL_LABELS: dict[str, LazyString] = {
    "out-of-scope": _l("Not within our remit"),
    "no-substance": _l("No substantive content"),
    "duplicate": _l("Repeat report (registered and kept)"),
    "other": _l("Other"),
}

FINDING_LABELS: dict[str, LazyString] = {
    "substantiated": _l("Substantiated"),
    "partly": _l("Partly substantiated"),
    "unsubstantiated": _l("Not substantiated"),
    "unverifiable": _l("Could not be verified"),
}

DEADLINE_LABELS: dict[str, LazyString] = {
    DeadlineKind.decision: _l("Accept or refuse"),
    DeadlineKind.transfer: _l("Transfer"),
    DeadlineKind.conclusion: _l("Conclude"),
    DeadlineKind.acceptance_notice: _l("Tell the real-name reporter the decision"),
    DeadlineKind.result_notice: _l("Tell the real-name reporter the result"),
}

FEEDBACK_CHANNEL_LABELS: dict[str, LazyString] = {
    FeedbackChannel.portal: _l("Through the portal"),
    FeedbackChannel.phone: _l("Telephone"),
    FeedbackChannel.letter: _l("Letter"),
    FeedbackChannel.in_person: _l("In person"),
}

EVENT_LABELS: dict[str, LazyString] = {
    "accept": _l("accepted"),
    "refuse": _l("refused"),
    "proposed": _l("proposed for sign-off"),
    "signed-off": _l("signed off"),
    "sent-back": _l("sent back"),
    "assign": _l("assigned"),
    "take": _l("taken"),
    "handover": _l("handed over"),
    "transfer": _l("transferred to another queue"),
    "transfer-outside": _l("transferred to an outside body"),
    "message": _l("message to the reporter"),
    "note": _l("internal note"),
    "feedback": _l("feedback recorded"),
    "conclude": _l("concluded"),
    "close": _l("archived"),
    "reopen": _l("reopened"),
    "extend": _l("deadline extended"),
    "duplicate": _l("linked as a repeat report"),
    "suspend-person": _l("appointment suspended (暂缓)"),
    "reveal": _l("identity revealed"),
}

ENTRY_LABELS: dict[str, LazyString] = {
    "report": _l("Report"),
    "reporter_message": _l("Reporter"),
    "staff_message": _l("To the reporter"),
    "note": _l("Internal note"),
    "draft": _l("Draft answer awaiting sign-off"),
}

# What became of a person on a notice (publicity.models.Outcome).
OUTCOME_LABELS: dict[str, LazyString] = {
    "pending": _l("Pending"),
    "suspended": _l("Suspended"),
    "appointed": _l("Appointed"),
    "withdrawn": _l("Not appointed"),
}

DEADLINE_STATE_LABELS: dict[str, LazyString] = {
    "open": _l("running"),
    "met": _l("met"),
    "cancelled": _l("no longer applies"),
}


def bilingual(labels: Mapping[str, LazyString]) -> dict[str, str]:
    """Labels in Chinese then English ("属实 Substantiated"), for records that outlive a
    session's language (the case export)."""
    with force_locale("zh_Hans_CN"):
        zh = {key: str(value) for key, value in labels.items()}
    with force_locale("en"):
        en = {key: str(value) for key, value in labels.items()}
    return {key: zh[key] if zh[key] == en[key] else f"{zh[key]} {en[key]}" for key in labels}


# (message, HTTP status) per CaseError code.
CASE_ERRORS = {
    "no-such-case": (_l("No such case in your queue."), 404),
    "no-access": (_l("You have no key to this queue yet: a head must grant you access."), 403),
    "not-your-queue": (_l("No such case in your queue."), 404),
    "stale": (_l("The case changed while you were looking at it. Reload the page and try "
                 "again."), 409),
    "bad-transition": (_l("This action is not possible in the case's current state."), 409),
    "pending-signoff": (_l("A decision on this case is waiting for a head's sign-off."), 409),
    "nothing-pending": (_l("Nothing is waiting for sign-off."), 409),
    "heads-only": (_l("Only a head of the queue can do this."), 403),
    "own-decision": (_l("You cannot sign off your own decision; another head must."), 403),
    "purged": (_l("The content of this case was deleted after its retention period."), 410),
    "bad-disposition": (_l("Choose one of the queue's dispositions."), 400),
    "bad-reason": (_l("Choose a reason."), 400),
    "bad-finding": (_l("Choose a finding."), 400),
    "answer-required": (_l("Write the answer the reporter will read."), 400),
    "reason-required": (_l("Give a reason."), 400),
    "text-required": (_l("Write something first."), 400),
    "body-required": (_l("Name the body the case goes to."), 400),
    "too-long": (_l("The text is too long."), 413),
    "not-a-member": (_l("That person is not an active member of this queue."), 400),
    "already-assigned": (_l("The case is already assigned; a head can reassign it."), 409),
    "same-person": (_l("Choose two different people."), 400),
    "no-such-queue": (_l("Choose a queue."), 400),
    "same-queue": (_l("The case is already in that queue."), 400),
    "queue-closed": (_l("That queue cannot receive cases yet (no keys or no keyholder)."), 409),
    "bad-feedback": (_l("Choose what the reporter was told."), 400),
    "bad-channel": (_l("Choose how the reporter was told."), 400),
    "bad-date": (_l("The date must lie between the receipt of the report and today."), 400),
    "not-real-name": (_l("Feedback is recorded for real-name reports only."), 409),
    "not-decided": (_l("Decide on acceptance before recording that the reporter was told."),
                    409),
    "not-concluded": (_l("Conclude the case before recording that the result was told."), 409),
    "feedback-missing": (_l("Record the feedback to the real-name reporter before archiving."),
                         409),
    "bad-days": (_l("An extension is between 1 and 60 working days."), 400),
    "no-such-deadline": (_l("That deadline is not running."), 400),
    "no-such-original": (_l("No case with that number in this queue."), 400),
    "same-case": (_l("A case cannot repeat itself."), 400),
    "not-an-objection": (_l("This case is not an objection to a notice."), 409),
    "publicity-not-published": (_l("The notice is not published."), 409),
    "publicity-outcome-final": (_l("The person's outcome is already final."), 409),
    "publicity-bad-outcome": (_l("That outcome is not possible."), 409),
    "no-such-file": (_l("No such file."), 404),
}


def case_error(code: str) -> tuple[str, int]:
    """The message and status of a CaseError code."""
    message, status = CASE_ERRORS.get(code, (_l("This action could not be done."), 400))
    return str(message), status
