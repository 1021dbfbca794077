"""Intake's own tables: reporters' short sessions and used one-time form tokens.

Reports themselves become cases (casework.models); these rows only serve the reporter's side.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from casework.models import Case
from portal.db import Base, UTCDateTime


class ReporterSession(Base):
    """A reporter's short session: Kr boxed under a key that exists only in their cookie.

    The exact expiry lives in the signed cookie; the row keeps only the hour it was made, so
    stale rows can be swept.
    """

    __tablename__ = "reporter_session"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey(Case.id, ondelete="CASCADE"), index=True)
    key_box: Mapped[bytes] = mapped_column(LargeBinary)
    created_hour: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class FormSubmission(Base):
    """A used one-time form token: a double submit finds it and files nothing.

    Only the token's hash and the hour are kept, never the receipt: a resend (Back → Resubmit
    on a shared computer) must not show the next user someone else's receipt. Rows are swept
    after a day.
    """

    __tablename__ = "form_submission"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_hour: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
