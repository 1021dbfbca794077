"""The portal's notion of today: calendar dates are Asia/Shanghai dates (configurable)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from portal import state


def zone() -> ZoneInfo:
    """The configured time zone."""
    return ZoneInfo(state.config().timezone)


def today() -> dt.date:
    """Today's date in the configured time zone."""
    return dt.datetime.now(zone()).date()
