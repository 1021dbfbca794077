"""Typed access to what the factory attaches to an application: configuration, instance
secrets, the database engine and session factory, and the registered features.

Everything else reads these through the functions here, never through ``app.extensions``
keys, so a typo is a mypy error rather than a KeyError at run time. Each function takes the
application, or uses the current one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask, current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from portal.config import Config, InstanceSecrets, NotInitialised

if TYPE_CHECKING:
    from portal.errors import ErrorTable
    from portal.features import Feature
    from portal.logs import HourlyCounts

# The keys are private to this module.
_CONFIG = "portal.config"
_SECRETS = "portal.secrets"
_ENGINE = "portal.engine"
_SESSIONMAKER = "portal.sessionmaker"
_FEATURES = "portal.features"
_ERROR_TABLES = "portal.error_tables"
_HOURLY_COUNTS = "portal.hourly_counts"


def _app(app: Flask | None) -> Flask:
    return app if app is not None else current_app._get_current_object()  # type: ignore[attr-defined]


def _get(app: Flask | None, key: str) -> Any:
    try:
        return _app(app).extensions[key]
    except KeyError:
        raise RuntimeError(f"the application has no {key}: it was not made by create_app"
                           ) from None

def set_config(app: Flask, value: Config) -> None:
    """Attach the configuration (the factory's first step)."""
    app.extensions[_CONFIG] = value


def config(app: Flask | None = None) -> Config:
    """The application's configuration."""
    value: Config = _get(app, _CONFIG)
    return value


def set_secrets(app: Flask, value: InstanceSecrets | None) -> None:
    """Attach the instance secrets (None until `portal init` has made them)."""
    app.extensions[_SECRETS] = value


def secrets_or_none(app: Flask | None = None) -> InstanceSecrets | None:
    """The instance secrets, or None while the portal is not initialised."""
    value: InstanceSecrets | None = _app(app).extensions.get(_SECRETS)
    return value


def secrets(app: Flask | None = None) -> InstanceSecrets:
    """The instance secrets; NotInitialised before `portal init` (requests get a 503 page)."""
    value = secrets_or_none(app)
    if value is None:
        raise NotInitialised("the instance secrets are missing: run `portal init`")
    return value


def set_database(app: Flask, engine_: Engine) -> None:
    """Attach an engine and the session factory bound to it."""
    app.extensions[_ENGINE] = engine_
    app.extensions[_SESSIONMAKER] = sessionmaker(engine_, expire_on_commit=False)


def engine(app: Flask | None = None) -> Engine:
    """The application's database engine."""
    value: Engine = _get(app, _ENGINE)
    return value


def session_factory(app: Flask | None = None) -> sessionmaker[Session]:
    """The application's session factory."""
    value: sessionmaker[Session] = _get(app, _SESSIONMAKER)
    return value


def set_features(app: Flask, value: tuple[Feature, ...]) -> None:
    """Remember the features the application was assembled from."""
    app.extensions[_FEATURES] = value


def features(app: Flask | None = None) -> tuple[Feature, ...]:
    """The features the application was assembled from, in registration order."""
    value: tuple[Feature, ...] = _app(app).extensions.get(_FEATURES, ())
    return value


def set_error_tables(app: Flask, value: tuple[ErrorTable, ...]) -> None:
    """Remember the domain error tables: the shell's, then each feature's."""
    app.extensions[_ERROR_TABLES] = value


def error_tables(app: Flask | None = None) -> tuple[ErrorTable, ...]:
    """The domain error tables of the application (none outside one made by create_app)."""
    value: tuple[ErrorTable, ...] = _app(app).extensions.get(_ERROR_TABLES, ())
    return value


def set_hourly_counts(app: Flask, value: HourlyCounts) -> None:
    """Attach the hourly counts of events on the reporter's pages (logged without their times)."""
    app.extensions[_HOURLY_COUNTS] = value


def hourly_counts(app: Flask | None = None) -> HourlyCounts:
    """The application's hourly counts of events on the reporter's pages."""
    value: HourlyCounts = _get(app, _HOURLY_COUNTS)
    return value
