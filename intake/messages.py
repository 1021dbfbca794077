"""What the reporter reads: status labels, what was removed from files, and the package's one
table of error messages and statuses."""

from __future__ import annotations

import json

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from casework.models import CaseState, Category
from intake.evidence import (
    REQUEST_MAX_EXPANDED,
    ZIP_MAX_EXPANDED,
    ZIP_MAX_MEMBERS,
    ZIP_MAX_RATIO,
)
from intake.service import IntakeError, RegistrationRefused
from portal.errors import DETAILS, FALLBACK, Entry, ErrorTable

# intake's one table of domain errors (portal.errors): code → (message, HTTP status) for each
# of its error types, registered with the feature.
INTAKE_ERRORS: dict[str, Entry] = {
    "bad-category": (_l("Choose one of the categories on the form."), 400),
    # The public form's page when the receiving office is not set up yet (the error handler's).
    "queue-closed": (DETAILS["intake-closed"], 503),
    "receipt-format": (_l("A receipt code has 20 digits. Please check what you typed."), 400),
    "receipt-unknown": (_l("No report matches this receipt code. Check the digits; a report "
                           "that was closed and deleted after its retention period cannot be "
                           "opened any more."), 404),
    "case-closed": (_l("This report is finished or withdrawn; nothing more can be added."),
                    409),
}
# What staff read when a registration (intake.staff_views) is refused.
REGISTRATION_ERRORS: dict[str, Entry] = {
    "queue-closed": (_l("Your queue cannot receive cases yet (no keys)."), 409),
    FALLBACK: (_l("This action could not be done."), 409),
}
ERRORS: ErrorTable = {IntakeError: INTAKE_ERRORS, RegistrationRefused: REGISTRATION_ERRORS}

EVIDENCE_ERRORS = {
    "empty": _l("the file is empty."),
    "too-large": _l("the file is too large (at most %(mb)d MB)."),
    "unknown-type": _l("the type of this file could not be recognised."),
    "not-allowed": _l("this type of file is not accepted (accepted: PDF, JPEG, PNG, WebP, Word, "
                      "Excel, PowerPoint, plain text, audio and video)."),
    "corrupt": _l("the file is damaged or is not what its type claims."),
    "too-many-pixels": _l("the image has too many pixels."),
    "encrypted-pdf": _l("the PDF is password-protected; send it without a password."),
    "macro": _l("office files with macros are not accepted; save it without macros."),
    # #21, item 9: a package that would inflate past the bounds of intake.evidence.
    "zip-bomb": _l("the file unpacks to far more data than its size, or has too many parts "
                   "(at most %(unpacked)d MB unpacked, %(ratio)d times its size, %(parts)d "
                   "parts), so it was not opened. If it is a real document, save it again or "
                   "as PDF and send that."),
    "protected-pdf": _l("the PDF is protected (encrypted against changes), so its size when "
                        "unpacked cannot be checked safely; print it to a new PDF or save it "
                        "without protection, and send that."),
    "too-much-together": _l("together with the files before it, this file unpacks to more "
                            "than one message can take (%(together)d MB); send it in a "
                            "separate message, from your report's page."),
}

# Plain-language status for the reporter (PRODUCT.md states, as a reporter understands them).
STATE_LABELS = {
    CaseState.received: _l("Received, waiting to be accepted"),
    CaseState.accepted: _l("Accepted"),
    CaseState.in_progress: _l("Being handled"),
    CaseState.not_accepted: _l("Not accepted (see the answer below)"),
    CaseState.transferred: _l("Transferred to the competent body"),
    CaseState.withdrawn: _l("Withdrawn by you"),
    CaseState.concluded: _l("Handling finished (see the answer below)"),
    CaseState.closed: _l("Handling finished and archived"),
}

REMOVED_LABELS = {
    "exif": _l("camera and device data (EXIF)"),
    "gps": _l("GPS location"),
    "thumbnail": _l("embedded preview image"),
    "xmp": _l("XMP metadata"),
    "iptc": _l("IPTC metadata"),
    "comment": _l("embedded comments"),
    "png-text": _l("text notes in the image"),
    "timestamp": _l("modification time"),
    "pdf-info": _l("document properties (author, software, dates)"),
    "pdf-xmp": _l("XMP metadata"),
    "office-author": _l("author and company properties"),
    "audio-tags": _l("audio tags"),
    "annotation-author": _l("authors of annotations"),
    "app-data": _l("application data"),
    "trailer": _l("data hidden after the end of the file"),
    "icc-name": _l("the colour profile's name"),
    "icc-header": _l("the colour profile's creation date and device fields"),
    "pdf-private": _l("private application data"),
    # #21, item 2.
    "external-link": _l("links to other files and web addresses (such as the template's or a "
                        "linked workbook's location on your computer)"),
    "file-path": _l("the folder the file was saved in"),
    "custom-xml": _l("document-server data (such as SharePoint owners and editors)"),
    "printer": _l("the printer's name"),
    "signature": _l("digital signatures (they name the signer)"),
    "pdf-action": _l("scripts, web links and actions (opening addresses, launching files, "
                     "sending form data)"),
    "pdf-attachment": _l("files attached inside the PDF (send them as separate files if they "
                         "matter)"),
}


def evidence_error(filename: str, code: str, max_bytes: int) -> str:
    """The message for a refused file, naming it."""
    reason = EVIDENCE_ERRORS.get(code, EVIDENCE_ERRORS["unknown-type"])
    values = {"mb": max_bytes // (1024 * 1024), "unpacked": ZIP_MAX_EXPANDED // (1024 * 1024),
              "ratio": ZIP_MAX_RATIO, "parts": ZIP_MAX_MEMBERS,
              "together": REQUEST_MAX_EXPANDED // (1024 * 1024)}
    return _("File “%(name)s”: %(reason)s", name=filename, reason=str(reason) % values)


def subtype_label(category: Category, value: str) -> str:
    """The Chinese label of a sub-type choice "<category id>:<index>", or "" if it is not one
    of this category's."""
    prefix, _sep, index = value.partition(":")
    if prefix != str(category.id) or not (index.isascii() and index.isdigit()) or len(index) > 3:
        return ""
    items = json.loads(category.subtypes or "[]")
    i = int(index)
    return str(items[i]["zh"]) if i < len(items) else ""
