"""The portal's notion of today: calendar dates are Asia/Shanghai dates (configurable)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app


def zone() -> ZoneInfo:
    """The configured time zone."""
    return ZoneInfo(current_app.extensions["portal.config"].timezone)


def today() -> dt.date:
    """Today's date in the configured time zone."""
    return dt.datetime.now(zone()).date()
