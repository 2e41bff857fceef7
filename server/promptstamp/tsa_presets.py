"""Named presets for well-known public TSAs: ``PROMPTSTAMP_TSA=digicert,globalsign``.

Each preset names the TSA's URL and ships the root its tokens chain to (``tsa_roots/``, copied from
Mozilla's root store as Debian's ca-certificates package carries it). The root is pinned by the
SHA-256 of its DER: a shipped file that differs from the pin (a bad package, an edited install) is a
configuration error, never a silently different trust anchor. ``publishes`` says what the TSA itself
publishes about its standing; whether a court accepts a time-stamp is for the court.

Only TSAs whose root we can name are here. Where a recorded real response is in the test assets,
the tests verify it against the shipped root; Sectigo has none (no public fixture with its data).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .certs import load_pem_certificates
from .errors import ConfigError, InvalidInput


@dataclass(frozen=True)
class TsaPreset:
    name: str
    url: str
    root_file: str  # under promptstamp/tsa_roots/
    root_sha256: str  # hex SHA-256 of the root's DER
    operator: str
    eidas_qualified: bool  # what the TSA publishes for this endpoint; False = not claimed
    publishes: str

    @property
    def root_path(self) -> Path:
        return Path(str(resources.files("promptstamp") / "tsa_roots" / self.root_file))


PRESETS: dict[str, TsaPreset] = {p.name: p for p in (
    TsaPreset(
        name="digicert", url="http://timestamp.digicert.com",
        root_file="digicert-trusted-root-g4.pem",
        root_sha256="552f7bdcf1a7af9e6ce672017f4f12abf77240c78e761ac203d1d9d20ac89988",
        operator="DigiCert, Inc. (United States)", eidas_qualified=False,
        publishes="Public TSA of a CA audited under WebTrust; not offered as an eIDAS qualified time-stamp service.",
    ),
    TsaPreset(
        name="globalsign", url="http://timestamp.globalsign.com/tsa/r6advanced1",
        root_file="globalsign-root-r3.pem",
        root_sha256="cbb522d7b7f127ad6a0113865bdf1cd4102e7d0759af635a7cf4720dc963c53b",
        operator="GMO GlobalSign", eidas_qualified=False,
        publishes="Public TSA of a CA audited under WebTrust and listed in Adobe's Approved Trust List (AATL); "
                  "this endpoint is not offered as an eIDAS qualified time-stamp service.",
    ),
    TsaPreset(
        name="identrust", url="http://timestamp.identrust.com",
        root_file="identrust-commercial-root-ca-1.pem",
        root_sha256="5d56499be4d2e08bcfcad08a3e38723d50503bde706948e42f55603019e528ae",
        operator="IdenTrust (United States)", eidas_qualified=False,
        publishes="Public TSA of a CA audited under WebTrust; not offered as an eIDAS qualified time-stamp service.",
    ),
    TsaPreset(
        name="sectigo", url="https://timestamp.sectigo.com",
        root_file="usertrust-rsa-ca.pem",
        root_sha256="e793c9b02fd8aa13e21c31228accb08119643b749c898964b1746d46c3d4cbd2",
        operator="Sectigo Limited (United Kingdom)", eidas_qualified=False,
        publishes="Public TSA of a CA audited under WebTrust (its time-stamping root is cross-signed by "
                  "USERTrust RSA); not offered as an eIDAS qualified time-stamp service.",
    ),
)}


def pinned_root(preset: TsaPreset) -> Path:
    """The preset's shipped root file, after checking that it is exactly the pinned certificate."""
    try:
        certs = load_pem_certificates(preset.root_path.read_bytes())
    except OSError as e:
        raise ConfigError(f"TSA preset {preset.name}: cannot read its root {preset.root_path}: "
                          f"{e.strerror or e}") from e
    except InvalidInput as e:
        raise ConfigError(f"TSA preset {preset.name}: root {preset.root_path}: {e.detail}") from e
    found = [hashlib.sha256(c).hexdigest() for c in certs]
    if found != [preset.root_sha256]:
        raise ConfigError(f"TSA preset {preset.name}: root {preset.root_path} is not the pinned certificate "
                          f"(expected SHA-256 {preset.root_sha256}, found {', '.join(found) or 'none'})")
    return preset.root_path
