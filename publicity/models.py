"""Models of the publicity package."""

from __future__ import annotations
