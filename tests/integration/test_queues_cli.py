"""`queues init` and `queues grant`: keys for keyless queues, the recovery secret printed once,
grants with the recovery secret, and refusals for anything else."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import func, select

from casework import queues
from casework.models import Queue, QueueEpoch, QueueGrant
from portal import audit, db

SECRET_RE = re.compile(r"^\s+([A-Z2-7]{4}(?:-[A-Z2-7]{1,4})+)\s*$", re.M)


def _invoke(app: Flask, *args: str, stdin: str | None = None):  # noqa: ANN202
    return app.test_cli_runner().invoke(args=list(args), input=stdin)


def test_portal_init_creates_the_default_queues_without_keys(app: Flask) -> None:
    with app.app_context():
        rows = db.session().scalars(select(Queue).order_by(Queue.slug)).all()
        assert [(q.slug, q.current_epoch) for q in rows] == [("dic", 0), ("org", 0)]
    assert app.test_client().get("/report").status_code == 503


def test_queues_init_is_idempotent_and_lists_members_without_access(app: Flask,
                                                                    make_staff) -> None:
    make_staff("orghandler", "org_handler")
    first = _invoke(app, "queues", "init")
    assert first.exit_code == 0, first.output
    assert SECRET_RE.search(first.output)
    assert "dic" in first.output  # a queue without any keyholder is named
    late = make_staff("orghead", "org_head")
    second = _invoke(app, "queues", "init")
    assert second.exit_code == 0
    assert not SECRET_RE.search(second.output)  # the secret is printed once, ever
    assert late.username in second.output
    with app.app_context():
        session = db.session()
        assert session.scalar(select(func.count()).select_from(QueueEpoch)) == 2
        org = queues.queue_by_slug(session, "org")
        assert [u.username for u in queues.keyholders(session, org)] == ["orghandler"]
        assert [u.username for u in queues.lacking_access(session, org)] == ["orghead"]


def test_grant_with_the_recovery_secret(app: Flask, make_staff) -> None:
    out = _invoke(app, "queues", "init").output
    secret = SECRET_RE.search(out).group(1)  # type: ignore[union-attr]
    make_staff("dichead", "dic_head")
    make_staff("orgonly", "org_handler")
    # Wrong secret, malformed secret, wrong queue membership, unknown user: refused.
    other = "-".join(["AAAA"] * 13)
    assert "不匹配" in _invoke(app, "queues", "grant", "--queue", "dic", "--user",
                                       "dichead", stdin=other + "\n").output
    assert _invoke(app, "queues", "grant", "--queue", "dic", "--user", "dichead",
                   stdin="not a secret\n").exit_code != 0
    assert _invoke(app, "queues", "grant", "--queue", "dic", "--user", "orgonly",
                   stdin=secret + "\n").exit_code != 0
    assert _invoke(app, "queues", "grant", "--queue", "dic", "--user", "nobody",
                   stdin=secret + "\n").exit_code != 0
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(QueueGrant)) == 0
    # Lower case with spaces is what people type from paper.
    typed = secret.lower().replace("-", " ")
    done = _invoke(app, "queues", "grant", "--queue", "dic", "--user", "dichead",
                   stdin=typed + "\n")
    assert done.exit_code == 0, done.output
    with app.app_context():
        session = db.session()
        assert [u.username for u in queues.keyholders(session, queues.queue_by_slug(
            session, "dic"))] == ["dichead"]
        assert audit.verify(session).ok
    assert app.test_client().get("/report").status_code == 200


def test_demo_gives_demo_accounts_access_even_after_an_early_queues_init(app: Flask) -> None:
    assert _invoke(app, "queues", "init").exit_code == 0  # before any member exists
    demo = _invoke(app, "portal", "demo")
    assert demo.exit_code == 0, demo.output
    with app.app_context():
        session = db.session()
        for slug, member in (("org", "orghandler"), ("dic", "dichandler")):
            names = [u.username for u in queues.keyholders(session, queues.queue_by_slug(
                session, slug))]
            assert member in names
    assert app.test_client().get("/report").status_code == 200


def test_demo_fills_the_queues_with_cases_in_every_state(app: Flask) -> None:
    from casework.models import Case, CaseState
    from portal import clock

    demo = _invoke(app, "portal", "demo")
    assert demo.exit_code == 0, demo.output
    with app.app_context():
        session = db.session()
        cases = session.scalars(select(Case)).all()
        assert {c.state for c in cases} == set(CaseState)
        today = clock.today()
        assert any(c.next_due_on is not None and c.next_due_on < today for c in cases)
        assert {c.queue.slug for c in cases} == {"org", "dic"}
        assert audit.verify(session).ok
        count = len(cases)
    again = _invoke(app, "portal", "demo")
    assert again.exit_code == 0, again.output
    with app.app_context():
        assert len(db.session().scalars(select(Case)).all()) == count  # loaded once
