"""Constants of the shell. This module imports nothing of the package, so any module may use it."""

from __future__ import annotations

from pathlib import Path

# The checkout (or installed tree): templates, translations and migrations live under it.
ROOT = Path(__file__).resolve().parent.parent
# Row ids fit a signed 32-bit column: ids from URLs and forms are checked against this.
MAX_ID = 2**31 - 1
