"""Public notice pages and the editor pages (the notices themselves arrive with publicity)."""

from __future__ import annotations

from flask import Blueprint, render_template

from portal.access import public

bp = Blueprint("publicity", __name__)


@bp.route("/")
@public
def home() -> str:
    """The home page: open notices, and the ways to report."""
    return render_template("publicity/home.html")
