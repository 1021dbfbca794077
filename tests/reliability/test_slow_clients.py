"""Slow uploads do not take the site down (#21, item 4).

Behind nginx with `proxy_request_buffering off`, a report's body reaches gunicorn as slowly as
the client sends it; with sync workers, a handful of clients sending one byte a second held
every worker and no page answered. Here a real gunicorn, with the shipped gunicorn.conf.py,
gets more such clients than it has threads (workers × threads + 2): the headers at once, as
nginx passes them on, then the multipart body one byte every half second. Meanwhile the public
pages must keep answering.
"""

from __future__ import annotations

import http.client
import runpy
import socket
import threading
import time
from pathlib import Path

import pytest

from portal.constants import ROOT
from tests.functional.server import running_portal

WORKERS = 2
TRICKLE_SECONDS = 0.5      # one byte per this many seconds, per slow client
PAGE_BOUND_SECONDS = 5.0   # generous: an idle portal answers these in milliseconds
PAGES = ("/", "/notices", "/notices/archive?q=slow", "/notices/feed.atom", "/api/notices")


def shipped_threads() -> int:
    """Threads per worker in the shipped gunicorn.conf.py (1 for a sync worker)."""
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    return int(conf.get("threads", 1)) if conf.get("worker_class") == "gthread" else 1


class SlowClients:
    """Raw sockets each sending a multipart POST to /report: headers at once, then the body
    one byte per TRICKLE_SECONDS, from one thread, until stopped."""

    def __init__(self, port: int, count: int) -> None:
        boundary = "slowslowslow"
        self.body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"description\"\r\n"
                     f"\r\n{'x' * 400}\r\n--{boundary}--\r\n").encode()
        self.head = (f"POST /report HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                     f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                     f"Content-Length: {len(self.body)}\r\n\r\n").encode()
        self.sockets = [socket.create_connection(("127.0.0.1", port), timeout=5)
                        for _ in range(count)]
        for s in self.sockets:
            s.sendall(self.head)
        self.refused: list[bytes] = []  # what the server answered to those it turned away
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()

    def _trickle(self) -> None:
        sent = 0
        while not self._stop.wait(TRICKLE_SECONDS) and sent < len(self.body):
            for s in list(self.sockets):
                try:
                    s.sendall(self.body[sent:sent + 1])
                except OSError:
                    self._drop(s)
            sent += 1

    def _drop(self, s: socket.socket) -> None:
        s.settimeout(0.5)
        try:
            self.refused.append(s.recv(4096))
        except OSError:
            self.refused.append(b"")
        self.sockets.remove(s)
        s.close()

    @property
    def holding(self) -> int:
        """Connections still open and sending."""
        return len(self.sockets)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for s in self.sockets:
            s.close()


def _get(port: int, path: str) -> tuple[int | None, float]:
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=PAGE_BOUND_SECONDS + 1)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    except OSError:
        return None, time.monotonic() - started
    finally:
        connection.close()


@pytest.mark.own_clock
def test_public_pages_answer_while_more_slow_uploads_than_threads_hold_connections(
        tmp_path: Path) -> None:
    slow_count = WORKERS * shipped_threads() + 2
    with running_portal(tmp_path, f"sqlite:///{tmp_path / 'portal.db'}",
                        workers=WORKERS) as portal:
        port = int(portal.base_url.rsplit(":", 1)[1])
        clients = SlowClients(port, slow_count)
        try:
            time.sleep(1.5)  # the real clock: the server's threads take up the slow bodies
            answers = [(path, *_get(port, path)) for _round in range(2) for path in PAGES]
            holding = clients.holding
        finally:
            clients.stop()
    slow = [(path, status, round(seconds, 1)) for path, status, seconds in answers
            if status != 200 or seconds > PAGE_BOUND_SECONDS]
    assert not slow, f"with {slow_count} slow uploads open: {slow}"
    # The slow clients were not simply turned away: some still held a connection (and the
    # threads reading their bodies) while the pages answered; any refused got a clear answer.
    assert holding >= WORKERS, f"only {holding} of {slow_count} slow clients held on"
    for answer in clients.refused:
        assert answer.startswith(b"HTTP/1.1 503"), answer[:200]
        assert b"Retry-After: 60" in answer, answer[:200]
