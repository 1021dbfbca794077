"""What staff read on case pages: state and deadline labels, reasons, findings, and the
package's one table of error messages and statuses."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from casework.models import CaseState, Channel, DeadlineKind, FeedbackChannel
from casework.queues import QueueError
from casework.service import CaseError
from casework.supervision import RangeError
from portal.errors import FALLBACK, Entry, ErrorTable

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


# casework's one table of domain errors (portal.errors): code → (message, HTTP status) for
# each of its error types, registered with the feature; `ERRORS` at the end.
CASE_ERRORS: dict[str, Entry] = {
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
    FALLBACK: (_l("This action could not be done."), 400),
}

QUEUE_ERRORS: dict[str, Entry] = {
    "no-such-queue": (_l("There is no such queue."), 404),
    "bad-dispositions": (_l("Give between 1 and 20 dispositions, one per line."), 400),
    "bad-days": (_l("Deadlines are between 1 and 250 working days."), 400),
    "no-keys": (_l("This queue has no keys yet: run `flask --app wsgi queues init` first."), 409),
    "bad-recovery-secret": (_l("That is not a recovery secret (52 letters and digits in groups "
                               "of four)."), 400),
    "wrong-recovery-secret": (_l("The recovery secret does not match this installation's "
                                 "recovery key."), 400),
    "no-such-member": (_l("There is no active account with that username."), 400),
    "not-a-member": (_l("That account does not hold a role of this queue."), 400),
    "epoch-key-mismatch": (_l("The queue key sealed to the recovery key does not match its "
                              "public key; the database may have been tampered with."), 409),
    "no-access": (_l("You do not have access to this queue's key."), 403),
    "no-such-category": (_l("There is no such category."), 404),
    "escalation-exists": (_l("An escalation queue is already configured."), 409),
    "not-a-head": (_l("Only a head of this queue can do this."), 403),
    "fingerprint-mismatch": (_l("The fingerprint you typed does not match this member's key. "
                                "Nothing was granted: ask the member to read their fingerprint "
                                "from their own staff home page again, in person or by "
                                "phone."), 409),
    "member-key-integrity": (_l("This member's stored public key fails its integrity check; "
                                "the database may have been tampered with. Do not grant access: "
                                "tell an administrator."), 409),
    "grant-key-mismatch": (_l("The queue key in your grant does not match the queue's public "
                              "key; the database may have been tampered with."), 409),
    "epoch-key-integrity": (_l("The queue's stored public key fails its integrity check; the "
                               "database may have been tampered with."), 409),
    "recovery-key-integrity": (_l("The stored recovery public key fails its integrity check; "
                                  "the database may have been tampered with. Nothing was "
                                  "sealed to it and nothing was changed."), 409),
    "rotation-conflict": (_l("The queue or one of its cases changed while its key was being "
                             "rotated. Nothing was changed; try again."), 409),
    "reason-required": (_l("Give the reason for revoking this member's access."), 400),
    "revoke-self": (_l("You cannot revoke your own access; another head can."), 403),
    "no-grant": (_l("That account holds no key of this queue."), 409),
}

RANGE_ERRORS: dict[str, Entry] = {
    "bad-date": (_l("Dates are written YYYY-MM-DD."), 400),
    "inverted": (_l("The start of the period is after its end."), 400),
    "too-long": (_l("Choose a period between the years 2000 and 2100, at most ten years "
                    "long."), 400),
    "no-such-queue": (_l("There is no such queue."), 400),
}

ERRORS: ErrorTable = {CaseError: CASE_ERRORS, QueueError: QUEUE_ERRORS, RangeError: RANGE_ERRORS}

