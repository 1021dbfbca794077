"""Public pages: conditional responses (ETag, Last-Modified, 304) and a render cache; static
files under versioned URLs, kept by browsers for a year (see `static_version`).

A public page is a function of its key: the published data's revision, the calendar's
revision, today's date in Shanghai, the language, the host it is served under and the query.
Two requests with the same key get the same bytes, so

* a client that holds the page is answered 304 from the key alone, before anything is loaded;
* the bytes of a render are kept in a per-process LRU cache, bounded in bytes, keyed by the
  same key. A publication, a calendar change or local midnight changes the key, so an entry
  is never stale; it is only no longer asked for, and the LRU drops it.

Views that serve such pages are marked `@shared_page`. Requests for them open no session (a
cookie the browser sends is not even parsed; base.html leaves out flashed messages, which
belong to one visitor) and skip the per-client rate limits (they cost a cache lookup; a flood
is the reverse proxy's to limit, see docs/deployment.md). Pages whose key space a visitor
can grow at will (archive searches) pass a `ceiling`: their fresh renders meet an
installation-wide count (portal.ratelimit.under_ceiling), which holds behind Tor too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar, cast

from cachetools import LRUCache, TTLCache
from flask import Flask, Request, Response, abort, current_app, g, make_response, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from werkzeug.security import safe_join
from werkzeug.wrappers import Response as BaseResponse

from portal import clock, state
from portal.security import PUBLIC_CACHE_FLAG, busy

# Browsers and proxies may keep a public page this long before asking again (cheaply: 304).
MAX_AGE_SECONDS = 60
# Per worker process. The home page is ~10 KB, a notice ~5 KB: thousands of pages fit.
DEFAULT_CACHE_BYTES = 32 * 1024 * 1024
# Larger renders (a long archive page as JSON, say) are served but not kept.
MAX_ENTRY_BYTES = 1024 * 1024
ENTRY_OVERHEAD = 200  # the key, the entry object and the LRU's bookkeeping, roughly

SHARED_PAGE = "portal_shared_page"
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., object])
Render = Callable[[], "str | bytes | BaseResponse | None"]


@dataclass(frozen=True)
class Rendered:
    """The cacheable part of a response: its body and type, or "not found"."""

    body: bytes
    mimetype: str
    found: bool = True


class RenderCache:
    """A thread-safe LRU of rendered public pages, bounded by the bytes it holds, and the
    revisions their keys are made of, re-read at most every `state_ttl` seconds."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES, state_ttl: float = 0,
                 timer: Callable[[], float] = time.monotonic) -> None:
        self._entries: LRUCache[str, Rendered] = LRUCache(
            maxsize=max_bytes, getsizeof=lambda e: len(e.body) + ENTRY_OVERHEAD)
        self._states: TTLCache[str, object] | None = (
            TTLCache(maxsize=16, ttl=state_ttl, timer=timer) if state_ttl > 0 else None)
        self._lock = threading.Lock()

    def state(self, name: str, load: Callable[[], T]) -> T:
        """The value `load` returns, kept for `state_ttl` seconds (0: loaded every time).

        For the revisions in a public page's key: with a TTL, a 304 or a cached page is
        answered without touching the database, and a change shows within the TTL."""
        if self._states is None:
            return load()
        with self._lock:
            held = self._states.get(name)
        if held is None:
            held = load()
            with self._lock:
                self._states[name] = held
        return cast("T", held)

    def get(self, key: str) -> Rendered | None:
        """The entry for key, or None."""
        with self._lock:
            return self._entries.get(key)

    def put(self, key: str, entry: Rendered) -> None:
        """Keep an entry (unless it is too large to be worth a slot)."""
        if len(entry.body) > MAX_ENTRY_BYTES:
            return
        with self._lock:
            self._entries[key] = entry

    def clear(self) -> None:
        """Drop every entry and held state (tests; never needed for correctness)."""
        with self._lock:
            self._entries.clear()
            if self._states is not None:
                self._states.clear()

    @property
    def size(self) -> int:
        """Bytes held, as the LRU counts them."""
        with self._lock:
            return int(self._entries.currsize)


def shared_page(view: F) -> F:
    """Mark a public view whose response is the same for everyone (served by `cacheable`)."""
    setattr(view, SHARED_PAGE, True)
    return view


def is_shared_page() -> bool:
    """Whether the current request is for a `@shared_page` view."""
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, SHARED_PAGE, False))


# Keys in app.extensions, private to this module (read through render_cache()).
_RENDER_CACHE = "portal.render_cache"
_SERIALIZER = "portal.session_serializer"
_STATIC_VERSIONS = "portal.static_versions"

# Static files (#22.4): every `url_for('static', …)` carries the file's content hash
# (`/static/pow.js?v=<16 hex digits>`), and a request naming the current hash is answered
# "public, max-age=one year, immutable": a browser (Tor Browser included) loads pow.js and
# portal.css once per version, not with every reporter page. Another content is another URL;
# a request without the hash, or with a stale one, is answered but not kept (no-cache).
STATIC_MAX_AGE_SECONDS = 365 * 24 * 3600
STATIC_VERSION_DIGITS = 16


def static_version(app: Flask, filename: str) -> str | None:
    """The content hash of a file in the static folder (None when there is no such file),
    re-read when the file changes (its size or modification time)."""
    folder = app.static_folder
    path = safe_join(folder, filename) if folder else None
    if path is None:
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    stamp = (info.st_mtime_ns, info.st_size)
    versions: dict[str, tuple[tuple[int, int], str]] = app.extensions[_STATIC_VERSIONS]
    held = versions.get(filename)
    if held is None or held[0] != stamp:
        try:
            with open(path, "rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest()[:STATIC_VERSION_DIGITS]
        except OSError:
            return None
        held = versions[filename] = (stamp, digest)
    return held[1]


def _init_static(app: Flask) -> None:
    # Only files that exist are ever held, so a request cannot grow the table.
    app.extensions[_STATIC_VERSIONS] = {}

    @app.url_defaults
    def _version_static_url(endpoint: str, values: dict[str, object]) -> None:
        if endpoint == "static" and "v" not in values:
            version = static_version(app, str(values.get("filename", "")))
            if version:
                values["v"] = version

    @app.after_request
    def _cache_static(response: Response) -> Response:
        if request.endpoint != "static" or response.status_code not in (200, 206, 304):
            return response
        filename = str((request.view_args or {}).get("filename", ""))
        asked = request.args.get("v")
        if asked and asked == static_version(app, filename):
            cache = response.cache_control
            cache.no_cache = None
            cache.public = True
            cache.max_age = STATIC_MAX_AGE_SECONDS
            cache.immutable = True
            response.expires = None
        return response


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, not opened at all for shared pages, with the signing
    serializer built once per application instead of on every request."""

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        """The serializer, memoised on the application (its secret never changes)."""
        held: URLSafeTimedSerializer | None = app.extensions.get(_SERIALIZER)
        if held is None:
            held = super().get_signing_serializer(app)
            app.extensions[_SERIALIZER] = held
        return held

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """No session for a shared page (Flask then gives it an empty, read-only one)."""
        if is_shared_page():
            return None
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    """Give the application its render cache and its session interface."""
    ttl = state.config(app).public_state_ttl_ms / 1000
    app.extensions[_RENDER_CACHE] = RenderCache(state_ttl=ttl)
    app.session_interface = SessionInterface()
    _init_static(app)


def render_cache(app: Flask | None = None) -> RenderCache:
    """The application's (default: the current one's) render cache."""
    cache: RenderCache = (app or current_app).extensions[_RENDER_CACHE]
    return cache


def _start_of_local_day() -> dt.datetime:
    today = clock.today()
    return dt.datetime(today.year, today.month, today.day, tzinfo=clock.zone())


def _render(render: Render, mimetype: str) -> Rendered:
    g.portal_public_render = True
    try:
        body = render()
    finally:
        g.portal_public_render = False
    if body is None:
        return Rendered(b"", mimetype, found=False)
    if isinstance(body, BaseResponse):
        return Rendered(body.get_data(), body.mimetype or mimetype)
    return Rendered(body.encode() if isinstance(body, str) else body, mimetype)


def cacheable(
    key: Iterable[object],
    changed_at: dt.datetime | None,
    render: Render,
    mimetype: str = "text/html",
    ceiling: Callable[[], bool] | None = None,
) -> BaseResponse:
    """Answer 304 if the client holds this representation, else the cached or a fresh render,
    with validators. `render` returns None when the page does not exist (a 404, cached too).

    `ceiling`, when given, is asked before a fresh render (never for a 304 or a cached page):
    when it answers False, the installation's allowance of such renders is spent and the
    answer is the "busy, try again in a minute" page (429, Retry-After, not cached).

    The key must contain everything the page depends on (revision, local date, language,
    host, query), so a page never goes stale: "N working days left" changes at local midnight.
    """
    etag = hashlib.sha256("|".join(map(str, key)).encode()).hexdigest()[:32]
    # Last-Modified cannot be earlier than local midnight: date-dependent text changes then.
    midnight = _start_of_local_day()
    modified = max(changed_at or midnight, midnight).replace(microsecond=0)
    if request.if_none_match:
        fresh = request.if_none_match.contains(etag)
    else:
        since = request.if_modified_since
        fresh = since is not None and modified <= since
    response: BaseResponse
    if fresh:
        response = Response(status=304)
    else:
        cache = render_cache()
        entry = cache.get(etag)
        if entry is None:
            if ceiling is not None and not ceiling():
                return busy(429)
            entry = _render(render, mimetype)
            cache.put(etag, entry)
        if not entry.found:
            abort(404)
        response = make_response(entry.body)
        response.mimetype = entry.mimetype
    response.set_etag(etag)
    response.last_modified = modified
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE_SECONDS
    setattr(response, PUBLIC_CACHE_FLAG, True)
    return response
