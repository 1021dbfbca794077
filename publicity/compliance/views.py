"""Compliance pages (placeholder: being written)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("compliance", __name__, url_prefix="/staff")
