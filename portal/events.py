"""Events of the shell that feature packages subscribe to (blinker signals, as Flask's own).

The shell never imports a feature: it sends these with the application as the sender, and a
feature connects its receivers for that application (`Feature.subscribe`). Receivers run in
the sender's transaction, with keyword arguments only:

* `calendar_changed(app, db=Session)`: the working-day calendar was rebuilt (deadlines follow).
* `access_lost(app, db=Session, user=StaffUser, roles=frozenset[str], actor=audit.Actor)`: an
  account lost the access of these roles (deactivated, reset, roles removed).
"""

from __future__ import annotations

from blinker import Namespace

_events = Namespace()

calendar_changed = _events.signal("calendar-changed", doc="The working-day calendar changed.")
access_lost = _events.signal("access-lost", doc="An account lost the access of some roles.")
