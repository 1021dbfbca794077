"""The crypto seam: bound ciphertexts, split passphrase keys, authenticated public keys."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal import crypto

CHEAP = crypto.KdfCost(time_cost=1, memory_kib=8)


def test_ciphertext_opens_only_in_its_place() -> None:
    key = crypto.random_bytes()
    blob = crypto.encrypt(key, b"secret", {"what": "field", "case": 1})
    assert crypto.decrypt(key, blob, {"what": "field", "case": 1}) == b"secret"
    with pytest.raises(crypto.DecryptionFailed):
        crypto.decrypt(key, blob, {"what": "field", "case": 2})
    with pytest.raises(crypto.DecryptionFailed):
        crypto.decrypt(crypto.random_bytes(), blob, {"what": "field", "case": 1})


@given(st.binary(max_size=200), st.integers(min_value=0, max_value=199))
@settings(max_examples=50)
def test_any_flipped_bit_is_detected(plaintext: bytes, position: int) -> None:
    key = crypto.random_bytes()
    blob = bytearray(crypto.encrypt(key, plaintext, {"what": "x"}))
    blob[position % len(blob)] ^= 0x01
    with pytest.raises(crypto.DecryptionFailed):
        crypto.decrypt(key, bytes(blob), {"what": "x"})


def test_same_plaintext_encrypts_differently() -> None:
    key = crypto.random_bytes()
    assert crypto.encrypt(key, b"a", {}) != crypto.encrypt(key, b"a", {})


def test_one_derivation_yields_two_unrelated_keys() -> None:
    salt = crypto.random_bytes(16)
    keys = crypto.derive_passphrase_keys("a long passphrase here", salt, CHEAP)
    again = crypto.derive_passphrase_keys("a long passphrase here", salt, CHEAP)
    other_salt = crypto.derive_passphrase_keys("a long passphrase here", bytes(16), CHEAP)
    assert keys == again
    assert keys.verifier != keys.wrap_key
    assert len(keys.verifier) == len(keys.wrap_key) == 32
    assert other_salt.verifier != keys.verifier


def test_sealed_box_opens_only_with_its_private_key() -> None:
    public, private = crypto.generate_keypair()
    _, other_private = crypto.generate_keypair()
    blob = crypto.seal(public, b"queue key")
    assert crypto.unseal(private, blob) == b"queue key"
    assert crypto.public_of(private) == public
    with pytest.raises(crypto.DecryptionFailed):
        crypto.unseal(other_private, blob)


def test_public_key_mac_refuses_a_swapped_key_or_owner() -> None:
    mac_key = crypto.random_bytes()
    public, _ = crypto.generate_keypair()
    attacker, _ = crypto.generate_keypair()
    tag = crypto.public_key_mac(mac_key, "staff:alice:0", public)
    assert crypto.check_public_key(mac_key, "staff:alice:0", public, tag) == public
    with pytest.raises(crypto.KeyIntegrityError):
        crypto.check_public_key(mac_key, "staff:alice:0", attacker, tag)
    with pytest.raises(crypto.KeyIntegrityError):
        crypto.check_public_key(mac_key, "staff:mallory:0", public, tag)
    with pytest.raises(crypto.KeyIntegrityError):
        crypto.check_public_key(mac_key, "staff:alice:0", public, None)


def test_mac_parts_cannot_be_shifted() -> None:
    key = crypto.random_bytes()
    assert crypto.mac(key, "ab", "c") != crypto.mac(key, "a", "bc")


def test_fingerprint_is_grouped_and_stable() -> None:
    public, _ = crypto.generate_keypair()
    fp = crypto.fingerprint(public)
    assert fp == crypto.fingerprint(public)
    assert len(fp.split(" ")) == 8
    assert all(len(g) == 4 for g in fp.split(" "))


def test_base64_round_trip_and_rejects_garbage() -> None:
    data = crypto.random_bytes(64)
    assert crypto.unb64(crypto.b64(data)) == data
    with pytest.raises(ValueError, match="malformed"):
        crypto.unb64("not*base64")


@pytest.mark.parametrize(("time_cost", "memory_kib"), [(1, 8), (2, 64), (3, 1024), (2, 65536)])
def test_argon2id_equals_the_reference_implementation(time_cost: int, memory_kib: int) -> None:
    """libsodium's argon2id gives argon2-cffi's (the reference C code) output, so every stored
    verifier, receipt box and backup made before the switch still opens."""
    from argon2.low_level import Type, hash_secret_raw

    secret, salt = b"0123 4567 8901 2345 6789", bytes(range(16))
    reference = hash_secret_raw(secret=secret, salt=salt, time_cost=time_cost,
                                memory_cost=memory_kib, parallelism=1, hash_len=32,
                                type=Type.ID)
    assert crypto.argon2id(secret, salt, crypto.KdfCost(time_cost, memory_kib)) == reference
    assert crypto.argon2id(secret, salt[::-1], crypto.KdfCost(time_cost, memory_kib)) != reference
