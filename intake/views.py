"""The public report form and the reporter's follow-up pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("intake", __name__)
