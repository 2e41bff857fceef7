"""What is publicly known about a time-stamp authority's standing, from a small table.

Matched on the token signer's subject (RFC 4514 text), which the token carries; "unknown" otherwise.
The table says only what the TSAs and their audit schemes publish about themselves, never that a
court will accept them: the report states the standing, the reader weighs it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..devtsa import LABEL as DEV_TSA_LABEL
from ..devtsa import POLICY_OID as DEV_TSA_POLICY

# ETSI EN 319 421 §5.2: the baseline time-stamp policy (BTSP) OID; a qualified TSA under eIDAS issues
# under it, but so may any TSA that claims to follow the standard.
ETSI_BTSP_OID = "0.4.0.2023.1.1"


@dataclass(frozen=True)
class Standing:
    key: str  # 'development' | 'known' | 'unknown'
    en: str
    zh: str


_KNOWN: tuple[tuple[str, Standing], ...] = (
    ("DigiCert", Standing(
        "known",
        "DigiCert, Inc. (United States): commercial TSA of a publicly trusted CA audited under WebTrust; "
        "not an EU qualified time-stamp service.",
        "DigiCert, Inc.（美国）：经 WebTrust 审计的公共信任证书机构所运营的商业时间戳服务；不是欧盟合格时间戳服务。")),
    ("GlobalSign", Standing(
        "known",
        "GlobalSign (GMO GlobalSign): commercial TSA of a publicly trusted CA audited under WebTrust and "
        "listed in Adobe's Approved Trust List (AATL).",
        "GlobalSign（GMO GlobalSign）：经 WebTrust 审计、列入 Adobe 认可信任列表（AATL）的"
        "公共信任证书机构所运营的商业时间戳服务。")),
    ("Sectigo", Standing(
        "known",
        "Sectigo Limited (United Kingdom): commercial TSA of a publicly trusted CA audited under WebTrust.",
        "Sectigo Limited（英国）：经 WebTrust 审计的公共信任证书机构所运营的商业时间戳服务。")),
    ("TrustID", Standing(
        "known",
        "IdenTrust (United States): commercial TSA of a publicly trusted CA audited under WebTrust.",
        "IdenTrust（美国）：经 WebTrust 审计的公共信任证书机构所运营的商业时间戳服务。")),
    ("freetsa.org", Standing(
        "known",
        "FreeTSA.org: a free TSA run privately; it publishes no audit and is not a qualified or accredited TSA.",
        "FreeTSA.org：个人运营的免费时间戳服务；未公布审计，不是合格或经认可的时间戳机构。")),
    ("UniTrust", Standing(
        "known",
        "United Trust Time-Stamp Service Center (China), whose time source is the National Time Service "
        "Center of the Chinese Academy of Sciences.",
        "联合信任时间戳服务中心（中国），其时间源为中国科学院国家授时中心。")),
)

_DEV = Standing("development",
                "DEVELOPMENT TSA built into the service for testing: its time-stamps prove nothing to anyone else.",
                "服务内置、仅供测试的开发用时间戳机构：其时间戳对任何第三方均无证明力。")
_UNKNOWN = Standing("unknown",
                    "Unknown: not in PromptStamp's table of known TSAs; check what the TSA itself publishes.",
                    "未知：不在 PromptStamp 已知时间戳机构表中，请查阅该机构自己的公开信息。")


def standing(signer_subject: str | None, tsa_name: str | None, policy: str = "") -> Standing:
    names = " ".join(n for n in (signer_subject, tsa_name) if n)
    if DEV_TSA_LABEL in names or policy == DEV_TSA_POLICY:
        return _DEV
    for needle, found in _KNOWN:
        if needle.casefold() in names.casefold():
            return found
    return _UNKNOWN


def claims_etsi_policy(policy: str) -> bool:
    """The token names the ETSI baseline policy: a claim by the TSA, which the EU trusted list confirms or not."""
    return policy == ETSI_BTSP_OID
