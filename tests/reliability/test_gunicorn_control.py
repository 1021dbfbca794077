"""gunicorn's control socket (#22, item 8): two app servers of one user must not share one.

gunicorn >= 25.1 opens a control socket for `gunicornc` at `$XDG_RUNTIME_DIR/gunicorn.ctl` or
`~/.gunicorn/gunicorn.ctl` by default: one path for every instance of the same user, and an
instance that stops unlinks it, taking the other's with it. The shipped `gunicorn.conf.py`
turns it off (the portal is managed by its systemd unit and signals, not by `gunicornc`).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from portal.config import InstanceSecrets
from portal.constants import ROOT

BIN = Path(sys.executable).parent
# gunicorn's own lines, at --log-level debug, once the master has started its workers.
STARTED = ("Control socket disabled", "Control socket listening at")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for_line(log: Path, proc: subprocess.Popen[bytes]) -> str:
    """Poll the server's log until the master says what it did with its control socket."""
    for _ in range(300):
        text = log.read_text(errors="replace")
        if any(line in text for line in STARTED):
            return text
        assert proc.poll() is None, text
        time.sleep(0.1)
    raise AssertionError(log.read_text(errors="replace"))


def _answers(port: int) -> bool:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
        return bool(response.status == 200)


def _sockets(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders if folder.exists() for p in folder.rglob("*.ctl"))


@pytest.mark.own_clock  # the servers run in processes of their own
def test_two_instances_under_one_home_do_not_share_a_control_socket(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    runtime = tmp_path / "run-user"  # an XDG_RUNTIME_DIR, gunicorn's other default place
    runtime.mkdir(mode=0o700)
    instance = tmp_path / "instance"
    InstanceSecrets.ensure(instance)
    env = {"PATH": str(BIN), "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime),
           "PORTAL_INSTANCE_PATH": str(instance),
           "PORTAL_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
           "PORTAL_PUBLIC_URL": "http://127.0.0.1"}
    subprocess.run([BIN / "flask", "--app", "wsgi", "portal", "init"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    servers: list[tuple[int, subprocess.Popen[bytes], Path]] = []
    try:
        for name in ("a", "b"):
            port = _free_port()
            log = tmp_path / f"{name}.log"
            with log.open("wb") as out:
                proc = subprocess.Popen(
                    [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "-w", "1",
                     "-b", f"127.0.0.1:{port}", "--log-level", "debug", "wsgi:app"],
                    cwd=ROOT, env=env, stdout=out, stderr=out)
            servers.append((port, proc, log))
            _wait_for_line(log, proc)
        (port_a, first, _log_a), (port_b, second, log_b) = servers
        assert _answers(port_a)
        assert _answers(port_b)
        before = _sockets(home, runtime)
        # None in the shared places: not one path for two instances.
        assert before == [], [p.relative_to(tmp_path) for p in before]

        first.send_signal(signal.SIGTERM)
        first.wait(30)
        # The other instance goes on, and nothing of it was removed by the first one's exit.
        assert second.poll() is None, log_b.read_text(errors="replace")
        assert _answers(port_b)
        assert _sockets(home, runtime) == before
    finally:
        for _port, proc, _log in servers:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(30)
