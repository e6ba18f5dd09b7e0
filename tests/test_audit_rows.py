"""The streamed audit writes each certificate's JSON row from its fields (issue 17, CPU): the
line must be exactly the one ``json_line(certificate_row(...))`` makes, escaping included."""

from __future__ import annotations

import json

from cryptography import x509
from cryptography.x509.oid import NameOID
from hypothesis import given, settings
from hypothesis import strategies as st

from certgate.core.model import Certificate
from certgate.report.audit import certificate_line, certificate_row
from certgate.report.jsonout import json_line
from certgate.testing import PKI, KeyType


def _attribute(oid: x509.ObjectIdentifier, value: str) -> x509.NameAttribute[str]:
    return x509.NameAttribute(oid, value)


def _cn(value: str) -> x509.NameAttribute[str]:
    return _attribute(NameOID.COMMON_NAME, value)


def _certificates(pki: PKI) -> list[Certificate]:
    odd = 'Ünïcode \u202e\u0085 \x7f \u2028 "quoted" \\ back'
    root = pki.root(x509.Name([_cn("Zürich Root ✓"), _attribute(NameOID.ORGANIZATION_NAME, odd)]))
    return [
        root.certificate,
        root.intermediate("CN=Issuing CA 1", path_length=0).certificate,
        root.intermediate("CN=Issuing CA 2").certificate,
        root.client(x509.Name([_cn("alice \t\n"), _cn('"bob" \\')])).certificate,
        pki.root("CN=Negative", serial=-1).certificate,  # a parse issue
        pki.root("CN=EC root", key=KeyType.P256, hash="sha1").certificate,
    ]


def test_line_equals_the_row_for_varied_certificates(pki: PKI) -> None:
    for cert in _certificates(pki):
        for store in ("Root", "CA", "My", "Trust \u200e Store"):
            named = cert.with_origin(source=f"{store}.pem#PEM block 1", friendly_name="Zoë")
            for each in (cert, named):
                line = certificate_line(store, each)
                assert line == json_line(certificate_row(store, each))
                assert json.loads(line)["store"] == store


@settings(max_examples=60, deadline=None)
@given(source=st.text(max_size=20), friendly=st.none() | st.text(max_size=20), store=st.text())
def test_line_escapes_any_text_as_the_encoder_does(
    source: str, friendly: str | None, store: str
) -> None:
    cert = _CERT.with_origin(source=source, friendly_name=friendly)
    assert certificate_line(store, cert) == json_line(certificate_row(store, cert))


_CERT = PKI().root("CN=Hypothesis Root").certificate
