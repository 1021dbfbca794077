"""The crypto seam: every seal, unseal, KDF, MAC and hash in the portal goes through here.

Primitives come from PyNaCl (libsodium) and argon2-cffi; nothing here is hand-rolled beyond
naming which primitive is used for what. Costs come from configuration so tests can use cheap
ones.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

from nacl.bindings import (
    crypto_aead_xchacha20poly1305_ietf_decrypt,
    crypto_aead_xchacha20poly1305_ietf_encrypt,
    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
    crypto_pwhash_alg,
    crypto_pwhash_ALG_ARGON2ID13,
)
from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

KEY_BYTES = 32
NONCE_BYTES = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES


class DecryptionFailed(Exception):
    """A ciphertext did not open: wrong key, wrong place (associated data) or tampered."""


class KeyIntegrityError(Exception):
    """A public key in the database does not carry a valid MAC: refuse to use it."""


@dataclass(frozen=True)
class KdfCost:
    """argon2id cost parameters."""

    time_cost: int
    memory_kib: int


@dataclass(frozen=True)
class PassphraseKeys:
    """What one argon2id run over a passphrase yields."""

    verifier: bytes
    wrap_key: bytes


def random_bytes(n: int = KEY_BYTES) -> bytes:
    """Random bytes from the OS CSPRNG."""
    return secrets.token_bytes(n)


# Random row ids (#21, item 7) lie in [2**40, 2**61): above every id an auto-increment handed
# out before them, with room above for ids that follow a sibling's (`random_id_after`).
_ID_LOW, _ID_HIGH, _ID_STEP = 2**40, 2**61, 2**24


def random_id() -> int:
    """A random row id: unlike an auto-increment, it says nothing of when the row was written
    relative to any other (#21, item 7)."""
    return _ID_LOW + secrets.randbelow(_ID_HIGH - _ID_LOW)


def random_id_after(previous: int | None) -> int:
    """A row id greater than `previous` (a sibling's, e.g. the newest entry of the same case)
    by a random step, so siblings keep their order and nothing else: or a random id when there
    is none, or it is an old auto-incremented one."""
    if previous is None or previous < _ID_LOW:
        return random_id()
    return previous + 1 + secrets.randbelow(_ID_STEP)


def random_token(n: int = 32) -> str:
    """A URL-safe random token (cookies, activation codes)."""
    return secrets.token_urlsafe(n)


def b64(data: bytes) -> str:
    """URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64(text: str) -> bytes:
    """Inverse of :func:`b64`; raises ValueError on malformed input."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("malformed base64") from exc


def _subkey(master: bytes, purpose: str) -> bytes:
    """Domain-separated subkey (BLAKE2b keyed by the master, personalised by purpose)."""
    return hashlib.blake2b(purpose.encode(), key=master, digest_size=KEY_BYTES).digest()


def argon2id(secret: bytes, salt: bytes, cost: KdfCost) -> bytes:
    """A 32-byte argon2id (v1.3, one lane) derivation; the salt is 16 bytes.

    libsodium's implementation (SIMD) takes ~60% of the reference implementation's time in
    argon2-cffi for the same output (tests/unit/test_crypto.py checks they agree), which is
    time every report filing and receipt check spends.
    """
    return bytes(crypto_pwhash_alg(KEY_BYTES, secret, salt, cost.time_cost,
                                   cost.memory_kib * 1024, crypto_pwhash_ALG_ARGON2ID13))


def derive_passphrase_keys(passphrase: str, salt: bytes, cost: KdfCost) -> PassphraseKeys:
    """One argon2id run, split into the login verifier and the private-key wrapping key."""
    master = argon2id(passphrase.encode("utf-8"), salt, cost)
    return PassphraseKeys(
        verifier=_subkey(master, "portal/login-verifier"),
        wrap_key=_subkey(master, "portal/key-wrap"),
    )


def equal(a: bytes, b: bytes) -> bool:
    """Constant-time comparison."""
    return hmac.compare_digest(a, b)


def _ad(place: dict[str, object]) -> bytes:
    return json.dumps(place, sort_keys=True, separators=(",", ":")).encode()


def encrypt(key: bytes, plaintext: bytes, place: dict[str, object]) -> bytes:
    """XChaCha20-Poly1305 with a random nonce, bound to its place by associated data."""
    nonce = random_bytes(NONCE_BYTES)
    return nonce + crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, _ad(place), nonce, key)


def decrypt(key: bytes, blob: bytes, place: dict[str, object]) -> bytes:
    """Open what :func:`encrypt` made for the same place; raise DecryptionFailed otherwise."""
    nonce, ciphertext = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
    try:
        return crypto_aead_xchacha20poly1305_ietf_decrypt(ciphertext, _ad(place), nonce, key)
    except (CryptoError, ValueError, TypeError) as exc:
        raise DecryptionFailed(str(place.get("what", ""))) from exc


def generate_keypair() -> tuple[bytes, bytes]:
    """A new X25519 key pair as (public, private) bytes."""
    private = PrivateKey.generate()
    return bytes(private.public_key), bytes(private)


def public_of(private_key: bytes) -> bytes:
    """The X25519 public key belonging to a private key."""
    return bytes(PrivateKey(private_key).public_key)


def seal(public_key: bytes, data: bytes) -> bytes:
    """Anonymous public-key encryption (libsodium sealed box)."""
    return SealedBox(PublicKey(public_key)).encrypt(data)


def unseal(private_key: bytes, blob: bytes) -> bytes:
    """Open a sealed box; raise DecryptionFailed if it is not for this key."""
    try:
        return SealedBox(PrivateKey(private_key)).decrypt(blob)
    except (CryptoError, ValueError, TypeError) as exc:
        raise DecryptionFailed("sealed box") from exc


def mac(key: bytes, *parts: bytes | str) -> bytes:
    """HMAC-SHA256 over length-prefixed parts (no ambiguity between part boundaries)."""
    h = hmac.new(key, digestmod=hashlib.sha256)
    for part in parts:
        raw = part.encode("utf-8") if isinstance(part, str) else part
        h.update(len(raw).to_bytes(8, "big"))
        h.update(raw)
    return h.digest()


def public_key_mac(mac_key: bytes, owner: str, public_key: bytes) -> bytes:
    """The MAC that authenticates a public key stored in the database for its owner."""
    return mac(mac_key, "portal/public-key", owner, public_key)


def check_public_key(mac_key: bytes, owner: str, public_key: bytes, tag: bytes | None) -> bytes:
    """Return the public key if its MAC holds; raise KeyIntegrityError otherwise."""
    if not tag or not equal(public_key_mac(mac_key, owner, public_key), tag):
        raise KeyIntegrityError(owner)
    return public_key


def instance_marker(secret: bytes, family: str) -> bytes:
    """The MAC the database keeps of one instance secret (#22, item 1): under the secret, of a
    fixed label naming its family. Equal only for the same secret; it tells nothing of it."""
    return mac(secret, "portal/instance-marker", family)


def check_instance_marker(secret: bytes, family: str, tag: bytes | None) -> bool:
    """Whether a stored marker is the one this secret makes (constant-time)."""
    return bool(tag) and equal(instance_marker(secret, family), bytes(tag or b""))


def fingerprint(public_key: bytes) -> str:
    """A short human-comparable fingerprint: 8 groups of 4 hex digits."""
    digest = hashlib.blake2b(public_key, digest_size=16).hexdigest().upper()
    return " ".join(digest[i : i + 4] for i in range(0, 32, 4))


def session_id_hash(session_id: bytes) -> str:
    """How a session row is found: a hash of the id, so the DB never holds the cookie value."""
    return hashlib.sha256(b"portal/session-id" + session_id).hexdigest()


def client_key(secret: bytes, address: str) -> str:
    """A keyed hash of a client address for the rate limiter (never stored elsewhere)."""
    return mac(secret, "portal/ratelimit", address).hex()[:32]


def hash_token(token: str) -> str:
    """Hash of a one-time token (activation codes) for lookup without storing it."""
    return hashlib.sha256(b"portal/token" + token.encode("utf-8")).hexdigest()
