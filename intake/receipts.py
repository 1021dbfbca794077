"""Receipt codes (查询码): generation, normalisation, lookup and the reporter's key.

A receipt is 20 random decimal digits (66 bits), shown in groups of four. The database holds
only `HMAC(pepper, receipt)` for lookup, and the case content key boxed under
`argon2id(receipt, case salt)`; without the pepper (an instance secret) and the receipt,
neither opens anything.
"""

from __future__ import annotations

import re
import secrets
import unicodedata

from portal import crypto, state

DIGITS = 20
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―－_.·]")


def generate() -> str:
    """A new receipt: 20 digits from the OS CSPRNG."""
    return f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"


def grouped(receipt: str) -> str:
    """The receipt as shown: groups of four digits."""
    return " ".join(receipt[i:i + 4] for i in range(0, len(receipt), 4))


def normalize(text: str) -> str | None:
    """Typed input to the canonical 20 digits, or None when it cannot be a receipt.

    Accepts spaces, dashes and full-width digits from Chinese input methods.
    """
    folded = unicodedata.normalize("NFKC", text or "")
    cleaned = _SEPARATORS.sub("", folded)
    if len(cleaned) != DIGITS or not cleaned.isascii() or not cleaned.isdigit():
        return None
    return cleaned


def lookup(receipt: str) -> str:
    """The unique lookup value stored for a receipt: HMAC under the instance pepper."""
    pepper = state.secrets().receipt_pepper
    return crypto.mac(pepper, "portal/receipt", receipt).hex()


def reporter_key(receipt: str, salt: bytes) -> bytes:
    """The key that boxes the case content key for the reporter (argon2id, interactive cost)."""
    cfg = state.config()
    cost = crypto.KdfCost(cfg.receipt_kdf_time_cost, cfg.receipt_kdf_memory_kib)
    return crypto.argon2id(receipt.encode("ascii"), salt, cost)
