"""What the rate limiter may keep: counts per fixed window, under a keyed hash of the client
address whose key rotates and never touches disk.

The address key of a period is random, made by whichever worker first needs it (``SET NX``)
and kept only in the store's memory until the period ends, so every worker and app server
derives the same keys. It is not derived from an instance secret: anyone holding those files
(or a backup of them) could then recompute it for any past period and turn the counters' keys
back into addresses. Once the period's key is gone, nothing can. A store that writes its
memory to disk would keep the key beside the counters, so such a store is refused at start-up.
"""

from __future__ import annotations

import threading
import time

import redis
from flask import Flask
from limits import parse, parse_many
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import FixedWindowRateLimiter

from portal import crypto
from portal.config import Config

# The store's key holding the address key of one rotation period (by its number).
KEY_PREFIX = "portal:ratelimit-key:"

_LIMIT_SETTINGS = (
    "login_failure_limit", "global_post_limit",
    "report_limit", "report_ceiling", "receipt_check_limit", "receipt_check_ceiling",
    "followup_limit", "followup_ceiling", "pow_ceiling",
)

# Per-process keys: with memory:// storage, and while the shared store is unreachable (when
# flask-limiter counts in each process's memory anyway).
_local_keys: dict[int, bytes] = {}
_local_lock = threading.Lock()


# Installation-wide ceilings on costly work (#21, item 13): one fixed-window count per name,
# no client key at all. While the shared store is unreachable, each process counts alone.
CEILING_NAMESPACE = "portal-ceiling"
_local_ceilings = MemoryStorage()


def under_ceiling(storage: Storage, limit: str, name: str) -> bool:
    """Count one unit of work against the installation's ceiling `limit` ("600 per minute")
    under `name`; False when the window's allowance is spent (the work must not be done)."""
    item = parse(limit)
    try:
        return FixedWindowRateLimiter(storage).hit(item, CEILING_NAMESPACE, name)
    except (redis.RedisError, OSError):
        return FixedWindowRateLimiter(_local_ceilings).hit(item, CEILING_NAMESPACE, name)


def clear_ceiling(storage: Storage, limit: str, name: str) -> None:
    """Start the ceiling's count afresh (tests)."""
    FixedWindowRateLimiter(storage).clear(parse(limit), CEILING_NAMESPACE, name)
    FixedWindowRateLimiter(_local_ceilings).clear(parse(limit), CEILING_NAMESPACE, name)


class PersistentStore(RuntimeError):
    """The rate-limit store writes its memory to disk, where counters outlive their key."""


def rotation_seconds(config: Config) -> int:
    """How long one address key is used: the longest window of the configured limits, so a
    count never needs a key older than its own window."""
    windows = [item.get_expiry() for name in _LIMIT_SETTINGS
               for item in parse_many(str(getattr(config, name)))]
    return max([1, *windows])


def _local_key(period: int) -> bytes:
    with _local_lock:
        for old in [p for p in _local_keys if p != period]:
            del _local_keys[old]
        return _local_keys.setdefault(period, crypto.random_bytes(32))


def _period_key(storage: Storage, period: int, seconds_left: int) -> bytes:
    """The address key of this period, shared through the store when it is Redis."""
    if not isinstance(storage, RedisStorage):
        return _local_key(period)
    name = f"{KEY_PREFIX}{period}"
    try:
        # The TTL is relative, so the app servers' clocks (not Redis's) decide the period.
        with storage.storage.pipeline(transaction=False) as pipe:
            pipe.set(name, crypto.random_bytes(32), nx=True, ex=max(1, seconds_left))
            pipe.get(name)
            _created, key = pipe.execute()
    except redis.RedisError:
        return _local_key(period)  # flask-limiter has fallen back to process memory as well
    return bytes(key) if key else _local_key(period)


def client_key(config: Config, storage: Storage, address: str) -> str:
    """The counters' key for a client address: a keyed hash under this period's address key."""
    period_seconds = rotation_seconds(config)
    now = time.time()
    period = int(now // period_seconds)
    seconds_left = int((period + 1) * period_seconds - now) or 1
    return crypto.client_key(_period_key(storage, period, seconds_left), address)


def check_store(app: Flask, storage: Storage) -> None:
    """Refuse to start when the Redis store persists (RDB snapshots or an append-only file);
    warn when it cannot be asked (CONFIG refused, or unreachable)."""
    if not isinstance(storage, RedisStorage):
        return
    client = storage.storage
    try:
        save = str(client.config_get("save").get("save", "")).strip()
        appendonly = str(client.config_get("appendonly").get("appendonly", "no")).strip()
    except redis.RedisError as exc:
        app.logger.warning(
            "cannot check that the rate-limit store keeps nothing on disk (%s): make sure its "
            "Redis runs with save \"\" and appendonly no (docs/deployment.md)",
            type(exc).__name__)
        return
    if save:
        raise PersistentStore(
            f"the rate-limit store writes snapshots to disk (Redis save {save}); run it with "
            "save \"\" and appendonly no (docs/deployment.md)")
    if appendonly != "no":
        raise PersistentStore(
            f"the rate-limit store writes an append-only file (Redis appendonly {appendonly}); "
            "run it with save \"\" and appendonly no (docs/deployment.md)")
