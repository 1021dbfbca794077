"""How a case's content is encrypted: keys, entries and chunked files, each bound to its place.

Every ciphertext's associated data names the case (its random uid), the entry or file, and for
file chunks the index and whether it is the last one, so ciphertexts cannot be moved between
cases or fields, and chunks cannot be reordered or cut off unnoticed. All primitives come from
`portal.crypto`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from portal import crypto

CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True)
class CaseKeys:
    """A case's working keys: content (Kr) and internal (Ki).

    The identity key pair (Kid) is sealed separately, so opening a case for work does not open
    the reporter's identity: only the audited reveal unseals it.
    """

    content: bytes
    internal: bytes

    @classmethod
    def generate(cls) -> CaseKeys:
        """Fresh random keys."""
        return cls(crypto.random_bytes(), crypto.random_bytes())

    def seal_to(self, queue_public_key: bytes) -> bytes:
        """Both keys sealed to a queue epoch's public key (only the queue opens them)."""
        return crypto.seal(queue_public_key, self.content + self.internal)

    @classmethod
    def unseal(cls, queue_private_key: bytes, wrap: bytes) -> CaseKeys:
        """Open the keys sealed to a queue epoch."""
        raw = crypto.unseal(queue_private_key, wrap)
        if len(raw) != 2 * crypto.KEY_BYTES:
            raise crypto.DecryptionFailed("case keys")
        return cls(raw[:crypto.KEY_BYTES], raw[crypto.KEY_BYTES:])


def identity_owner(case_uid: str) -> str:
    """Owner label of a case's identity public key (for its MAC)."""
    return f"case-identity:{case_uid}"


def _place(case_uid: str, what: str, **extra: object) -> dict[str, object]:
    return {"case": case_uid, "what": what, **extra}


def encrypt_entry(key: bytes, case_uid: str, entry_uid: str, kind: str,
                  payload: dict[str, object]) -> bytes:
    """An entry's payload (JSON) encrypted under Kr or Ki, bound to case, entry and kind."""
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return crypto.encrypt(key, data, _place(case_uid, kind, entry=entry_uid))


def decrypt_entry(key: bytes, case_uid: str, entry_uid: str, kind: str,
                  blob: bytes) -> dict[str, object]:
    """Inverse of :func:`encrypt_entry`."""
    data = crypto.decrypt(key, blob, _place(case_uid, kind, entry=entry_uid))
    result = json.loads(data)
    if not isinstance(result, dict):
        raise crypto.DecryptionFailed(kind)
    return result


def seal_identity(identity_public_key: bytes, case_uid: str, entry_uid: str,
                  payload: dict[str, object]) -> bytes:
    """A real-name identity sealed to the case identity key, with its place inside the box."""
    data = json.dumps({"case": case_uid, "entry": entry_uid, "identity": payload},
                      ensure_ascii=False).encode("utf-8")
    return crypto.seal(identity_public_key, data)


def open_identity(identity_private_key: bytes, case_uid: str, entry_uid: str,
                  blob: bytes) -> dict[str, object]:
    """Open an identity; refuse one that was sealed for another case or entry."""
    data = json.loads(crypto.unseal(identity_private_key, blob))
    if data.get("case") != case_uid or data.get("entry") != entry_uid:
        raise crypto.DecryptionFailed("identity")
    identity = data.get("identity")
    if not isinstance(identity, dict):
        raise crypto.DecryptionFailed("identity")
    return identity


def encrypt_file(key: bytes, case_uid: str, file_uid: str, data: bytes,
                 chunk_bytes: int = CHUNK_BYTES) -> list[bytes]:
    """A file as encrypted chunks; each chunk's AD names its index and whether it is last."""
    pieces = [data[i:i + chunk_bytes] for i in range(0, len(data), chunk_bytes)] or [b""]
    last = len(pieces) - 1
    return [
        crypto.encrypt(key, piece, _place(case_uid, "file", file=file_uid, chunk=i,
                                          last=i == last))
        for i, piece in enumerate(pieces)
    ]


def decrypt_file(key: bytes, case_uid: str, file_uid: str,
                 chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Decrypt chunks in order; fails if one is missing, moved, swapped or the end is cut off."""
    seen_last = False
    for i, blob in enumerate(chunks):
        if seen_last:
            raise crypto.DecryptionFailed("file: data after the last chunk")
        try:
            yield crypto.decrypt(key, blob, _place(case_uid, "file", file=file_uid, chunk=i,
                                                   last=False))
        except crypto.DecryptionFailed:
            yield crypto.decrypt(key, blob, _place(case_uid, "file", file=file_uid, chunk=i,
                                                   last=True))
            seen_last = True
    if not seen_last:
        raise crypto.DecryptionFailed("file: truncated")


def encrypt_file_meta(key: bytes, case_uid: str, file_uid: str, meta: dict[str, object]) -> bytes:
    """A file's name, type, size and cleaning report, encrypted under Kr."""
    return encrypt_entry(key, case_uid, file_uid, "file-meta", meta)


def decrypt_file_meta(key: bytes, case_uid: str, file_uid: str, blob: bytes) -> dict[str, object]:
    """Inverse of :func:`encrypt_file_meta`."""
    return decrypt_entry(key, case_uid, file_uid, "file-meta", blob)
