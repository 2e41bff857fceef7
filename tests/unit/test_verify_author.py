"""One author, one chain: the verifier names a chain that crosses sessions and a pairing for another account."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from bundle_sample import OpensslTsa, SampleSession, bundle_entries, rebuild_bundle, sample_session
from promptstamp import bundle, canonical, signing, tokens
from promptstamp.canonical import digest_of
from promptstamp.verdict import Trust
from promptstamp.verify import check_bundle


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> OpensslTsa:
    return OpensslTsa(tmp_path_factory.mktemp("tsa"), name="author-tsa")


def _trust(tsa: OpensslTsa, key: signing.SigningKeyPair) -> Trust:
    return Trust.build(tokens.load_pem_certificates(tsa.root_pem.encode()), [key.public.pem])


def _step(session_id: str, seq: int, prev: str | None, when: datetime, n: int) -> dict[str, object]:
    return {"v": 1, "id": f"01M9{n:022d}", "type": "prompt", "actor": "user", "text": f"step {n}",
            "session": {"site": "chatgpt", "id": session_id}, "seq": seq, "prev": prev,
            "captured_at": when.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "client": {"app": "tests/1"}}


def test_a_chain_that_continues_in_another_session_is_named(tsa: OpensslTsa) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    first = _step("s-1", 1, None, start, 1)
    second = _step("s-1", 2, digest_of(first), start + timedelta(seconds=5), 2)
    # another session whose second step claims to follow s-1's last step
    other = _step("s-2", 1, None, start + timedelta(seconds=7), 3)
    crossing = _step("s-2", 2, digest_of(second), start + timedelta(seconds=9), 4)
    made = sample_session(tsa.stamp, chains={tsa.name: tsa.chain_pem},
                          records_override=[first, second, other, crossing], rechain=False, start=start)
    out = io.BytesIO()
    bundle.write_bundle(made.evidence, out, stamp=tsa.stamp)
    report = check_bundle(out.getvalue(), _trust(tsa, made.key))
    assert report.exit_code == 1
    details = [f"{c.step}: {c.detail}" for c in report.failures]
    assert any(d.startswith("author: expected every record in session chatgpt/s-1") for d in details), details
    assert any("of another chain (chatgpt/s-1 device (no device)): the chain crosses sessions or devices" in d
               for d in details), details


def test_a_pairing_record_for_another_account_is_refused(tsa: OpensslTsa) -> None:
    made = sample_session(tsa.stamp, chains={tsa.name: tsa.chain_pem}, n_records=3)
    entries = bundle_entries(_bundle(made, tsa))
    # The same pairing, re-signed as if the service had received it for another account: its challenge still
    # names acct-sample, and the receipts of the session name acct-sample; the forger's receipt does not.
    name = next(n for n in entries if n.startswith("receipts/") and
                b'"type":"pairing"' in entries["records/" + n.split("/")[1]])
    value = canonical.parse_json(entries[name])
    assert isinstance(value, dict)
    value["account"] = "acct-mallory"
    unsigned = {k: v for k, v in value.items() if k != "sig"}
    value["sig"] = signing.b64(made.key.sign(canonical.canonicalize(unsigned)))
    entries[name] = canonical.canonicalize(value)
    report = check_bundle(rebuild_bundle(entries, tsa.stamp), _trust(tsa, made.key))
    assert report.exit_code == 1
    details = [f"{c.step}: {c.name}: {c.detail}" for c in report.failures]
    assert any("one account" in d and "acct-mallory" in d for d in details), details
    assert any("pairing record" in d and "expected the pairing to name account acct-mallory" in d
               for d in details), details


def _bundle(made: SampleSession, tsa: OpensslTsa) -> bytes:
    out = io.BytesIO()
    bundle.write_bundle(made.evidence, out, stamp=tsa.stamp)
    return out.getvalue()
