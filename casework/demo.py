"""Demo queue keys for `portal demo`: the same key initialisation as `queues init`, sealed to
the demo accounts. The demo cases are intake's (intake.demo), made after this."""

from __future__ import annotations

from sqlalchemy.orm import Session

from casework import queues


def load(db: Session) -> list[str]:
    """Give the queues their keys, sealed to the demo accounts."""
    report = queues.init_keys(db, rekey_unheld_empty=True)
    lines = [f"queue {q.slug} keys created (epoch {q.current_epoch})" for q in report.keyed]
    if report.recovery_secret:
        lines.append(f"recovery secret (demo only; keep it offline in production): "
                     f"{report.recovery_secret}")
    return lines
