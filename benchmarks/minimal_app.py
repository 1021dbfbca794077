"""The ceiling of the public-page benchmark: a Flask app that returns a constant string.

Served by the same gunicorn command line as the portal (`gunicorn -c gunicorn.conf.py
benchmarks.minimal_app:app`: same workers, worker class, access log), so the ratio portal /
minimal app measures what the portal's own work costs, not the server's or the machine's.
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)

BODY = "ok\n"


@app.get("/")
def index() -> str:
    """The constant page."""
    return BODY
