"""Conditional responses for public pages: ETag and Last-Modified, 304 when unchanged."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable

from flask import Response, make_response, request
from werkzeug.wrappers import Response as BaseResponse

from portal import clock
from portal.security import PUBLIC_CACHE_FLAG

# Browsers and proxies may keep a public page this long before asking again (cheaply: 304).
MAX_AGE_SECONDS = 60


def _start_of_local_day() -> dt.datetime:
    today = clock.today()
    return dt.datetime(today.year, today.month, today.day, tzinfo=clock.zone())


def cacheable(
    key: Iterable[object],
    changed_at: dt.datetime | None,
    render: Callable[[], str | bytes | BaseResponse],
    mimetype: str = "text/html",
) -> BaseResponse:
    """Answer 304 if the client holds this representation, else render it with validators.

    The key must contain everything the page depends on (revision, local date, language,
    query), so a page never goes stale: "N working days left" changes at local midnight.
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
        body = render()
        response = body if isinstance(body, BaseResponse) else make_response(body)
        if mimetype != "text/html":
            response.mimetype = mimetype
    response.set_etag(etag)
    response.last_modified = modified
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE_SECONDS
    setattr(response, PUBLIC_CACHE_FLAG, True)
    return response
