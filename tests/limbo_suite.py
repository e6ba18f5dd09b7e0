"""x509-limbo through certgate's engines, next to cryptography's verifier.

The cases are the pinned subset in ``tests/data/limbo/cases.json.gz`` (``tools/limbo_extract.py``
made it from limbo's ``limbo.json``; the source commit is in the file): every CLIENT case, every
SERVER case whose outcome does not hinge on a host-name check, and the CRL cases.

How a case runs, in every engine: the leaf is the client's certificate, limbo's untrusted
intermediates are the chain it sends, limbo's trusted certificates are the Root store; the purpose
is the case's (CLIENT = clientAuth, SERVER = serverAuth); the time is the case's validation time
(limbo's certificates without one are valid from 1970 to 2970: judged at ``DEFAULT_AT``); the
CRLs are given with revocation required (``--crl ... --require-revocation``; limbo's OpenSSL
harness sets ``CRL_CHECK_ALL``). Certificates and CRLs are read the way ``certgate verify``
reads files. The openssl engine runs with ``partial_chain`` (limbo's OpenSSL harness sets
``X509_V_FLAG_PARTIAL_CHAIN``); cryptography's verifier runs as pyca/cryptography's own limbo
test does (server verifier with the peer name, client verifier otherwise; no CRL support).

``python tests/limbo_suite.py`` prints the agreement table docs/conformance.md records.
"""

from __future__ import annotations

import gzip
import ipaddress
import json
import sys
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.x509 import verification

from certgate.core.checks import Purpose
from certgate.core.engines import VerifyRequest, verify
from certgate.core.paths import Budget
from certgate.core.stores import ROOT, Machine, Store
from certgate.errors import InputError
from certgate.formats import Loaded, load_bytes

DATA = Path(__file__).parent / "data" / "limbo" / "cases.json.gz"
DEFAULT_AT = datetime(2026, 6, 29, tzinfo=UTC)  # the pinned limbo commit's date
ENGINES = ("rfc5280", "windows", "openssl")
REFERENCE = "cryptography"  # pyca/cryptography's verifier, for comparison
COLUMNS = (*ENGINES, REFERENCE)

# Cases not run at all, per engine ("*": every certgate engine), with the reason. (The two
# name-constraint crashes once listed here are verdicts since issue 13.)
SKIPS: dict[str, dict[str, str]] = {"*": {}}

# Cases run whose verdict knowingly differs from limbo's expected result, with the reason.
# test_limbo.py fails when one of these starts agreeing (drop it here) or another one differs.
_CA_LEAF = (
    "a CA certificate (cA=TRUE) as the client certificate is refused by design, as "
    "cryptography's verifier does; RFC 5280 itself allows it"
)
_CN = (
    "CA/Browser Forum server-certificate rule (the CN must repeat a SAN entry); a client "
    "certificate's CN names its user or device and is not matched against the SAN"
)
_CABF_EKU = (
    "CA/Browser Forum EKU rule (BR 7.1.2); RFC 5280 §4.2.1.12 allows it (absent EKU means any "
    "purpose; critical EKU and anyExtendedKeyUsage are permitted)"
)
_PUBLIC_SUFFIX = (
    "wildcards on public suffixes matter for host-name matching, which certgate does not do "
    "for client certificates (cryptography's verifier skips these too)"
)
_CABF_KEY = (
    "key algorithm and size limits are CA/Browser Forum policy (BR 6.1.5, 7.1.3.1), not RFC "
    "5280 rules (weak signature hashes are refused)"
)
_CABF_AKI = (
    "CA/Browser Forum AKI rule (BR 7.1.2.11.1); RFC 5280 §4.2.1.1 allows authorityCertIssuer "
    "and authorityCertSerialNumber, and lets a self-signed certificate's AKI be anything"
)
_CN_CASES = (
    "ipv4-hex-mismatch",
    "ipv4-leading-zeros-mismatch",
    "ipv6-uppercase-mismatch",
    "ipv6-uncompressed-mismatch",
    "ipv6-non-rfc5952-mismatch",
    "punycode-not-in-san",
    "utf8-vs-punycode-mismatch",
    "not-in-san",
    "case-mismatch",
)
_EKU_CASES = ("ee-anyeku", "ee-critical-eku", "ee-without-eku", "root-has-eku")
_PUBLIC_SUFFIX_CASES = (
    "wildcard-san",
    "multi-label-wildcard-san",
    "private-namespace-wildcard-san",
)
_KEY_CASES = (
    "p192-root",
    "p192-leaf",
    "dsa-root",
    "dsa-leaf",
    "weak-rsa-key-in-root",
    "weak-rsa-in-leaf",
    "rsa-not-divisible-by-8-in-root",
    "rsa-key-not-divisible-by-8-in-leaf",
)
_STRICT: dict[str, str] = {
    "pathlen::validation-ignores-pathlen-in-leaf": _CA_LEAF,
    "rfc5280::ca-as-leaf": _CA_LEAF,
    "rfc5280::aki::cross-signed-root-missing-aki": (
        "the trust anchor is input to path validation (RFC 5280 §6.1.1 d): its own AKI is not "
        "required; limbo's cve::cve-2024-0567 expects that (limbo marks this one pedantic)"
    ),
    "rfc5280::nc::permitted-dns-match-noncritical": (
        "a non-critical nameConstraints is tolerated, as CA/Browser Forum rules and "
        "cryptography's verifier allow; it conflicts with webpki::nc::permitted-dns-match-"
        "noncritical, which expects acceptance"
    ),
    "rfc5280::san::underscore-dns": (
        "dNSName syntax is checked only where a name constraint applies to it: certgate "
        "matches no host name against a client certificate's SAN"
    ),
    "rfc5280::root-non-critical-basic-constraints": (
        "NIST PKITS 4.6.4 (Valid basicConstraints Not Critical Test4) expects acceptance: path "
        "validation (RFC 5280 §6.1.4 k) checks only that cA is set"
    ),
    "webpki::aki::root-with-aki-all-fields": _CABF_AKI,
    "webpki::aki::root-with-aki-ski-mismatch": _CABF_AKI,
    "webpki::san::san-critical-with-nonempty-subject": (
        "RFC 5280 §4.2.1.6 says a SAN beside a non-empty subject SHOULD (not MUST) be non-critical"
    ),
    **{f"webpki::cn::{name}": _CN for name in _CN_CASES},
    **{f"webpki::eku::{name}": _CABF_EKU for name in _EKU_CASES},
    **{f"webpki::san::public-suffix-{name}": _PUBLIC_SUFFIX for name in _PUBLIC_SUFFIX_CASES},
    **{f"webpki::forbidden-{name}": _CABF_KEY for name in _KEY_CASES},
}
# The windows engine models what CryptoAPI + HTTP.sys do, not what limbo prescribes. Each
# reason names the Windows behaviour and its confidence ([confirmed]/[secondary]/[inferred]).
_NO_TRUST_BIT = (
    "CryptoAPI has no CERT_TRUST_* error status for this profile rule (CERT_TRUST_STATUS on "
    "learn.microsoft.com lists them all), so the chain is accepted [inferred]"
)
_WIN_SELF_SIGNED_ROOT = (
    "with ClientAuthTrustMode 0, CryptoAPI trusts a chain only when it ends at a self-signed "
    "root in Root; limbo's trust anchor here is not self-signed (KB 2802568) [confirmed]"
)
_WIN_CRL = (
    "CryptoAPI's CRL checks (signature, issuer, time, critical extensions) do not include the "
    "CRL number, so the CRL is used [inferred]"
)
_WIN_CA_LEAF = (
    "Schannel/HTTP.sys client authentication runs CryptoAPI's chain policy, which does not "
    "refuse an end-entity certificate with cA=TRUE or keyCertSign [inferred]"
)
_WIN_HOST = (
    "a host-name (server-certificate) rule: HTTP.sys checks no host name or CN for a client "
    "certificate [confirmed: CERT_E_CN_NO_MATCH belongs to the SSL server policy]"
)
_WIN_CABF = (
    "a CA/Browser Forum rule, not one CryptoAPI's chain policy applies to client "
    "certificates [inferred]"
)
_PROFILE_CASES = (
    "rfc5280::aki::critical-aki",
    "rfc5280::aki::leaf-missing-aki",
    "rfc5280::aki::intermediate-missing-aki",
    "rfc5280::pc::ica-noncritical-pc",
    "rfc5280::san::noncritical-with-empty-subject",
    "rfc5280::san::underscore-dns",
    "rfc5280::ski::critical-ski",
    "rfc5280::ski::root-missing-ski",
    "rfc5280::ski::intermediate-missing-ski",
    "rfc5280::ee-critical-aia-invalid",
    "webpki::aki::root-with-aki-missing-keyidentifier",
    "webpki::aki::root-with-aki-all-fields",
    "webpki::aki::root-with-aki-ski-mismatch",
    "webpki::san::san-critical-with-nonempty-subject",
)
_WINDOWS: dict[str, str] = {
    "crl::crlnumber-missing": _WIN_CRL,
    "crl::crlnumber-critical": _WIN_CRL,
    "cve::cve-2024-0567": _WIN_SELF_SIGNED_ROOT,
    "rfc5280::root-and-intermediate-swapped": _WIN_SELF_SIGNED_ROOT,
    "rfc5280::nc::permitted-dns-match-noncritical": (
        "CryptoAPI applies name constraints whether or not the extension is critical [inferred]"
    ),
    "rfc5280::nc::not-allowed-in-ee-noncritical": (
        "CryptoAPI reads name constraints only from CA certificates and ignores them in an "
        "end entity [inferred]"
    ),
    "rfc5280::nc::not-allowed-in-ee-critical": (
        "nameConstraints is an extension CryptoAPI recognises, so a critical one in an end "
        "entity is not an unknown critical extension; it is ignored there [inferred]"
    ),
    "rfc5280::root-missing-basic-constraints": (
        "CryptoAPI accepts a self-signed root without basicConstraints in Root as a CA "
        "(v1 roots are common in Windows stores) [secondary]"
    ),
    "rfc5280::root-non-critical-basic-constraints": (
        "CryptoAPI does not require basicConstraints to be critical (as NIST PKITS 4.6.4) "
        "[inferred]"
    ),
    "rfc5280::leaf-ku-keycertsign": _WIN_CA_LEAF,
    "webpki::ee-basicconstraints-ca": _WIN_CA_LEAF,
    "webpki::ca-as-leaf": _WIN_CA_LEAF,
    "webpki::v1-cert": "CryptoAPI accepts v1 end-entity certificates [secondary]",
    "webpki::forbidden-weak-rsa-key-in-root": (
        "Windows' weak-key policy blocks RSA keys under 1024 bits by default (Microsoft "
        "security advisory 2661254); this root's key is 1024 bits [secondary]"
    ),
    "webpki::explicit-curve": (
        "whether CNG loads an EC key with explicit curve parameters is not established; the "
        "model verifies the signature and accepts [inferred]"
    ),
    **dict.fromkeys(_PROFILE_CASES, _NO_TRUST_BIT),
    **{f"webpki::cn::{name}": _WIN_HOST for name in _CN_CASES},
    **{f"webpki::san::public-suffix-{name}": _WIN_HOST for name in _PUBLIC_SUFFIX_CASES},
    **{f"webpki::eku::{name}": _WIN_CABF for name in _EKU_CASES},
    **{
        f"webpki::forbidden-{name}": _WIN_CABF
        for name in _KEY_CASES
        if name != "weak-rsa-key-in-root"
    },
}
DIFFERENT: dict[str, dict[str, str]] = {"rfc5280": _STRICT, "windows": _WINDOWS}


@dataclass(frozen=True)
class Case:
    id: str
    kind: str  # CLIENT or SERVER
    expected: bool  # True = limbo expects SUCCESS
    features: tuple[str, ...]
    importance: str
    raw: Any  # the pinned case, as limbo wrote it

    @property
    def category(self) -> str:
        parts = self.id.split("::")
        return "::".join(parts[:2]) if len(parts) > 2 else parts[0]

    @property
    def at(self) -> datetime:
        when = self.raw["validation_time"]
        return DEFAULT_AT if when is None else datetime.fromisoformat(when)


@dataclass(frozen=True)
class Outcome:
    case: Case
    engine: str
    skipped: str  # reason, empty when run
    accepted: bool = False
    code: str = ""
    message: str = ""

    @property
    def agrees(self) -> bool:
        return not self.skipped and self.accepted == self.case.expected

    @property
    def crashed(self) -> bool:
        """An exception escaped (exit 3 in ``certgate verify``), or an engine failed closed."""
        return not self.skipped and (
            self.code == "crash" or self.message.startswith("internal error in the")
        )


@cache
def pinned() -> dict[str, Any]:
    with gzip.open(DATA, "rt", encoding="utf-8") as text:
        data: dict[str, Any] = json.load(text)
    return data


@cache
def cases() -> tuple[Case, ...]:
    return tuple(
        Case(
            raw["id"],
            raw["validation_kind"],
            raw["expected_result"] == "SUCCESS",
            tuple(raw["features"] or ()),
            raw["importance"],
            raw,
        )
        for raw in pinned()["testcases"]
    )


def _load(pems: Iterable[str], what: str) -> Loaded:
    loaded = Loaded()
    for number, pem in enumerate(pems):
        loaded += load_bytes(pem.encode(), f"{what}[{number}]")
    return loaded


def request_for(case: Case) -> VerifyRequest:
    """The request ``certgate verify`` builds for this case (``InputError``: unreadable input)."""
    raw = case.raw
    leaf = _load([raw["peer_certificate"]], "peer_certificate").certificates[0]
    chain = _load(raw["untrusted_intermediates"], "untrusted_intermediates").certificates
    roots = _load(raw["trusted_certs"], "trusted_certs").certificates
    crls = _load(raw["crls"], "crls").crls
    depth = raw["max_chain_depth"]
    return VerifyRequest(
        leaf,
        chain,
        Machine((Store(ROOT, roots),)),
        Purpose.CLIENT if case.kind == "CLIENT" else Purpose.SERVER,
        case.at,
        crls,
        partial_chain=True,
        require_revocation=bool(crls),
        budget=Budget() if depth is None else Budget(max_intermediates=depth),
    )


def skip_reason(case: Case, engine: str) -> str:
    return SKIPS["*"].get(case.id) or SKIPS.get(engine, {}).get(case.id, "")


def run_case(case: Case, engine: str, *, skips: bool = True) -> Outcome:
    """``skips=False`` runs a case the skip list names (to see whether it still must be)."""
    reason = skip_reason(case, engine) if skips else ""
    if reason:
        return Outcome(case, engine, reason)
    if engine == REFERENCE:
        return _reference(case)
    try:
        request = request_for(case)
        verdict = verify(request, [engine])[engine]
    except InputError as exc:  # certgate verify: exit 2, nothing accepted
        return Outcome(case, engine, "", False, "input-error", exc.diagnostics())
    except Exception as exc:  # certgate verify: "internal error", exit 3
        return Outcome(case, engine, "", False, "crash", f"{type(exc).__name__}: {exc}")
    return Outcome(case, engine, "", verdict.accepted, verdict.code, verdict.message)


def _reference(case: Case) -> Outcome:
    raw = case.raw
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            leaf = x509.load_pem_x509_certificate(raw["peer_certificate"].encode())
            chain = [
                x509.load_pem_x509_certificate(p.encode()) for p in raw["untrusted_intermediates"]
            ]
            roots = [x509.load_pem_x509_certificate(p.encode()) for p in raw["trusted_certs"]]
        builder = verification.PolicyBuilder().store(verification.Store(roots)).time(case.at)
        if raw["max_chain_depth"] is not None:
            builder = builder.max_chain_depth(raw["max_chain_depth"])
        if case.kind == "CLIENT" or raw["expected_peer_name"] is None:
            builder.build_client_verifier().verify(leaf, chain)
        else:
            builder.build_server_verifier(_peer(raw["expected_peer_name"])).verify(leaf, chain)
    except Exception as exc:  # a refusal at any step (parse, policy, verify) is a reject
        return Outcome(case, REFERENCE, "", False, type(exc).__name__, str(exc))
    return Outcome(case, REFERENCE, "", True, "OK")


def _peer(peer: dict[str, str]) -> x509.DNSName | x509.IPAddress:
    if peer["kind"] == "IP":
        return x509.IPAddress(ipaddress.ip_address(peer["value"]))
    return x509.DNSName(peer["value"])


def run_all(engines: Iterable[str] = COLUMNS) -> list[Outcome]:
    return [run_case(case, engine) for case in cases() for engine in engines]


def disagreements(outcomes: Iterable[Outcome], engine: str) -> dict[str, Outcome]:
    return {o.case.id: o for o in outcomes if o.engine == engine and not o.skipped and not o.agrees}


def table(outcomes: list[Outcome]) -> str:
    lines = [
        "| Category | Cases | " + " | ".join(f"{e} agree / run" for e in COLUMNS) + " |",
        "|---|---|" + "---|" * len(COLUMNS),
    ]
    categories = sorted({o.case.category for o in outcomes})
    for category in [*categories, ""]:
        rows = [o for o in outcomes if category in ("", o.case.category)]
        cells = []
        for engine in COLUMNS:
            ran = [o for o in rows if o.engine == engine and not o.skipped]
            cells.append(f"{sum(o.agrees for o in ran)} / {len(ran)}")
        name = f"`{category}`" if category else "**all**"
        total = len({o.case.id for o in rows})
        lines.append(f"| {name} | {total} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _listing(title: str, rows: dict[str, str], expected: bool = True) -> list[str]:
    by_id = {c.id: c for c in cases()}
    head = "| Case | limbo expects | Reason |" if expected else "| Case | Reason |"
    lines = [title, "", head, "|---|---|---|" if expected else "|---|---|"]
    for case_id, reason in sorted(rows.items()):
        verdict = "accept" if by_id[case_id].expected else "reject"
        lines.append(
            f"| `{case_id}` | {verdict} | {reason} |" if expected else f"| `{case_id}` | {reason} |"
        )
    return [*lines, ""]


def render(outcomes: list[Outcome]) -> str:
    """The generated part of docs/conformance.md (``tools/limbo_conformance.py`` writes it)."""
    source = pinned()["source"]
    lines = [
        f"Pinned data: x509-limbo commit `{source['commit']}`, {len(cases())} cases pinned, "
        f"{len(pinned()['excluded'])} left out (their outcome hinges on a host-name check).",
        "",
        table(outcomes),
        "",
    ]
    for engine in ENGINES:
        skipped = {**SKIPS["*"], **SKIPS.get(engine, {})}
        if engine in DIFFERENT:
            lines += _listing(f"### `{engine}`: knowingly different", DIFFERENT[engine])
        if skipped:
            lines += _listing(f"### `{engine}`: not run", skipped, expected=False)
    return "\n".join(lines)


if __name__ == "__main__":
    results = run_all()
    print(render(results))
    for engine in COLUMNS:
        for o in disagreements(results, engine).values():
            print(
                f"DISAGREE {engine} {o.case.id} expected={o.case.expected} got {o.code}: "
                f"{o.message[:150]}",
                file=sys.stderr,
            )
