"""Proof of work (hashcash) that lets JavaScript browsers skip the shared rate-limit ceiling.

Behind Tor every client shares one address, so one installation-wide ceiling applies to
public POSTs. A form can carry a server-issued challenge; ``static/pow.js`` finds the smallest
decimal counter such that SHA-256(challenge ":" counter) starts with ``bits`` zero bits. A
valid, unspent pair exempts that one request (``request_exempt`` for flask-limiter's
``exempt_when``). Without JavaScript the form still works, within the ceiling.

Token: base64url of version (1 byte) | expiry (8, big-endian seconds) | bits (1) |
nonce (16) | HMAC-SHA256 of the preceding 26 bytes (32).
"""

from __future__ import annotations

import hashlib
import struct
import time

from flask import current_app, request
from werkzeug.exceptions import HTTPException

from portal import crypto, state

DEFAULT_BITS = 18  # leading zero bits of SHA-256 required
MIN_BITS, MAX_BITS = 1, 32
FIELD_CHALLENGE = "pow_challenge"
FIELD_SOLUTION = "pow_solution"

_VERSION = 1
_BODY = struct.Struct(">BQB16s")
_MAC_BYTES = 32
_MAX_CHALLENGE_CHARS = 128
_MAX_SOLUTION_DIGITS = 20
_PURPOSE = "portal/pow"
_ENVIRON_FLAG = "portal.pow_exempt"


def issue(key: bytes, *, bits: int, ttl_seconds: int = 3600, now: float | None = None) -> str:
    """A new challenge token requiring `bits` leading zero bits, valid for `ttl_seconds`."""
    if not MIN_BITS <= bits <= MAX_BITS:
        raise ValueError(f"bits must be within {MIN_BITS}…{MAX_BITS}")
    expires = int(time.time() if now is None else now) + ttl_seconds
    body = _BODY.pack(_VERSION, expires, bits, crypto.random_bytes(16))
    return crypto.b64(body + crypto.mac(key, _PURPOSE, body))


def _verify(key: bytes, challenge: str, solution: str, now: float | None) -> int | None:
    """The token's expiry when the pair is valid; None otherwise (never raises on bad input)."""
    if not isinstance(challenge, str) or not isinstance(solution, str):
        return None
    if not 0 < len(challenge) <= _MAX_CHALLENGE_CHARS or not challenge.isascii():
        return None
    # ASCII digits only (str.isdigit would accept "²" and other Unicode digits).
    if not 0 < len(solution) <= _MAX_SOLUTION_DIGITS or not all("0" <= c <= "9" for c in solution):
        return None
    try:
        raw = crypto.unb64(challenge)
    except ValueError:
        return None
    # The re-encoding test refuses other spellings of the same bytes (decoding skips junk
    # characters), which would otherwise be a replay under a different single-use key.
    if len(raw) != _BODY.size + _MAC_BYTES or crypto.b64(raw) != challenge:
        return None
    body, tag = raw[: _BODY.size], raw[_BODY.size :]
    if not crypto.equal(crypto.mac(key, _PURPOSE, body), tag):
        return None
    version, expires, bits, _nonce = _BODY.unpack(body)
    if version != _VERSION or not MIN_BITS <= bits <= MAX_BITS:
        return None
    if (time.time() if now is None else now) >= expires:
        return None
    digest = hashlib.sha256(f"{challenge}:{solution}".encode()).digest()
    if int.from_bytes(digest, "big") >> (256 - bits) != 0:
        return None
    return int(expires)


def check(key: bytes, challenge: str, solution: str, *, now: float | None = None) -> bool:
    """True when the MAC holds, the token has not expired and the solution has enough zeros."""
    return _verify(key, challenge, solution, now) is not None


def spend(challenge: str, ttl_seconds: int = 3600) -> bool:
    """Record the challenge as used (shared through the limiter storage); True the first time.

    Needs an app context. With memory:// storage "single use" holds per process only.
    """
    from portal.extensions import limiter

    key = "pow:" + hashlib.sha256(challenge.encode()).hexdigest()
    return limiter.storage.incr(key, max(1, int(ttl_seconds))) == 1


def app_key() -> bytes:
    """This installation's proof-of-work key, derived from (never equal to) the secret key."""
    return crypto.mac(state.secrets().secret_key, "portal/pow-key")


def new_challenge(bits: int = DEFAULT_BITS, ttl_seconds: int = 3600) -> str:
    """A challenge for a form rendered now (needs an app context)."""
    return issue(app_key(), bits=bits, ttl_seconds=ttl_seconds)


def request_exempt() -> bool:
    """For flask-limiter's ``exempt_when``: does this request carry a valid, unspent pair?

    The answer is cached in the request's WSGI environ (not ``g``, which an outer app context
    can share between requests): flask-limiter asks once per limit, and a second ask would
    otherwise find the challenge already spent. Never raises (any failure means "not exempt").
    """
    try:
        cached = request.environ.get(_ENVIRON_FLAG)
        if cached is not None:
            return bool(cached)
        exempt = False
        challenge = request.form.get(FIELD_CHALLENGE, "")
        solution = request.form.get(FIELD_SOLUTION, "")
        if challenge and solution:
            now = time.time()
            expires = _verify(app_key(), challenge, solution, now)
            # Remember the spend at least as long as the token stays valid.
            exempt = expires is not None and spend(challenge, int(expires - now) + 60)
        request.environ[_ENVIRON_FLAG] = exempt
        return exempt
    except HTTPException:
        return False  # e.g. a body over the size limit: the view will refuse it itself
    except Exception:
        current_app.logger.warning("proof-of-work check failed", exc_info=True)
        return False
