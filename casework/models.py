"""Models of the casework package."""

from __future__ import annotations
