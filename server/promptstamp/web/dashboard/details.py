"""A record's page: the record, its receipt and signature, the Merkle proof, and each token decoded.

The page re-checks what it can with the service's own anchors (receipt signature, proof walk, each
token against the configured TSA roots) and says so; the independent check is the verify page or
``promptstamp verify`` with anchors the reader obtained themselves.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ... import tokens
from ...canonical import digest_bytes
from ...errors import PromptStampError
from ...merkle import root_from_proof
from ...model import Receipt, Record, iso_utc
from ..context import services


@dataclass(frozen=True)
class Cert:
    subject: str
    sha256: str
    self_issued: bool


@dataclass(frozen=True)
class TokenDetails:
    tsa: str
    untrusted: bool
    gen_time: str
    serial: str
    policy: str
    accuracy: str
    tsa_name: str
    signer: str
    imprint: str
    nonce: str
    embedded: tuple[Cert, ...]
    chain: tuple[Cert, ...]
    check: str  # what checking against the configured roots found
    check_ok: bool
    size: int


def _certs(ders: list[bytes] | tuple[bytes, ...]) -> tuple[Cert, ...]:
    out = []
    for der in ders:
        try:
            subject = tokens.certificate_subject(der)
            self_issued = tokens.is_self_issued(der)
        except PromptStampError as e:
            subject, self_issued = f"(unreadable certificate: {e.detail})", False
        out.append(Cert(subject, hashlib.sha256(der).hexdigest(), self_issued))
    return tuple(out)


def _configured_roots(tsa: str) -> list[bytes]:
    for t in services().settings.tsas:
        if t.name == tsa and t.ca_file is not None:
            try:
                return tokens.load_pem_certificates(t.ca_file.read_bytes())
            except (OSError, PromptStampError):
                return []
    return []


def _token(tsa: str, der: bytes, untrusted: bool, chain_pem: str, root: bytes) -> TokenDetails:
    info = tokens.token_info(der)
    chain = tokens.load_pem_certificates(chain_pem) if chain_pem else []
    roots = _configured_roots(tsa)
    if not roots:
        check, ok = "No root certificate is configured for this TSA here, so its chain was not checked.", False
    else:
        try:
            verdict = tokens.verify_token(der, digest=root, roots=roots, extra_certs=chain)
            check, ok = f"Verifies over the batch root, chaining to '{verdict.root_subject}'.", True
        except PromptStampError as e:
            check, ok = f"Does not verify against the configured root: {e.detail}", False
    if untrusted:
        check += " This is the built-in development TSA: its root is this service's own and proves nothing " \
                 "to anyone else."
    return TokenDetails(
        tsa=tsa, untrusted=untrusted, gen_time=iso_utc(info.gen_time),
        serial=str(info.serial), policy=info.policy, accuracy=info.accuracy or "(not stated)",
        tsa_name=info.tsa_name or "(not named in the token)", signer=info.signer_subject or "(not embedded)",
        imprint=f"{info.imprint_algorithm}:{info.imprint.hex()}",
        nonce=str(info.nonce) if info.nonce is not None else "(none)",
        embedded=_certs(info.certificates), chain=_certs(chain), check=check, check_ok=ok, size=len(der))


def _receipt_check(receipt: Receipt) -> tuple[str, bool]:
    try:
        key = services().keyring.public_key(receipt.key)
        key.verify(receipt.signed_bytes(), base64.b64decode(receipt.sig, validate=True))
    except (PromptStampError, ValueError) as e:
        return f"The signature does not verify: {getattr(e, 'detail', e)}", False
    return f"The signature verifies with service key {receipt.key}.", True


def _proof_check(record: Record, receipt: Receipt) -> tuple[str, bool]:
    try:
        computed = root_from_proof(record.digest_raw, receipt.batch.index, receipt.batch.size,
                                   [bytes.fromhex(p) for p in receipt.batch.proof])
    except PromptStampError as e:
        return f"The proof does not fit: {e.detail}", False
    if computed != digest_bytes(receipt.batch.root):
        return f"The proof leads to sha256:{computed.hex()}, not to the batch root.", False
    return (f"Walking the {len(receipt.batch.proof)} proof node(s) from this record's leaf leads to the batch "
            "root.", True)


def record_details(account: str, record_id: str) -> dict[str, Any]:
    ledger = services().ledger
    view = ledger.record_view(account, record_id)
    record = Record.from_json(view["record"])
    out: dict[str, Any] = {
        "record": record, "record_json": json.dumps(view["record"], indent=2, ensure_ascii=False, sort_keys=True),
        "status": view["status"], "receipt": None, "tokens": [], "archive_timestamps": [],
        "session": record.value["session"],
    }
    if view["receipt"] is None:
        return out
    receipt = Receipt.from_json(view["receipt"])
    out["receipt"] = receipt
    out["receipt_json"] = json.dumps(view["receipt"], indent=2, ensure_ascii=False, sort_keys=True)
    out["receipt_check"] = _receipt_check(receipt)
    out["proof_check"] = _proof_check(record, receipt)
    root = digest_bytes(receipt.batch.root)
    details = []
    for t in ledger.batch_tokens(account, receipt.batch.id):
        try:
            details.append(_token(t.tsa, t.token, t.untrusted, t.chain, root))
        except PromptStampError as e:
            details.append(TokenDetails(
                tsa=t.tsa, untrusted=t.untrusted, gen_time="", serial="", policy="", accuracy="", tsa_name="",
                signer="", imprint="", nonce="", embedded=(), chain=(), check=f"Unreadable token: {e.detail}",
                check_ok=False, size=len(t.token)))
    out["tokens"] = details
    out["archive_timestamps"] = ledger.archive_timestamps(account, receipt.batch.id)
    return out
