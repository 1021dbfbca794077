"""Abuse resistance without identifying anyone: per-client limits, the installation ceiling
shared across app instances through the real Redis, and the Tor-mode proof-of-work exemption."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import func, select

from casework.models import Case
from intake import pow as proof_of_work
from portal import db
from tests.intake_support import make_desk, post_report

FACTS = "2026年3月，某局局长在办公室收受现金两万元。"


def _report(app: Flask, desk_category: int, address: str) -> int:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    status, _html = post_report(client, {"category": str(desk_category),
                                         "persons-0-name": "李四", "facts": FACTS})
    return status


def _reset(app: Flask) -> None:
    """Start from empty counters (Redis keeps them between runs)."""
    from portal.extensions import limiter

    with app.app_context():
        limiter.reset()


def _cases(app: Flask) -> int:
    with app.app_context():
        return int(db.session().scalar(select(func.count()).select_from(Case)))


@pytest.mark.redis
def test_per_client_limit_holds_across_two_instances_on_redis(make_app, make_staff,
                                                                 redis_url: str) -> None:
    settings = {"report_limit": "2 per hour", "ratelimit_storage_uri": redis_url}
    worker_a = make_app(**settings)
    worker_b = make_app(**settings)
    desk = make_desk(worker_a, make_staff)
    category = desk.category_id("discipline")
    _reset(worker_a)
    assert _report(worker_a, category, "203.0.113.7") == 200
    assert _report(worker_b, category, "203.0.113.7") == 200
    assert _report(worker_a, category, "203.0.113.7") == 429  # the third, on either instance
    assert _report(worker_b, category, "203.0.113.7") == 429
    assert _report(worker_b, category, "198.51.100.9") == 200  # another client is not affected
    assert _cases(worker_a) == 3


@pytest.mark.redis
def test_installation_ceiling_holds_across_two_instances_on_redis(make_app, make_staff,
                                                                     redis_url: str) -> None:
    settings = {"report_ceiling": "3 per hour", "ratelimit_storage_uri": redis_url}
    worker_a = make_app(**settings)
    worker_b = make_app(**settings)
    desk = make_desk(worker_a, make_staff)
    category = desk.category_id("discipline")
    _reset(worker_a)
    statuses = [_report(app, category, f"192.0.2.{i}")
                for i, app in enumerate((worker_a, worker_b, worker_a, worker_b))]
    assert statuses == [200, 200, 200, 429]


def _solve(app: Flask, page: str) -> dict[str, str]:
    challenge = re.search(r'name="pow_challenge" value="([^"]+)"', page)
    assert challenge, "behind Tor the form offers a proof-of-work challenge"
    with app.app_context():
        key = proof_of_work.app_key()
    counter = 0
    while not proof_of_work.check(key, challenge.group(1), str(counter)):
        counter += 1
    return {"pow_challenge": challenge.group(1), "pow_solution": str(counter)}


def test_behind_tor_the_ceiling_applies_and_a_solved_proof_of_work_exempts(
        make_app, make_staff) -> None:
    app = make_app(behind_tor=True, report_limit="1 per hour", report_ceiling="2 per hour",
                   pow_bits=6)
    desk = make_desk(app, make_staff)
    category = desk.category_id("discipline")
    _reset(app)
    # Per-address limits are off behind Tor: everyone shares one address and one ceiling.
    assert [_report(app, category, "127.0.0.1") for _ in range(3)] == [200, 200, 429]
    client = app.test_client()
    page = client.get("/report").get_data(as_text=True)
    assert 'src="/static/pow.js?v=' in page  # versioned, cached a year (#22.4)
    assert 'data-pow="6"' in page
    solved = _solve(app, page)
    status, _html = post_report(client, {"category": str(category), "persons-0-name": "李四",
                                         "facts": FACTS, **solved})
    assert status == 200
    # A solution is spent once: replaying it falls back under the (exhausted) ceiling.
    status, _html = post_report(client, {"category": str(category), "persons-0-name": "李四",
                                         "facts": FACTS, **solved})
    assert status == 429
    assert _cases(app) == 3


def test_without_tor_no_challenge_is_offered(make_app, make_staff) -> None:
    app = make_app()
    make_desk(app, make_staff)
    page = app.test_client().get("/report").get_data(as_text=True)
    assert "pow_challenge" not in page
    assert "pow.js" not in page
