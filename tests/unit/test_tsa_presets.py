"""TSA presets: shipped roots pinned by fingerprint, each preset's recorded real response verified
against its shipped root (the trust a TsaClient built from the preset uses), and mixing presets with
``[name=]URL[|CA]`` entries in PROMPTSTAMP_TSA."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from promptstamp import tsa_presets
from promptstamp.certs import certificate_subject, is_self_issued
from promptstamp.config import Settings, TsaConfig
from promptstamp.errors import ConfigError
from promptstamp.timestamping import TsaClient, load_trust
from promptstamp.tokens import verify_token

REAL = Path(__file__).resolve().parents[1] / "assets" / "real-tsa"

# preset -> the recorded real responses (token, stamped data) in assets/real-tsa that its root must verify
RECORDED = {
    "digicert": [("digicert-2025/response.tsr", "digicert-2025/data.txt")],
    "globalsign": [("globalsign-g4-2021/response.tsr", "globalsign-g4-2021/data.txt"),
                   ("globalsign-g4-2021/token.tst", "globalsign-g4-2021/data.txt")],
    "identrust": [("identrust-2025/response.tsr", "identrust-2025/data.txt"),
                  ("identrust-2025/hello-response.tsr", "identrust-2025/hello.txt")],
    "sectigo": [],  # no public fixture with Sectigo's data exists (see assets/real-tsa/README.md)
}


def test_every_preset_is_listed_with_its_recordings() -> None:
    assert set(tsa_presets.PRESETS) == set(RECORDED)


@pytest.mark.parametrize("name", sorted(tsa_presets.PRESETS))
def test_shipped_root_matches_its_pin_and_is_a_self_signed_root(name: str) -> None:
    preset = tsa_presets.PRESETS[name]
    roots, intermediates = load_trust(tsa_presets.pinned_root(preset))
    assert len(roots) == 1 and intermediates == [] and is_self_issued(roots[0])
    config = TsaConfig.parse(name)
    assert (config.name, config.url, config.ca_file) == (name, preset.url, preset.root_path)
    assert TsaClient(config).roots == tuple(roots)


@pytest.mark.parametrize(("name", "token", "data"),
                         [(n, t, d) for n, pairs in RECORDED.items() for t, d in pairs])
def test_recorded_response_verifies_against_the_shipped_root(name: str, token: str, data: str) -> None:
    roots, extra = load_trust(tsa_presets.pinned_root(tsa_presets.PRESETS[name]))
    verdict = verify_token((REAL / token).read_bytes(), data=(REAL / data).read_bytes(), roots=roots,
                           extra_certs=extra)
    assert verdict.root_subject == certificate_subject(roots[0]) and verdict.chain[-1] == roots[0]


def test_a_root_that_differs_from_its_pin_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    preset = tsa_presets.PRESETS["digicert"]
    monkeypatch.setitem(tsa_presets.PRESETS, "digicert", dataclasses.replace(preset, root_sha256="00" * 32))
    with pytest.raises(ConfigError, match="not the pinned certificate"):
        TsaConfig.parse("digicert")


def test_presets_mix_with_url_entries(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(tsa_presets.PRESETS["identrust"].root_path.read_bytes())
    settings = Settings.from_env({"PROMPTSTAMP_TSA": f"digicert,globalsign local=http://127.0.0.1:3180/tsa|{ca}"})
    assert [(t.name, t.url) for t in settings.tsas] == [
        ("digicert", "http://timestamp.digicert.com"),
        ("globalsign", "http://timestamp.globalsign.com/tsa/r6advanced1"),
        ("local", "http://127.0.0.1:3180/tsa"),
    ]
    assert settings.tsas[2].ca_file == ca


def test_an_unknown_preset_names_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="neither a preset \\(digicert, globalsign, identrust, sectigo\\)"):
        Settings.from_env({"PROMPTSTAMP_TSA": "digicret"})
