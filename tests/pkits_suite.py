"""NIST PKITS through the rfc5280 and openssl engines (data from ``cryptography_vectors``).

Each test is the end-entity file ``[In]Valid<Name>Test<N>EE.crt``; its path is discovered the
way PKITS intends (a directory of every CA certificate, looked up by name), anchored at the
Trust Anchor, with every PKITS CRL available and revocation required. Expected outcomes come
from the file name. ``python tests/pkits_suite.py`` prints the agreement table that
docs/pkits.md records.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from cryptography import x509

from certgate.core.engines import VerifyRequest, verify
from certgate.core.model import Certificate
from certgate.core.stores import CA, ROOT, Machine, Store

AT = datetime(2015, 1, 1, tzinfo=UTC)
ENGINES = ("rfc5280", "openssl")

# (section, title, pattern on the test name), first match wins.
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("4.16", "Private Certificate Extensions", r"CertificateExtension"),
    ("4.15", "Delta-CRLs", r"deltaCRL"),
    (
        "4.14",
        "Distribution Points",
        r"[dD]istributionPoint|onlyContains|onlySomeReasons|IDPwithindirectCRL|cRLIssuer",
    ),
    ("4.13", "Name Constraints", r"nameConstraints"),
    ("4.12", "Inhibit Any Policy", r"inhibitAnyPolicy"),
    ("4.11", "Inhibit Policy Mapping", r"inhibitPolicyMapping"),
    ("4.10", "Policy Mappings", r"PolicyMapping|MappingFromanyPolicy|MappingToanyPolicy"),
    ("4.9", "Require Explicit Policy", r"requireExplicitPolicy"),
    ("4.8", "Certificate Policies", r"Polic|UserNotice|CPSPointer"),
    ("4.7", "Key Usage", r"keyUsage"),
    ("4.6", "Basic Constraints", r"basicConstraints|cAFalse|pathLenConstraint"),
    ("4.5", "Self-Issued Certificates", r"BasicSelfIssued"),
    (
        "4.4",
        "Basic Certificate Revocation",
        r"CRL|Revoked|SerialNumber|SeparateCertificateandCRLKeys",
    ),
    ("4.3", "Name Chaining", r"NameChaining|NameUIDs|AttributeTypes|UTF8String|Rollover"),
    ("4.2", "Validity Periods", r"notBefore|notAfter"),
    ("4.1", "Signature Verification", r"Signature|CertificatePath|DSAParameter"),
)

# Whole sections outside certgate's model, for both engines.
SECTION_SKIPS = {
    "4.8": "certificate policy processing (RFC 5280 §6.1.3 d-f) is not modeled; Schannel client "
    "authentication and cryptography's verifier do not apply it either",
    "4.9": "policy processing not modeled (see 4.8)",
    "4.10": "policy processing not modeled (see 4.8)",
    "4.11": "policy processing not modeled (see 4.8)",
    "4.12": "policy processing not modeled (see 4.8)",
    "4.14": "CRL distribution-point scoping, indirect CRLs and cRLIssuer are not modeled: certgate "
    "uses only direct, full-scope CRLs",
    "4.15": "delta CRLs are not used (certgate treats them as unusable, fail-closed)",
}
# Single cases, per engine, with the reason.
_SEPARATE_KEY = "CRLs signed by a separate CRL-signing certificate of the same CA are not used"
_OTHER_PATH = "the revoking CRL is signed by another key of the CA, validated through another path"
_EXTENDED = "needs X509_V_FLAG_EXTENDED_CRL_SUPPORT, which the sslclient defaults do not set"
_TARGET_CA = "the target is a CA certificate (cA=TRUE): refused as a client certificate by design"
CASE_SKIPS: dict[str, dict[str, str]] = {
    "rfc5280": {
        "ValidSeparateCertificateandCRLKeysTest19": _SEPARATE_KEY,
        "InvalidSeparateCertificateandCRLKeysTest20": _SEPARATE_KEY + " (rejected, wrong reason)",
        "InvalidSeparateCertificateandCRLKeysTest21": _SEPARATE_KEY + " (rejected, wrong reason)",
        "InvalidBasicSelfIssuedCRLSigningKeyTest7": _OTHER_PATH + ": not modeled (false accept)",
        "InvalidBasicSelfIssuedCRLSigningKeyTest8": _OTHER_PATH + " (rejected, wrong reason)",
        "InvalidBasicSelfIssuedNewWithOldTest5": _OTHER_PATH + ": not modeled (false accept)",
        "ValidDSAParameterInheritanceTest5": "DSA parameter inheritance is not supported by "
        "cryptography's key loading",
        "ValidDSASignaturesTest4": "signed dsa-with-SHA1: SHA-1 is refused by design "
        "(cryptography's verifier semantics)",
        "ValidpathLenConstraintTest8": _TARGET_CA,
        "ValidpathLenConstraintTest14": _TARGET_CA,
    },
    "openssl": {
        "ValidBasicSelfIssuedCRLSigningKeyTest6": _EXTENDED,
        "ValidBasicSelfIssuedNewWithOldTest4": _EXTENDED,
        "ValidSeparateCertificateandCRLKeysTest19": _EXTENDED,
        "ValidDSAParameterInheritanceTest5": "OpenSSL 3 no longer supports DSA parameter "
        "inheritance",
    },
}


@dataclass(frozen=True)
class Case:
    name: str
    section: str
    expected: bool  # True = PKITS says valid


@dataclass(frozen=True)
class Outcome:
    case: Case
    engine: str
    skipped: str  # reason, empty when run
    accepted: bool = False
    code: str = ""

    @property
    def agrees(self) -> bool:
        return not self.skipped and self.accepted == self.case.expected


def data_dir() -> Path:
    import cryptography_vectors

    return Path(cryptography_vectors.__file__).parent / "x509" / "PKITS_data"


def section_of(name: str) -> str:
    for number, _, pattern in SECTIONS:
        if re.search(pattern, name):
            return number
    raise ValueError(f"no PKITS section for {name}")


def cases() -> list[Case]:
    out = []
    for path in sorted((data_dir() / "certs").glob("*EE.crt")):
        name = path.stem.removesuffix("EE")
        expected = name.startswith("Valid")
        out.append(
            Case(
                name, section_of(name), expected if name.startswith(("Valid", "Invalid")) else False
            )
        )
    return out


@cache
def _material() -> tuple[
    Certificate, tuple[Certificate, ...], tuple[x509.CertificateRevocationList, ...]
]:
    folder = data_dir()
    anchor = Certificate.from_der(
        (folder / "certs" / "TrustAnchorRootCertificate.crt").read_bytes()
    )
    cas = tuple(
        Certificate.from_der(p.read_bytes(), source=p.name)
        for p in sorted((folder / "certs").glob("*.crt"))
        if not p.stem.endswith("EE") and p.stem != "TrustAnchorRootCertificate"
    )
    crls = tuple(
        x509.load_der_x509_crl(p.read_bytes()) for p in sorted((folder / "crls").glob("*.crl"))
    )
    return anchor, cas, crls


def skip_reason(case: Case, engine: str) -> str:
    if not case.name.startswith(("Valid", "Invalid")):
        return "outcome depends on the user-initial-policy-set (policy test without a fixed answer)"
    return SECTION_SKIPS.get(case.section) or CASE_SKIPS[engine].get(case.name, "")


def run_case(case: Case, engine: str) -> Outcome:
    reason = skip_reason(case, engine)
    if reason:
        return Outcome(case, engine, reason)
    anchor, cas, crls = _material()
    leaf = Certificate.from_der((data_dir() / "certs" / f"{case.name}EE.crt").read_bytes())
    machine = Machine((Store(ROOT, (anchor,)), Store(CA, cas)))
    request = VerifyRequest(leaf, (), machine, at=AT, crls=crls, require_revocation=True)
    verdict = verify(request, [engine])[engine]
    return Outcome(case, engine, "", verdict.accepted, verdict.code)


def run_all() -> list[Outcome]:
    return [run_case(case, engine) for case in cases() for engine in ENGINES]


def table(outcomes: list[Outcome]) -> str:
    titles = {number: title for number, title, _ in SECTIONS}
    lines = [
        "| Section | Tests | " + " | ".join(f"{e} agree / run (skipped)" for e in ENGINES) + " |",
        "|---|---|" + "---|" * len(ENGINES),
    ]
    for number in sorted(titles, key=lambda s: tuple(int(p) for p in s.split("."))):
        rows = [o for o in outcomes if o.case.section == number]
        total = len({o.case.name for o in rows})
        cells = []
        for engine in ENGINES:
            mine = [o for o in rows if o.engine == engine]
            ran = [o for o in mine if not o.skipped]
            cells.append(f"{sum(o.agrees for o in ran)} / {len(ran)} ({len(mine) - len(ran)})")
        lines.append(f"| {number} {titles[number]} | {total} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def skips(outcomes: list[Outcome]) -> str:
    lines = ["| Engine | Test | Reason |", "|---|---|---|"]
    lines += [
        f"| {o.engine} | {o.case.name} | {o.skipped} |"
        for o in outcomes
        if o.skipped
        and o.case.section not in SECTION_SKIPS
        and o.case.name.startswith(("Valid", "Invalid"))
    ]
    return "\n".join(lines)


def disagreements(outcomes: list[Outcome]) -> list[Outcome]:
    return [o for o in outcomes if not o.skipped and not o.agrees]


if __name__ == "__main__":
    results = run_all()
    print(table(results))
    print()
    print(skips(results))
    for o in disagreements(results):
        print(
            f"DISAGREE {o.engine} {o.case.name} expected valid={o.case.expected} got {o.code}",
            file=sys.stderr,
        )
