"""Check 11 of ``tokens.verify_token``: a certificate path from a token's signer to one of the given roots,
valid at genTime, and how that path stands at another moment (pyhanko-certvalidator, no fetching).

Only the given roots are anchors; embedded and supplied certificates are offered as intermediates, never
trusted. No revocation data is consulted here (OCSP responses archived with a batch are judged by
``verify.revocation``).
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime

from asn1crypto import x509
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, ValidationError
from pyhanko_certvalidator.path import ValidationPath

from .certs import name_rfc4514
from .lru import Lru
from .model import iso_utc


@dataclass(frozen=True)
class PathFound:
    """The path valid at genTime, signer first, and its standing at the moment asked about."""

    chain: tuple[bytes, ...]  # signer .. root, DER
    root_subject: str  # RFC 4514 subject of the anchor
    signer_is_root: bool  # the signer certificate is itself one of the given roots
    lapsed: tuple[str, ...]  # "leaf 'CN=..' expired 2026-01-17" for each certificate below the anchor not valid then
    expires: datetime | None  # the first notAfter below the anchor


class PathStops(Exception):
    """No path reaches a given root: where the chain stopped, for an ``UntrustedTokenRoot``."""

    def __init__(self, detail: str, chain: tuple[bytes, ...], stopped_at: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.chain = chain
        self.stopped_at = stopped_at


class PathInvalid(Exception):
    """A path reaches a root but is not valid at genTime (expired, not yet valid, a bad signature ...)."""


def find_path(signer: x509.Certificate, anchors: list[x509.Certificate], others: list[x509.Certificate],
              gen_time: datetime, at: datetime) -> PathFound:
    """The path from ``signer`` to one of ``anchors`` valid at ``gen_time``, judged again at ``at``.

    Raises ``PathStops`` when none reaches an anchor and ``PathInvalid`` when one does but is not valid then.
    """
    if signer.self_issued and all(a.dump() != signer.dump() for a in anchors):
        # a self-signed TSA certificate is its own anchor (pyhanko reports it as a path error)
        raise _stops(signer, anchors, others)
    try:
        path = _find_path(signer, anchors, others, gen_time)
    except PathBuildingError as e:
        raise _stops(signer, anchors, others) from e
    except ValidationError as e:
        raise PathInvalid(f"expected a certificate path valid at genTime {iso_utc(gen_time)}, "
                          f"found: {e.failure_msg}") from e
    certs = list(path.iter_certs(include_root=True))
    if certs and certs[0].dump() != signer.dump():
        certs.reverse()  # signer first
    # The path found at genTime, judged at ``at``: only validity periods change with time here (no
    # revocation data is consulted), so re-running path validation would add nothing but cost.
    below_anchor = list(path.iter_certs(include_root=False))
    return PathFound(
        chain=tuple(c.dump() for c in certs),
        root_subject=name_rfc4514(path.trust_anchor.authority.name),
        signer_is_root=path.pkix_len == 0,
        lapsed=tuple(_lapsed_at(below_anchor, signer, at)),
        expires=min((c["tbs_certificate"]["validity"]["not_after"].native for c in below_anchor), default=None),
    )


def _validate_path(
    signer: x509.Certificate, anchors: list[x509.Certificate], others: list[x509.Certificate], moment: datetime
) -> ValidationPath:
    # Only `anchors` are trusted; allow_fetching=False keeps verification offline (timestamping.md §8).
    context = ValidationContext(trust_roots=anchors, other_certs=others, moment=moment, allow_fetching=False)
    path: ValidationPath = asyncio.run(CertificateValidator(signer, validation_context=context).async_validate_path())
    return path


# Paths validated, by signer and certificate pools: a TSA signs thousands of tokens with one certificate,
# and validating its path (~3 ms) gives the same answer at any moment within every certificate's validity
# period, the one thing here that depends on time (no revocation data, no fetching). Outside that window
# the path is validated again, so a cached answer is never one pyhanko would not give.
_VALIDATED: Lru[tuple[bytes, bytes], tuple[ValidationPath, datetime, datetime]] = Lru(256)


def _find_path(
    signer: x509.Certificate, anchors: list[x509.Certificate], others: list[x509.Certificate], moment: datetime
) -> ValidationPath:
    pools = hashlib.sha256()
    for cert in anchors:
        pools.update(hashlib.sha256(cert.dump()).digest())
    pools.update(b"|")
    for cert in others:
        pools.update(hashlib.sha256(cert.dump()).digest())
    key = (signer.dump(), pools.digest())
    cached = _VALIDATED.peek(key)
    if cached is not None and cached[1] <= moment <= cached[2]:
        return cached[0]
    path = _build_path(signer, anchors, others, moment)
    periods = [c["tbs_certificate"]["validity"] for c in path.iter_certs(include_root=True)]
    _VALIDATED.put(key, (path, max(v["not_before"].native for v in periods),
                         min(v["not_after"].native for v in periods)))
    return path


def _build_path(
    signer: x509.Certificate, anchors: list[x509.Certificate], others: list[x509.Certificate], moment: datetime
) -> ValidationPath:
    """Validate with the anchors whose subject is byte-equal to an issuer in the pool first (a system bundle
    has ~150 roots and loading them all into pyhanko costs ~70 ms); fall back to all of them, so that a root
    whose name is merely encoded differently is still found."""
    issuers = {c.issuer.dump() for c in [signer, *others]}
    likely = [a for a in anchors if a.subject.dump() in issuers or a.dump() == signer.dump()]
    if likely and len(likely) < len(anchors):
        try:
            return _validate_path(signer, likely, others, moment)
        except PathBuildingError:
            pass
    return _validate_path(signer, anchors, others, moment)


def _lapsed_at(certs: list[x509.Certificate], signer: x509.Certificate, now: datetime) -> list[str]:
    """'leaf 'CN=..' expired 2026-01-17' for each non-anchor certificate of the path not valid ``now``."""
    out = []
    for cert in certs:
        validity = cert["tbs_certificate"]["validity"]
        not_before, not_after = validity["not_before"].native, validity["not_after"].native
        who = "leaf" if cert.dump() == signer.dump() else "CA"
        if not_after < now:
            out.append(f"{who} '{name_rfc4514(cert.subject)}' expired {not_after.date()}")
        elif not_before > now:
            out.append(f"{who} '{name_rfc4514(cert.subject)}' is not valid before {not_before.date()}")
    return out


def _stops(
    signer: x509.Certificate, anchors: list[x509.Certificate], others: list[x509.Certificate]
) -> PathStops:
    chain = [signer]
    while len(chain) < 16:
        cur = chain[-1]
        if cur.self_issued:
            stopped, why = name_rfc4514(cur.subject), "a self-signed certificate"
            break
        issuer = next((c for c in others if c.subject == cur.issuer and c not in chain and _aki_fits(cur, c)), None)
        if issuer is None:
            stopped, why = name_rfc4514(cur.issuer), "an issuer whose certificate was not supplied"
            break
        chain.append(issuer)
    else:
        stopped, why = name_rfc4514(chain[-1].issuer), "a chain too long to follow"
    if 0 < len(anchors) <= 3:
        given = "; ".join(f"'{name_rfc4514(a.subject)}'" for a in anchors)
        expected = f"a path to one of the given roots ({given})"
    elif anchors:
        expected = f"a path to one of the {len(anchors)} given roots"
    else:
        expected = "a path to a trusted root (none was given)"
    detail = (
        f"token is intact but untrusted: expected {expected}, found that the chain of "
        f"'{name_rfc4514(signer.subject)}' stops at '{stopped}', {why}"
    )
    return PathStops(detail, chain=tuple(c.dump() for c in chain), stopped_at=stopped)


def _aki_fits(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    aki, ski = cert.authority_key_identifier, issuer.key_identifier
    return aki is None or ski is None or aki == ski
