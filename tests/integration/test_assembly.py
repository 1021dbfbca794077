"""The application is assembled above the features: the shell alone serves only its own pages
and subscribes nothing; the full app registers every feature once, from one list, and each
feature's event receivers are connected for that application only."""

from __future__ import annotations

from pathlib import Path

import pytest

import portal
from application import FEATURES, create_app
from casework import events as casework_events
from portal import events, state
from tests.conftest import config_for_tests


def _config(tmp_path: Path) -> portal.Config:
    return config_for_tests(tmp_path, f"sqlite:///{tmp_path / 'portal.db'}")


def test_the_shell_alone_has_only_its_own_pages_and_no_receivers(tmp_path: Path) -> None:
    shell = portal.create_app(_config(tmp_path))
    try:
        assert set(shell.blueprints) == {"auth", "admin", "health", "roles"}
        assert state.features(shell) == ()
        assert not list(events.calendar_changed.receivers_for(shell))
        assert not list(events.access_lost.receivers_for(shell))
        assert shell.test_client().get("/favicon.ico").status_code == 204
        # A feature's page is simply absent, and templates are told so.
        assert shell.test_client().get("/report/").status_code == 404
        assert not shell.jinja_env.globals["has_endpoint"]("intake.report")
    finally:
        state.engine(shell).dispose()


def test_the_full_app_has_every_feature_once(tmp_path: Path) -> None:
    app = create_app(_config(tmp_path))
    other = portal.create_app(_config(tmp_path / "other"))
    try:
        assert state.features(app) == FEATURES
        assert [f.name for f in FEATURES] == ["publicity", "casework", "intake"]
        assert set(app.blueprints) == {"auth", "admin", "health", "roles", "publicity",
                                       "publicity_editor", "compliance", "casework", "routing",
                                       "queue_keys", "supervision", "intake", "intake_staff"}
        assert app.url_map.bind("").match("/staff/cases/register") == (
            "intake_staff.register", {})
        for signal in (events.calendar_changed, events.access_lost,
                       casework_events.cases_purged):
            assert len(list(signal.receivers_for(app))) == 1, signal.name
            # Receivers are connected per application: another app in the process has none.
            assert not list(signal.receivers_for(other)), signal.name
        assert {"portal", "staff", "audit", "calendar", "notices", "queues", "cases"} <= set(
            app.cli.commands)
    finally:
        state.engine(app).dispose()
        state.engine(other).dispose()


@pytest.mark.parametrize("name", ["publicity", "casework", "intake"])
def test_a_feature_hands_over_only_its_own_blueprints(name: str) -> None:
    feature = next(f for f in FEATURES if f.name == name)
    for blueprint in feature.blueprints:
        assert blueprint.import_name.split(".")[0] == name, blueprint.name
