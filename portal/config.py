"""Typed configuration: one frozen dataclass built from ``PORTAL_*`` variables.

``os.environ`` is read here and nowhere else. Instance secrets live in files in the instance
folder (mode 0600), never in the database and never in the environment.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from urllib.parse import urlsplit

SECRET_NAMES = ("secret_key", "receipt_pepper", "pubkey_mac_key", "audit_mac_key")


class ConfigError(ValueError):
    """A PORTAL_* variable holds a value the portal cannot use."""


class NotInitialised(RuntimeError):
    """The instance folder lacks its secrets: run `flask --app wsgi portal init`."""


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"not a boolean: {value!r}")


def check_public_url(url: str) -> None:
    """Refuse an address that is not scheme://host[:port] (http or https, a host name or an
    IPv4 address, no user, path, query or fragment)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"PORTAL_PUBLIC_URL / PORTAL_EXTRA_PUBLIC_URLS: {url!r}: {exc}") from exc
    host = parts.hostname or ""
    if (parts.scheme not in ("http", "https") or not host or "[" in parts.netloc
            or parts.username is not None or parts.path not in ("", "/") or parts.query
            or parts.fragment or port == 0):
        raise ConfigError(
            f"PORTAL_PUBLIC_URL / PORTAL_EXTRA_PUBLIC_URLS: {url!r} is not "
            "http(s)://host[:port]")


# Every int setting's accepted range, checked at start-up (#22, item 5), with what the bound
# protects where it is not plain. A new int setting needs its entry here
# (tests/unit/test_config.py fails without one).
_KIB, _MIB, _GIB = 1024, 1024 * 1024, 1024 * 1024 * 1024
NUMERIC_BOUNDS: dict[str, tuple[int, int] | tuple[int, int, str]] = {
    "proxy_count": (0, 5),
    "staff_kdf_time_cost": (1, 100),
    "staff_kdf_memory_kib": (8, 4 * _MIB, "argon2id's minimum is 8 KiB; at most 4 GiB"),
    "receipt_kdf_time_cost": (1, 100),
    "receipt_kdf_memory_kib": (8, 4 * _MIB, "argon2id's minimum is 8 KiB; at most 4 GiB"),
    "max_request_bytes": (_KIB, 2 * _GIB),
    "max_form_memory_bytes": (_KIB, 64 * _MIB),
    "max_files": (1, 100),
    "max_file_bytes": (1000, 2 * _GIB),
    "session_idle_minutes": (1, 24 * 60),
    "session_absolute_hours": (1, 7 * 24),
    "login_account_free_failures": (1, 1_000_000),
    "login_account_max_delay_seconds": (1, 24 * 3600),
    "pow_bits": (1, 32, "0 would make the proof of work free"),
    "reporter_idle_minutes": (1, 24 * 60),
    "max_image_pixels": (100_000, 1_000_000_000),
    "body_readers_per_process": (1, 1024),
    "publicity_min_working_days": (5, 60, "never below 5, 条例 第四十二条"),
    "activation_days": (1, 90),
    "retention_days": (1, 100 * 365, "0 or less would purge every closed case at once"),
    "rotation_days": (1, 10 * 365),
    "smtp_port": (1, 65535),
    "smtp_timeout_seconds": (1, 300),
    "public_state_ttl_ms": (0, 60_000),
}


def _check_bounds(config: Config) -> None:
    """Refuse a numeric setting outside its range, naming the variable and the range."""
    for f in fields(config):
        if f.type != "int":
            continue
        if f.name not in NUMERIC_BOUNDS:
            raise ConfigError(f"PORTAL_{f.name.upper()} has no range (portal/config.py)")
        low, high, *why = NUMERIC_BOUNDS[f.name]
        value = getattr(config, f.name)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            reason = f" ({why[0]})" if why else ""
            raise ConfigError(f"PORTAL_{f.name.upper()} must be between {low} and {high}"
                              f"{reason}, not {value!r}")


@dataclass(frozen=True)
class Config:
    """Everything the portal can be told, with safe defaults for a single machine."""

    instance_path: Path = field(default_factory=lambda: Path("instance").resolve())
    # Default: SQLite in WAL mode inside the instance folder (the embedded default).
    database_url: str = ""
    # flask-limiter storage; memory:// is per process, so production uses redis://.
    ratelimit_storage_uri: str = "memory://"
    # Secure cookies unless someone deliberately serves plain HTTP on localhost.
    secure_cookies: bool = True
    # Behind a Tor onion service every client shares one address: per-address limits are off.
    behind_tor: bool = False
    # Reverse proxies in front (nginx: 1) whose X-Forwarded-For/-Proto are trusted. The address
    # only ever feeds the rate limiter's keyed hash; it is never stored or logged.
    proxy_count: int = 0
    # argon2id cost for staff passphrases (memory in KiB). One run yields verifier and wrap key.
    staff_kdf_time_cost: int = 3
    staff_kdf_memory_kib: int = 64 * 1024
    # argon2id cost for receipts: >= 64 random bits, so "interactive" cost suffices.
    receipt_kdf_time_cost: int = 2
    receipt_kdf_memory_kib: int = 64 * 1024
    # Whole-request cap (a report with its files) and per-file limits.
    max_request_bytes: int = 220 * 1024 * 1024
    max_form_memory_bytes: int = 512 * 1024
    max_files: int = 10
    max_file_bytes: int = 20 * 1024 * 1024
    default_language: str = "zh"
    timezone: str = "Asia/Shanghai"
    # Staff sessions: idle and absolute lifetimes.
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    # Failed staff logins allowed per client address (keyed hash)…
    login_failure_limit: str = "10 per 15 minutes"
    # …and per account, from any address, a slow-down without lock-out (#21.14): after this
    # many failures each attempt waits twice as long as the last (2 s, 4 s …) up to the bound;
    # the right passphrase and code always work once the wait is over.
    login_account_free_failures: int = 5
    login_account_max_delay_seconds: int = 300
    # Installation-wide ceiling used instead of per-address limits behind Tor.
    global_post_limit: str = "600 per minute"
    # Public report pages: per client address (keyed hash; off behind Tor) and an
    # installation-wide ceiling (behind Tor, a solved proof-of-work exempts from it).
    report_limit: str = "10 per hour"
    report_ceiling: str = "300 per hour"
    receipt_check_limit: str = "30 per hour"
    receipt_check_ceiling: str = "1200 per hour"
    followup_limit: str = "60 per hour"
    followup_ceiling: str = "1200 per hour"
    # Proof-of-work difficulty (leading zero bits of SHA-256) for the Tor-mode exemption; a
    # phone solves 16 bits in a few seconds. Solved requests still meet their own, higher
    # ceiling, because native code solves a token in milliseconds.
    pow_bits: int = 16
    pow_ceiling: str = "3000 per hour"
    # Uncached renders of the archive search (and the API's archive pages) by everyone
    # together: a fixed-window count in the limiter's store, no address involved. Beyond it,
    # "busy, try again in a minute" (429); cached pages keep answering (#21, item 13).
    search_ceiling: str = "600 per minute"
    # A reporter session ends after this idle time, and when the browser closes.
    reporter_idle_minutes: int = 30
    # Images above this many pixels are refused (decompression bombs).
    max_image_pixels: int = 60_000_000
    # Requests with a body (uploads, forms) one app-server process reads at once; more are
    # answered 503 "busy" before their body is read. Below gunicorn's `threads` (16), so slow
    # senders can never take every thread from the pages (#21, item 4).
    body_readers_per_process: int = 8
    # Minimum publicity period in working days (never below 5, 条例 第四十二条).
    publicity_min_working_days: int = 5
    # Objection channels printed on every notice (defaults for new notices).
    objection_phone: str = "12380"
    objection_letter_address: str = ""
    objection_visit_address: str = ""
    # Days an activation code stays valid.
    activation_days: int = 7
    # Retention: closed cases lose their content this many days after closing
    # (`cases purge-expired`); a content-free skeleton stays for statistics.
    retention_days: int = 5 * 365
    # A queue's key epoch older than this is due for rotation (`queues rotate --due`).
    rotation_days: int = 365
    # Content-free e-mail to queue members (new cases, daily overdue digests); off unless a
    # host is set. `smtp_security` is "starttls", "tls" or "none" (local relay only).
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    smtp_timeout_seconds: int = 10
    # The site's address: scheme, host, optional port, no path (https://jubao.example.gov.cn).
    # Absolute links (feed, API, the login link in e-mails) are built from it, never from the
    # request, and requests for any other host are refused (#21, item 10). Required in
    # production; empty only in development and tests (cookies not Secure), where loopback
    # names (localhost, 127.0.0.1, [::1]) are served and links follow them.
    public_url: str = ""
    # Further addresses of the same site, comma-separated (the onion service,
    # http://<name>.onion): their hosts are served too, with links to that address.
    extra_public_urls: str = ""
    # Public pages re-read the published data's and the calendar's revisions at most this
    # often per worker (their cache key); a publication shows within this time, while
    # browsers and proxies may keep a public page for 60 s anyway. 0: read on every request.
    public_state_ttl_ms: int = 1000
    testing: bool = False

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(
                self, "database_url", f"sqlite:///{self.instance_path / 'portal.db'}"
            )
        if self.default_language not in ("zh", "en"):
            raise ConfigError("PORTAL_DEFAULT_LANGUAGE must be zh or en")
        if self.smtp_security not in ("starttls", "tls", "none"):
            raise ConfigError("PORTAL_SMTP_SECURITY must be starttls, tls or none")
        for url in self.public_urls:
            check_public_url(url)
        _check_bounds(self)

    @property
    def public_urls(self) -> tuple[str, ...]:
        """PORTAL_PUBLIC_URL then PORTAL_EXTRA_PUBLIC_URLS, without a trailing slash."""
        extra = [u.strip() for u in self.extra_public_urls.split(",") if u.strip()]
        return tuple(u.rstrip("/") for u in (self.public_url, *extra) if u)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Build the configuration from PORTAL_* variables (unknown ones are an error)."""
        env = os.environ if environ is None else environ
        known = {f.name: f for f in fields(cls)}
        values: dict[str, object] = {}
        for key, raw in env.items():
            if not key.startswith("PORTAL_") or key.startswith("PORTAL_TEST_"):
                continue
            name = key.removeprefix("PORTAL_").lower()
            if name not in known or name == "testing":
                raise ConfigError(f"unknown setting {key}")
            kind = known[name].type
            try:
                if kind == "Path":
                    values[name] = Path(raw).resolve()
                elif kind == "bool":
                    values[name] = _bool(raw)
                elif kind == "int":
                    values[name] = int(raw)
                else:
                    values[name] = raw
            except ValueError as exc:
                raise ConfigError(f"{key}: {exc}") from exc
        return cls(**values)  # type: ignore[arg-type]

    def with_(self, **changes: object) -> Config:
        """A copy with some settings changed (tests, CLI)."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class InstanceSecrets:
    """Random secrets kept in files under the instance folder."""

    secret_key: bytes
    receipt_pepper: bytes
    pubkey_mac_key: bytes
    audit_mac_key: bytes

    @classmethod
    def load(cls, instance_path: Path) -> InstanceSecrets:
        """Read the secrets; raise NotInitialised when any is missing."""
        values = {}
        for name in SECRET_NAMES:
            path = instance_path / name
            try:
                data = path.read_bytes()
            except FileNotFoundError as exc:
                raise NotInitialised(str(path)) from exc
            if len(data) != 32:
                raise NotInitialised(f"{path} is not a 32-byte secret")
            values[name] = data
        return cls(**values)

    @staticmethod
    def ensure(instance_path: Path) -> list[str]:
        """Create the instance folder and any missing secret (mode 0600); return what was made."""
        instance_path.mkdir(parents=True, exist_ok=True, mode=0o700)
        made = []
        for name in SECRET_NAMES:
            path = instance_path / name
            if path.exists():
                continue
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_bytes(32))
            made.append(name)
        return made
