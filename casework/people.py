"""Keyed blind index of the names a case concerns (PRODUCT.md, "Same person, earlier cases").

A token is an HMAC of the normalized name under the instance's receipt pepper, separated per
queue, so the database alone cannot test a guessed name, two queues' tokens never match, and a
handler finds earlier cases about the same person without decrypting any case. Whoever holds
both the database and the instance secrets can test guessed names, as with receipts.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from casework.models import Case, PersonIndex
from portal import crypto, state

# Spaces and the separators of transcribed names (阿不都·热合曼, ·, •, ・, -).
_IGNORED = re.compile(r"[\s·•・‧∙.\-]+")


def normalize(name: str) -> str:
    """The comparable form of a name: NFKC, no spaces or separators, case-folded."""
    return _IGNORED.sub("", unicodedata.normalize("NFKC", name)).casefold()


def token(queue_slug: str, name: str) -> str | None:
    """The index token of a name in a queue (None for an empty name)."""
    normal = normalize(name)
    if not normal:
        return None
    pepper = state.secrets().receipt_pepper
    return crypto.mac(pepper, "person-index", queue_slug, normal).hex()


def tokens(queue_slug: str, names: Iterable[str]) -> set[str]:
    """The distinct tokens of several names."""
    return {t for t in (token(queue_slug, n) for n in names) if t}


def index(db: Session, case: Case, queue_slug: str, names: Iterable[str]) -> None:
    """(Re)write a case's index rows for its current queue (caller's transaction)."""
    db.execute(delete(PersonIndex).where(PersonIndex.case_id == case.id))
    for value in sorted(tokens(queue_slug, names)):
        db.add(PersonIndex(case_id=case.id, queue_id=case.queue_id, token=value))


def cases_naming(db: Session, queue_id: int, queue_slug: str, name: str,
                 exclude: int | None = None) -> list[Case]:
    """Cases of a queue that concern a person of this name, newest first."""
    value = token(queue_slug, name)
    if value is None:
        return []
    matching = select(PersonIndex.case_id).where(PersonIndex.queue_id == queue_id,
                                                 PersonIndex.token == value)
    query = select(Case).where(Case.id.in_(matching)).order_by(Case.id.desc()).limit(50)
    if exclude is not None:
        query = query.where(Case.id != exclude)
    return list(db.scalars(query))


def related(db: Session, case: Case) -> list[Case]:
    """Other cases of the same queue sharing a concerned person with this one, newest first."""
    mine = select(PersonIndex.token).where(PersonIndex.case_id == case.id)
    matching = select(PersonIndex.case_id).where(PersonIndex.queue_id == case.queue_id,
                                                 PersonIndex.token.in_(mine))
    return list(db.scalars(select(Case).where(Case.id.in_(matching), Case.id != case.id)
                           .order_by(Case.id.desc()).limit(50)))
