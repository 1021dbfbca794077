"""Models of the intake package."""

from __future__ import annotations
