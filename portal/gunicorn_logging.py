"""A gunicorn logger that never writes a client address (error log and access log alike)."""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from portal.logs import install


class RedactingLogger(Logger):
    """gunicorn's logger with the address-redaction filter on both of its loggers.

    Covers lines gunicorn writes on its own, such as "Invalid request from ip=…".
    """

    def setup(self, cfg: Any) -> None:
        """Set gunicorn's handlers up, then filter them."""
        super().setup(cfg)
        install(self.error_log)
        install(self.access_log)
