"""The portal under test: a fresh database seeded through the real CLI, served by gunicorn.

One server runs for the whole browser tier. Its database is new (a SQLite file, or a private
schema in the PostgreSQL test database), its instance folder is new, its KDF costs are cheap
and it serves plain HTTP on a free loopback port, so cookies are not marked Secure.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyotp
from flask import Flask

from application import create_app
from portal import clock, db, state, workdays
from portal.config import Config
from portal.constants import ROOT

BIN = Path(sys.executable).parent
PASSPHRASE = "correct horse battery staple orbit"
TOTP_STEP = 30
SAFE_MARGIN = 5  # seconds a login may take between typing the code and the server checking it

# The accounts the journeys use, created by their holders with `staff create` (the admin's
# web flow is journey 9's subject). `queues init` runs after them, so the queue keys are
# sealed to every handler and head listed here.
STAFF: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("admin", ("admin",)),
    ("admin2", ("admin",)),  # confirms what `admin` asks for (#21.3: a second person)
    ("editor1", ("publicity_editor",)),
    ("editor2", ("publicity_editor",)),
    ("orghandler", ("org_handler",)),
    ("orghead", ("org_head",)),  # the department's head: overrides an appointment rule
    ("dichandler", ("dic_handler",)),
    ("dichead", ("dic_head",)),
    ("supervisor", ("supervisor",)),
)

# The appointment term (届期) the journeys' batches are decided in, and its leadership posts
# (职数; rule 6 allows adjusting half of them). The browser tier's fixture configures it.
TERM = "第十五届"
TERM_POSTS = 120


@dataclass
class Authenticator:
    """A person's TOTP app: each login needs a time step the account has not used yet."""

    secret: str
    last_step: int = 0

    def next_code(self) -> str:
        """A code for the earliest step the server still accepts and this account has not
        used; waits for the clock when the steps it accepts (now-1, now, now+1) are spent."""
        while True:
            clock = time.time()
            now = int(clock // TOTP_STEP)
            # The previous step only while the server is sure to check within the same step.
            earliest = now - 1 if (now + 1) * TOTP_STEP - clock > SAFE_MARGIN else now
            step = max(self.last_step + 1, earliest)
            if step <= now + 1:
                break
            time.sleep((now + 1) * TOTP_STEP - clock + 0.05)
        self.last_step = step
        return pyotp.TOTP(self.secret).at(step * TOTP_STEP)


@dataclass
class StaffAccount:
    """A staff member as the journeys log in: username, passphrase and their authenticator."""

    username: str
    roles: tuple[str, ...]
    authenticator: Authenticator
    passphrase: str = PASSPHRASE


@dataclass
class Portal:
    """A running portal: its address, its accounts, and an app object on the same database
    for the CLI and for the app's own calculations (working days) that tests compare with."""

    base_url: str
    app: Flask
    staff: dict[str, StaffAccount]
    log_path: Path
    # The gunicorn master (its workers are its children); the reliability tier hurts them.
    process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run a `flask --app wsgi …` command on the portal's database; return its output."""
        return run_cli(self.app, *args, stdin=stdin)

    def today(self) -> dt.date:
        """The portal's today (Asia/Shanghai)."""
        with self.app.app_context():
            return clock.today()

    def working_days_left(self, end: dt.date) -> int:
        """What the portal computes as the working days left until `end`, today included."""
        with self.app.app_context():
            cal = workdays.load_calendar(db.session())
            return workdays.working_days_left(cal, clock.today(), end)

    def publicity_period(self, start: dt.date, days: int = 5) -> tuple[dt.date, dt.date]:
        """The first and last day of a publicity period of `days` working days from `start`."""
        with self.app.app_context():
            period = workdays.publicity_period(workdays.load_calendar(db.session()), start, days)
            return period.start, period.end

    def is_workday(self, day: dt.date) -> bool:
        """Whether the portal's calendar counts `day` as a working day."""
        with self.app.app_context():
            return workdays.load_calendar(db.session()).is_workday(day)

    def server_log(self) -> str:
        """What gunicorn wrote so far (shown when a journey fails on a server error)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def portal_environment(workdir: Path, database_url: str) -> dict[str, str]:
    """The PORTAL_* settings of the server (and of the in-process app, which must match)."""
    return {
        "PORTAL_INSTANCE_PATH": str(workdir / "instance"),
        "PORTAL_DATABASE_URL": database_url,
        # Plain HTTP on 127.0.0.1: Secure cookies would never be sent back.
        "PORTAL_SECURE_COOKIES": "false",
        # Production-strength argon2 would make every login and receipt check take seconds.
        "PORTAL_STAFF_KDF_TIME_COST": "1",
        "PORTAL_STAFF_KDF_MEMORY_KIB": "8",
        "PORTAL_RECEIPT_KDF_TIME_COST": "1",
        "PORTAL_RECEIPT_KDF_MEMORY_KIB": "8",
        # A journey reads a public page right after publishing from another worker; in
        # production a publication may take up to a second to show (the revision's TTL).
        "PORTAL_PUBLIC_STATE_TTL_MS": "0",
    }


def run_cli(app: Flask, *args: str, stdin: str | None = None) -> str:
    """Run one of the portal's CLI commands in-process; fail with its output if it fails."""
    result = app.test_cli_runner().invoke(args=list(args), input=stdin)
    assert result.exit_code == 0, f"{' '.join(args)} failed:\n{result.output}"
    return result.output


def seed(app: Flask) -> dict[str, StaffAccount]:
    """`portal init`, each account made by `staff create` as its holder would, then
    `queues init`; return the accounts with their authenticators."""
    run_cli(app, "portal", "init")
    staff = {}
    for username, roles in STAFF:
        role_args = [arg for role in roles for arg in ("--role", role)]
        output = run_cli(app, "staff", "create", username, *role_args, stdin=PASSPHRASE + "\n")
        uri = next(line for line in output.splitlines() if line.startswith("otpauth://"))
        secret = parse_qs(urlsplit(uri).query)["secret"][0]
        staff[username] = StaffAccount(username, roles, Authenticator(secret))
    run_cli(app, "queues", "init")
    return staff


def _home_page_status(port: int) -> int | None:
    """The status of GET / on the port, or None while nothing answers."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", "/")
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def _wait_until_serving(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{log.read_text()}")
        if _home_page_status(port) == 200:
            return
        time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer within 30 s:\n{log.read_text()}")


@contextlib.contextmanager
def running_portal(workdir: Path, database_url: str, *, workers: int = 2,
                   settings: Mapping[str, str] | None = None,
                   server_settings: Mapping[str, str] | None = None) -> Iterator[Portal]:
    """Initialise a fresh portal in `workdir`, seed its accounts, serve it, and stop it after.

    `settings` are PORTAL_* variables for both the server and the in-process app (e.g. the
    receipt KDF at its production cost, raised rate limits); `server_settings` reach the server
    only (e.g. a database URL naming the server's connections for pg_stat_activity).
    """
    env = {**portal_environment(workdir, database_url), **(settings or {})}
    app = create_app(Config.from_env(env))
    staff = seed(app)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = workdir / "gunicorn.log"
    command = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "-w", str(workers),
               "-b", f"127.0.0.1:{port}", "wsgi:app"]
    server_env = {"PATH": str(BIN), "LANG": "C.UTF-8", **env, **(server_settings or {})}
    with log.open("wb") as out:
        # A session (process group) of its own: whatever happens to the master, its workers
        # are found and stopped with it.
        proc = subprocess.Popen(command, cwd=ROOT, env=server_env, stdout=out, stderr=out,
                                start_new_session=True)
    try:
        _wait_until_serving(port, proc, log)
        yield Portal(base_url, app, staff, log, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # a worker the master left behind
        state.engine(app).dispose()
