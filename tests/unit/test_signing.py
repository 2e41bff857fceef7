import subprocess
from pathlib import Path

import pytest

from promptstamp.errors import InvalidInput, VerificationError
from promptstamp.signing import PublicKey, SigningKeyPair, key_id, public_key_from_pem

# RFC 8032 §7.1 TEST 2: secret key, message 0x72 and its signature.
SEED = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
SIG = ("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
       "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00")


def test_rfc_8032_test_2_signature() -> None:
    key = SigningKeyPair(SEED)
    assert key.sign(bytes([0x72])).hex() == SIG
    key.public.verify(bytes([0x72]), bytes.fromhex(SIG))


def test_key_id_hashes_the_raw_public_key() -> None:
    key = SigningKeyPair(SEED)
    assert key.id == key_id(key.public.raw) and len(key.id) == 16


def test_tampered_message_fails_with_key_id() -> None:
    key = SigningKeyPair.generate()
    sig = key.sign(b"receipt")
    with pytest.raises(VerificationError, match=key.id):
        key.public.verify(b"receipt!", sig)


def test_spki_pem_round_trips_and_openssl_verifies(tmp_path: Path) -> None:
    key = SigningKeyPair.generate()
    assert public_key_from_pem(key.public.pem) == key.public.raw
    (tmp_path / "key.pem").write_text(key.public.pem)
    (tmp_path / "msg").write_bytes(b"the receipt bytes")
    (tmp_path / "sig").write_bytes(key.sign(b"the receipt bytes"))
    out = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "key.pem"),
                          "-rawin", "-in", str(tmp_path / "msg"), "-sigfile", str(tmp_path / "sig")],
                         capture_output=True, text=True)
    assert "Signature Verified Successfully" in out.stdout, out.stderr


def test_non_ed25519_pem_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="PEM"):
        public_key_from_pem("not a pem")
    with pytest.raises(InvalidInput, match="not base64"):
        public_key_from_pem("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\u00e9\n-----END PUBLIC KEY-----\n")
    with pytest.raises(InvalidInput, match="32 bytes"):
        PublicKey(b"short")
