"""The instance secrets belong to one database (#22, item 1), and a command run without the
production environment neither falls back to SQLite nor leaves a file others may read
(#22, item 2).

A second app server gets the first one's secret files; with none, or with other ones, `portal
init`, the app server and every command refuse and say what to copy from where.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.cli import FlaskGroup
from flask.testing import FlaskCliRunner
from sqlalchemy import text

from application import create_app
from portal import state
from portal.config import SECRET_NAMES, Config, InstanceSecrets
from portal.constants import ROOT
from tests.intake_support import post_report, receipt_of

BIN = Path(sys.executable).parent
BACKUP_PASSPHRASE = "lantern orchard velvet quarry nineteen"


def _server_config(instance: Path, url: str, **changes: object) -> Config:
    """Another app server's configuration: its own instance folder, the same database."""
    return Config(instance_path=instance, database_url=url, testing=True, secure_cookies=False,
                  staff_kdf_time_cost=1, staff_kdf_memory_kib=8, receipt_kdf_time_cost=1,
                  receipt_kdf_memory_kib=8, public_state_ttl_ms=0).with_(**changes)


CliRun = Callable[..., Result]


@pytest.fixture
def cli() -> Iterator[CliRun]:
    """Run a command as `flask --app wsgi …` does: the app is made inside the command line."""
    made: list[Flask] = []

    def run(config: Config, *args: str, stdin: str = "") -> Result:
        def factory() -> Flask:
            made.append(create_app(config))
            return made[-1]

        group = FlaskGroup(create_app=factory, load_dotenv=False, set_debug_flag=False)
        return CliRunner().invoke(group, list(args), input=stdin)

    yield run
    for app in made:
        state.engine(app).dispose()


def _refused(result: Result) -> str:
    """The message of a command that refused cleanly (non-zero, no traceback)."""
    assert result.exit_code != 0, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    return result.output


def _says_what_to_copy(message: str, instance: Path) -> None:
    """The message names the four files, where they come from and where they go, and the mode,
    in the operator's language."""
    for name in SECRET_NAMES:
        assert name in message, message
    assert str(instance) in message
    assert "0600" in message
    assert "第一台应用服务器" in message


def test_init_on_a_second_server_with_an_empty_instance_folder_refuses(
        app: Flask, tmp_path: Path, database_url: str, cli: CliRun) -> None:
    second = tmp_path / "second" / "instance"
    result = cli(_server_config(second, database_url), "portal", "init")
    _says_what_to_copy(_refused(result), second)
    # No new secrets were made: the folder holds none of them.
    assert not any((second / name).exists() for name in SECRET_NAMES)
    # An incomplete copy is refused too, and the missing secrets are not made up.
    second.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(state.config(app).instance_path / "secret_key", second / "secret_key")
    _says_what_to_copy(_refused(cli(_server_config(second, database_url), "portal", "init")),
                       second)
    assert sorted(p.name for p in second.iterdir()) == ["secret_key"]


def test_a_server_with_other_secrets_refuses_to_start(
        app: Flask, tmp_path: Path, database_url: str, cli: CliRun) -> None:
    second = tmp_path / "second" / "instance"
    InstanceSecrets.ensure(second)
    before = {name: (second / name).read_bytes() for name in SECRET_NAMES}
    config = _server_config(second, database_url)
    # An app server (a gunicorn worker imports wsgi.py) does not start.
    with pytest.raises(RuntimeError, match="0600") as refused:
        create_app(config)
    _says_what_to_copy(str(refused.value), second)
    # Nor does any command, `portal init` included.
    for args in (["portal", "init"], ["portal", "demo"], ["queues", "init"],
                 ["cases", "notify"], ["audit", "verify"]):
        _says_what_to_copy(_refused(cli(config, *args)), second)
    assert {name: (second / name).read_bytes() for name in SECRET_NAMES} == before


def test_the_first_servers_secrets_copied_work(app: Flask, tmp_path: Path, database_url: str,
                                               cli: CliRun) -> None:
    first = state.config(app).instance_path
    second = tmp_path / "second" / "instance"
    second.mkdir(parents=True, mode=0o700)
    for name in SECRET_NAMES:
        shutil.copyfile(first / name, second / name)
        os.chmod(second / name, 0o600)
    config = _server_config(second, database_url)
    result = cli(config, "portal", "init")
    assert result.exit_code == 0, result.output
    other = create_app(config)
    assert other.test_client().get("/healthz").status_code == 200
    state.engine(other).dispose()


@pytest.mark.parametrize("tamper", ["altered", "foreign-family-only"])
def test_a_tampered_marker_is_refused(app: Flask, database_url: str, cli: CliRun,
                                      tamper: str) -> None:
    config = state.config(app)
    with state.engine(app).begin() as conn:
        if tamper == "altered":
            conn.execute(text("UPDATE instance_marker SET tag = :tag WHERE family = :family"),
                         {"tag": b"\x00" * 32, "family": "receipt_pepper"})
        else:
            # The marker of a database set up with other secrets, one family left.
            conn.execute(text("DELETE FROM instance_marker WHERE family <> 'audit_mac_key'"))
            conn.execute(text("UPDATE instance_marker SET tag = :tag"), {"tag": b"\x01" * 32})
    with pytest.raises(RuntimeError, match="0600"):
        create_app(config)
    _says_what_to_copy(_refused(cli(config, "cases", "notify")), config.instance_path)
    _says_what_to_copy(_refused(cli(config, "portal", "init")), config.instance_path)


def test_a_database_without_marker_gets_it_at_the_first_start(app: Flask) -> None:
    """An installation from before the marker: the first start after the upgrade writes it."""
    with state.engine(app).begin() as conn:
        conn.execute(text("DELETE FROM instance_marker"))
    again = create_app(state.config(app))
    with state.engine(again).connect() as conn:
        families = set(conn.scalars(text("SELECT family FROM instance_marker")))
    assert families == set(SECRET_NAMES)
    assert again.test_client().get("/healthz").status_code == 200
    state.engine(again).dispose()


def test_an_unmarked_database_is_not_claimed_by_other_secrets(
        app: Flask, make_staff, tmp_path: Path, database_url: str, cli: CliRun) -> None:
    """Upgrading from before the marker, a server with other secrets must not be the one that
    writes it: the data already there (a staff key's MAC, the audit chain) does not verify."""
    make_staff("alice", "supervisor")
    with state.engine(app).begin() as conn:
        conn.execute(text("DELETE FROM instance_marker"))
    second = tmp_path / "second" / "instance"
    InstanceSecrets.ensure(second)
    with pytest.raises(RuntimeError, match="0600"):
        create_app(_server_config(second, database_url))
    # An empty instance folder: `portal init` makes no secrets for a database in use.
    empty = tmp_path / "third" / "instance"
    _says_what_to_copy(_refused(cli(_server_config(empty, database_url), "portal", "init")),
                       empty)
    assert not empty.exists() or not any(empty.iterdir())
    with state.engine(app).connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM instance_marker")) == 0
    # The first server's own secrets verify that data: its next start writes the marker.
    state.engine(create_app(state.config(app))).dispose()
    with state.engine(app).connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM instance_marker")) == len(SECRET_NAMES)


def _flask(cwd: Path, *args: str, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    """`flask --app wsgi …` as cron runs it: an empty environment, in a working directory."""
    base = {"PATH": str(BIN), "PYTHONPATH": str(ROOT), "HOME": str(cwd)}
    return subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=cwd,
                          env={**base, **(env or {})}, capture_output=True, text=True,
                          timeout=120)


def _wide_files(folder: Path) -> list[str]:
    """Files and folders under `folder` that someone other than their owner may read."""
    wide = []
    for path in (folder, *folder.rglob("*")):
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            wide.append(f"{path.relative_to(folder.parent)} {mode:o}")
    return wide


@pytest.mark.own_clock
def test_a_production_instance_run_without_its_environment_refuses(
        app: Flask, runner: FlaskCliRunner, tmp_path: Path) -> None:
    # `portal init` with PORTAL_DATABASE_URL (from the env file) marks the instance production.
    assert runner.invoke(args=["portal", "init"]).exit_code == 0
    instance = state.config(app).instance_path
    assert instance == tmp_path / "instance"
    before = sorted(p.name for p in instance.iterdir())
    # cron: `cd <the folder holding instance/> && flask --app wsgi cases notify`, no environment.
    done = _flask(tmp_path, "cases", "notify")
    assert done.returncode != 0
    assert "PORTAL_DATABASE_URL" in done.stderr
    assert "/etc/portal/env" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    # No SQLite database was made in its place.
    assert sorted(p.name for p in instance.iterdir()) == before
    assert not list(instance.glob("portal.db*"))
    # `portal init` itself refuses too, rather than set up an empty SQLite database.
    done = _flask(tmp_path, "portal", "init")
    assert done.returncode != 0
    assert "PORTAL_DATABASE_URL" in done.stderr
    assert not list(instance.glob("portal.db*"))


@pytest.mark.own_clock
def test_a_command_run_where_no_instance_is_refuses_cleanly(tmp_path: Path) -> None:
    # cron's working directory is the home folder: no instance folder there.
    done = _flask(tmp_path, "cases", "purge-expired")
    assert done.returncode != 0
    assert "Traceback" not in done.stderr + done.stdout
    assert "PORTAL_INSTANCE_PATH" in done.stderr
    assert "portal init" in done.stderr
    assert list(tmp_path.iterdir()) == []  # no instance folder, no database file


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """gunicorn's default umask is 0, many shells' 022: the portal must not depend on it."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_no_file_in_the_instance_folder_is_readable_by_others(
        tmp_path: Path, database_url: str, permissive_umask: None) -> None:
    instance = tmp_path / "srv" / "instance"
    # SQLite: the embedded default, the database in the instance folder itself.
    url = "" if database_url.startswith("sqlite") else database_url
    if url:
        # The shared PostgreSQL schema starts from `portal init`'s rows: empty it.
        from tests.conftest import _wipe
        wiper = create_app(_server_config(tmp_path / "wipe", url))
        _wipe(wiper)
    portal = create_app(_server_config(instance, url))
    runner = portal.test_cli_runner()
    for args in (["portal", "init"], ["portal", "demo"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
    assert _wide_files(instance) == [], "after init and demo"
    # A filing (the app server has no umask of its own: gunicorn's is 0).
    fresh = create_app(_server_config(instance, url))
    client = fresh.test_client()
    with state.engine(fresh).connect() as conn:
        category = conn.scalar(text("SELECT id FROM category WHERE code = 'discipline'"))
    assert category is not None
    status, html = post_report(client, {
        "category": str(category), "persons-0-name": "王五", "persons-0-unit": "某乡",
        "facts": "2026年5月某乡挪用扶贫资金二十万元。"})
    assert status == 200, re.findall(r'error[^>]*>([^<]+)', html)
    assert receipt_of(html)
    assert _wide_files(instance) == [], "after a filing"
    result = runner.invoke(args=["portal", "backup", str(instance / "backup.tar")],
                           input=BACKUP_PASSPHRASE + "\n")
    assert result.exit_code == 0, result.output
    assert _wide_files(instance) == [], "after a backup"
    if not url:
        assert (instance / "portal.db").exists()
    for made in (portal, fresh):
        state.engine(made).dispose()
