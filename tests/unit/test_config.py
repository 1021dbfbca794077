"""Configuration from PORTAL_* variables and instance secrets on disk."""

from __future__ import annotations

import stat
from dataclasses import fields
from pathlib import Path

import pytest

from portal.config import (
    NUMERIC_BOUNDS,
    Config,
    ConfigError,
    InstanceSecrets,
    NotInitialised,
)


def test_defaults_are_the_embedded_setup(tmp_path: Path) -> None:
    cfg = Config.from_env({"PORTAL_INSTANCE_PATH": str(tmp_path)})
    assert cfg.database_url == f"sqlite:///{tmp_path / 'portal.db'}"
    assert cfg.ratelimit_storage_uri == "memory://"
    assert cfg.timezone == "Asia/Shanghai"
    assert cfg.default_language == "zh"
    # Secure cookies unless someone explicitly serves plain HTTP (make run does, locally).
    assert cfg.secure_cookies is True


def test_typed_values_are_parsed() -> None:
    cfg = Config.from_env({"PORTAL_BEHIND_TOR": "yes", "PORTAL_MAX_FILES": "3",
                           "PORTAL_DATABASE_URL": "postgresql+psycopg://x/y", "HOME": "/root"})
    assert cfg.behind_tor is True
    assert cfg.max_files == 3
    assert cfg.database_url == "postgresql+psycopg://x/y"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PORTAL_NO_SUCH_THING": "1"}, "unknown setting"),
        ({"PORTAL_BEHIND_TOR": "maybe"}, "not a boolean"),
        ({"PORTAL_MAX_FILES": "ten"}, "PORTAL_MAX_FILES"),
        ({"PORTAL_PUBLICITY_MIN_WORKING_DAYS": "4"}, "never below 5"),
        ({"PORTAL_DEFAULT_LANGUAGE": "fr"}, "zh or en"),
    ],
)
def test_bad_settings_are_refused_clearly(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Config.from_env(env)


def test_config_is_frozen() -> None:
    cfg = Config()
    with pytest.raises(AttributeError):
        cfg.behind_tor = True  # type: ignore[misc]


def test_secrets_are_created_once_with_mode_0600(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    with pytest.raises(NotInitialised):
        InstanceSecrets.load(instance)
    made = InstanceSecrets.ensure(instance)
    assert sorted(made) == sorted(["secret_key", "receipt_pepper", "pubkey_mac_key",
                                   "audit_mac_key"])
    first = InstanceSecrets.load(instance)
    assert InstanceSecrets.ensure(instance) == []
    assert InstanceSecrets.load(instance) == first
    for name in made:
        assert stat.S_IMODE((instance / name).stat().st_mode) == 0o600
    assert len({first.secret_key, first.receipt_pepper, first.pubkey_mac_key,
                first.audit_mac_key}) == 4


def test_truncated_secret_is_refused(tmp_path: Path) -> None:
    InstanceSecrets.ensure(tmp_path)
    (tmp_path / "audit_mac_key").write_bytes(b"short")
    with pytest.raises(NotInitialised, match="32-byte"):
        InstanceSecrets.load(tmp_path)


# --- numeric settings are range-checked at start-up (#22, item 5) ---------------------------

NUMERIC = [f.name for f in fields(Config) if f.type == "int"]


def _variable(name: str) -> str:
    return f"PORTAL_{name.upper()}"


def test_every_numeric_setting_has_bounds() -> None:
    # A new int setting without an entry in NUMERIC_BOUNDS fails here.
    assert sorted(NUMERIC_BOUNDS) == sorted(NUMERIC)


@pytest.mark.parametrize("name", NUMERIC)
def test_numeric_setting_is_range_checked(name: str) -> None:
    low, high = NUMERIC_BOUNDS[name][:2]
    default = getattr(Config(), name)
    assert low <= default <= high, name
    for value in (low, high):
        assert getattr(Config.from_env({_variable(name): str(value)}), name) == value
    for value in (low - 1, high + 1, -1, -(10**9)):
        if low <= value <= high:
            continue
        with pytest.raises(ConfigError, match=_variable(name)) as refused:
            Config.from_env({_variable(name): str(value)})
        assert f"between {low} and {high}" in str(refused.value)
        # Built directly (tests, the CLI's `with_`), the same check applies.
        with pytest.raises(ConfigError, match=_variable(name)):
            Config(**{name: value})  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["0", "-1", "-36500"])
def test_a_retention_of_zero_or_fewer_days_is_refused(value: str) -> None:
    # A negative retention would make every closed case "expired" at the next purge.
    with pytest.raises(ConfigError, match="PORTAL_RETENTION_DAYS must be between 1 and"):
        Config.from_env({"PORTAL_RETENTION_DAYS": value})
