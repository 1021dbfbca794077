"""Unbound Flask extensions, initialised in the factory in a visible order."""

from __future__ import annotations

from flask import request
from flask_limiter import Limiter
from flask_wtf import CSRFProtect

from portal import ratelimit, state
from portal.http_cache import is_shared_page


def client_key() -> str:
    """Rate-limit key: a keyed hash of the client address under a key that rotates and lives
    only in the store's memory (portal.ratelimit), never the address itself.

    Behind Tor every client arrives from the same address, so per-address limits would let
    one abuser lock everyone out: there, all clients share one installation-wide bucket.
    """
    config = state.config()
    if config.behind_tor:
        return "installation"
    return ratelimit.client_key(config, limiter.storage, request.remote_addr or "")


csrf = CSRFProtect()
limiter = Limiter(key_func=client_key, default_limits=[], headers_enabled=False)


@limiter.request_filter
def _shared_page() -> bool:
    """Shared public pages carry no per-client limit (see portal.http_cache)."""
    return is_shared_page()
