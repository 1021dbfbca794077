"""Crypto and evidence costs with the production parameters (portal/config.py defaults).

No targets: these are the figures an operator needs to choose parameters knowingly. Every
call goes through the portal's own seam (portal.crypto, intake.receipts, casework.content,
intake.evidence), in-process, one core, median of several runs:

* staff login KDF: one argon2id run over a passphrase (verifier and key-wrap key from it);
* receipt KDF: the reporter key, argon2id over the receipt (every filing and receipt check);
* seal / unseal of a case's keys to a queue key (libsodium sealed box, X25519);
* chunk encryption: XChaCha20-Poly1305 over the evidence chunk size (1 MiB), in MB/s;
* metadata stripping of a 12-megapixel JPEG (4000 x 3000, EXIF and GPS): intake.evidence.clean,
  which strips the segments and then fully decodes the result to prove it is an image.
"""

from __future__ import annotations

import io
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import Table
from portal import state

SECTION = "crypto"


def _median_ms(fn: Callable[[], Any], runs: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def photo_12mp() -> bytes:
    """A 4000 x 3000 JPEG that compresses like a phone photo (smooth areas plus sensor noise,
    about 4-6 MB at quality 90), with camera EXIF and GPS."""
    import random

    from PIL import Image

    rng = random.Random(12)  # noqa: S311 - test data
    small = Image.frombytes("RGB", (160, 120), rng.randbytes(160 * 120 * 3))
    base = small.resize((4000, 3000), Image.Resampling.BICUBIC)
    grain = Image.effect_noise((4000, 3000), 40).convert("RGB")
    image = Image.blend(base, grain, 0.25)
    info = Image.Exif()
    info[0x010F], info[0x0110] = "BenchPhone", "12 Pro"  # Make, Model
    info[0x0132] = "2026:03:01 10:00:00"  # DateTime
    gps = info.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (30.0, 15.0, 0.0), "E", (120.0, 10.0, 0.0)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=info.tobytes())
    return out.getvalue()


def run(table: Table, runs: int) -> None:
    """Time the crypto seam and the evidence cleaner at production parameters; add rows."""
    from argon2.low_level import Type, hash_secret_raw

    from application import create_app
    from casework import content
    from intake import evidence, receipts
    from portal import crypto
    from portal.config import Config, InstanceSecrets

    with tempfile.TemporaryDirectory() as tmp:
        InstanceSecrets.ensure(Path(tmp))
        cfg = Config(instance_path=Path(tmp), database_url=f"sqlite:///{tmp}/x.db")
        app = create_app(cfg)
        staff = crypto.KdfCost(cfg.staff_kdf_time_cost, cfg.staff_kdf_memory_kib)
        salt = crypto.random_bytes(16)
        ms = _median_ms(lambda: crypto.derive_passphrase_keys(
            "correct horse battery staple orbit", salt, staff), runs)
        table.add(SECTION, f"staff login KDF: argon2id t={staff.time_cost} "
                  f"m={staff.memory_kib // 1024} MiB p=1", f"{ms:.0f} ms")
        with app.app_context():
            receipt = receipts.generate()
            ms = _median_ms(lambda: receipts.reporter_key(receipt, salt), runs)
        table.add(SECTION, f"receipt KDF: argon2id t={cfg.receipt_kdf_time_cost} "
                  f"m={cfg.receipt_kdf_memory_kib // 1024} MiB p=1 (filing, receipt check)",
                  f"{ms:.0f} ms")
        reference = _median_ms(lambda: hash_secret_raw(
            secret=receipt.encode(), salt=salt, time_cost=cfg.receipt_kdf_time_cost,
            memory_cost=cfg.receipt_kdf_memory_kib, parallelism=1, hash_len=32,
            type=Type.ID), runs)
        table.add(SECTION, "receipt KDF, same output: libsodium (used) / argon2-cffi "
                  "(reference C)", f"{ms / reference:.2f} ({ms:.0f} / {reference:.0f} ms)")

        public, private = crypto.generate_keypair()
        keys = content.CaseKeys.generate()
        wrap = keys.seal_to(public)
        n = 200
        seal_us = _median_ms(lambda: [keys.seal_to(public) for _ in range(n)], 3) * 1000 / n
        unseal_us = _median_ms(lambda: [content.CaseKeys.unseal(private, wrap)
                                        for _ in range(n)], 3) * 1000 / n
        table.add(SECTION, "seal / unseal a case's keys to a queue key (X25519 sealed box)",
                  f"{seal_us:.0f} / {unseal_us:.0f} µs")

        key = crypto.random_bytes()
        data = crypto.random_bytes(20 * content.CHUNK_BYTES)
        enc_ms = _median_ms(lambda: content.encrypt_file(key, "c" * 32, "f" * 32, data), 3)
        chunks = content.encrypt_file(key, "c" * 32, "f" * 32, data)
        dec_ms = _median_ms(lambda: b"".join(content.decrypt_file(key, "c" * 32, "f" * 32,
                                                                  chunks)), 3)
        mb = len(data) / 1e6
        table.add(SECTION, f"evidence chunk encryption / decryption (XChaCha20-Poly1305, "
                  f"{content.CHUNK_BYTES // 1024} KiB chunks)",
                  f"{mb / enc_ms * 1000:.0f} / {mb / dec_ms * 1000:.0f} MB/s")

        photo = photo_12mp()
        strip_ms = _median_ms(lambda: evidence._strip_jpeg(photo), runs)
        clean_ms = _median_ms(lambda: evidence.clean(
            photo, max_bytes=cfg.max_file_bytes, max_pixels=cfg.max_image_pixels), runs)
        cleaned = evidence.clean(photo, max_bytes=cfg.max_file_bytes,
                                 max_pixels=cfg.max_image_pixels)
        table.add(SECTION, f"12-megapixel JPEG ({len(photo) / 1e6:.1f} MB): metadata removal "
                  f"({', '.join(cleaned.removed)}), then full decode check",
                  f"{clean_ms:.0f} ms (segment strip alone {strip_ms:.1f} ms)")
        state.engine(app).dispose()
