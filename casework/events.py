"""Events of casework that the packages above it subscribe to (blinker signals).

Sent with the application as the sender; receivers run in the sender's transaction:

* `cases_purged(app, db=Session, case_ids=list[int])`: these cases' content was purged
  (retention); whatever else refers to them (intake's reporter sessions) goes too.
"""

from __future__ import annotations

from blinker import Namespace

_events = Namespace()

cases_purged = _events.signal("cases-purged", doc="Cases whose content was purged.")
