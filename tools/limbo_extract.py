"""Pin certgate's subset of x509-limbo: ``tests/data/limbo/cases.json.gz`` from a ``limbo.json``.

x509-limbo (https://github.com/C2SP/x509-limbo, Apache-2.0) ships its suite as one generated
``limbo.json`` (``limbo compile``). CI has no network, so the test suite reads a pinned copy of
the cases certgate can judge: every CLIENT case, every SERVER case whose outcome does not hinge
on a host-name check, and every CRL case. Kept per case: id, features, importance, validation
kind, certificates, CRLs, validation time, constraints and the expected result; the prose
descriptions and private keys are dropped. Every case left out is listed with the reason.

    .venv/bin/python tools/limbo_extract.py path/to/limbo.json --commit <limbo commit>

A SERVER case depends on the host-name check when its leaf does not match the expected peer
name under strict RFC 6125 matching (exact DNS name, a ``*`` that is the whole left-most label,
or an equal IP address): then the host-name check alone decides, and certgate, which judges
client certificates, has no host name to check. Exceptions (``DECIDED_ELSEWHERE``): the
name-constraint cases and ``webpki::v1-cert``, whose expected failure limbo ties to the name
constraints or the version, both of which certgate judges.
"""

from __future__ import annotations

import argparse
import gzip
import ipaddress
import json
import sys
import warnings
from pathlib import Path
from typing import Any

from cryptography import x509

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "limbo" / "cases.json.gz"
REPOSITORY = "https://github.com/C2SP/x509-limbo"
KEPT = (
    "id",
    "conflicts_with",
    "features",
    "importance",
    "validation_kind",
    "trusted_certs",
    "untrusted_intermediates",
    "peer_certificate",
    "validation_time",
    "signature_algorithms",
    "key_usage",
    "extended_key_usage",
    "expected_result",
    "expected_peer_name",
    "expected_peer_names",
    "max_chain_depth",
    "crls",
)
HOST_NAME = "host-name check: the leaf does not match the expected peer name {name!r}"
# Cases whose leaf does not match the peer name but whose outcome limbo ties to something
# certgate judges: the name constraints (on the subject and SAN), or the certificate version.
DECIDED_ELSEWHERE = ("rfc5280::nc::", "pathological::nc-dos-", "webpki::v1-cert")
BETTERTLS = "bettertls suite: SERVER cases judged by host name and name constraints on it"


def _dns_matches(pattern: str, name: str) -> bool:
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern == name:
        return True
    head, _, rest = pattern.partition(".")
    if head != "*" or "*" in rest or not rest:
        return False
    first, _, name_rest = name.partition(".")
    return bool(first) and name_rest == rest


def _leaf_matches(pem: str, peer: dict[str, str]) -> bool:
    """Whether the host-name check passes; True when the leaf's extensions are unreadable, as
    the case then tests the malformed certificate, which certgate judges."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cert = x509.load_pem_x509_certificate(pem.encode())
            extensions = cert.extensions
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType):
        return True
    try:
        san = extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    if peer["kind"] == "IP":
        wanted = ipaddress.ip_address(peer["value"])
        return wanted in san.get_values_for_type(x509.IPAddress)
    if peer["kind"] == "DNS":
        return any(_dns_matches(d, peer["value"]) for d in san.get_values_for_type(x509.DNSName))
    return False


def exclusion(case: dict[str, Any]) -> str:
    """Why a case is not pinned; empty when it is."""
    if case["id"].startswith("bettertls::"):
        return BETTERTLS
    if case["validation_kind"] == "CLIENT" or case["crls"]:
        return ""
    if case["id"].startswith(DECIDED_ELSEWHERE):
        return ""
    peer = case["expected_peer_name"]
    if peer is None or _leaf_matches(case["peer_certificate"], peer):
        return ""
    return HOST_NAME.format(name=peer["value"])


def extract(limbo: dict[str, Any], commit: str) -> dict[str, Any]:
    kept, excluded = [], []
    for case in limbo["testcases"]:
        reason = exclusion(case)
        if reason:
            excluded.append({"id": case["id"], "reason": reason})
        else:
            kept.append({key: case[key] for key in KEPT})
    return {
        "source": {"repository": REPOSITORY, "commit": commit, "licence": "Apache-2.0"},
        "limbo_version": limbo["version"],
        "testcases": kept,
        "excluded": excluded,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("limbo_json", type=Path)
    parser.add_argument("--commit", required=True, help="the x509-limbo commit it was built from")
    parser.add_argument("-o", "--output", type=Path, default=OUT)
    args = parser.parse_args(argv)
    pinned = extract(json.loads(args.limbo_json.read_text(encoding="utf-8")), args.commit)
    text = json.dumps(pinned, indent=1, sort_keys=True).encode()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        out.write(text)
    print(
        f"{args.output}: {len(pinned['testcases'])} cases pinned, "
        f"{len(pinned['excluded'])} excluded",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
