"""The probe's pure parts: HTTP answers, CertificateRequest messages, verdicts, selection."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certgate.core.names import Name
from certgate.core.probe import (
    Alert,
    Attempt,
    Basis,
    CertificateRequest,
    Outcome,
    PageKind,
    ProbeCode,
    Requirement,
    Stage,
    TlsVersion,
    VersionResult,
    answer_complete,
    parse_answer,
    parse_certificate_request,
    path_requirement,
    path_result,
    probe_findings,
    selection,
)
from certgate.testing import PKI

# Laid out like IIS 10's detailed error page (docs/windows-model.md#iis-substatus).
_IIS_BODY = (
    b"<html><head><title>IIS 10.0 Detailed Error - 403.16 - Forbidden</title></head><body>"
    b'<div class="content-container"><h3>HTTP Error 403.16 - Forbidden</h3>'
    b"<h4>Your client certificate is either not trusted or is invalid.</h4></div>"
    b'<table><tr class="alt"><th>Error Code</th><td>&nbsp;&nbsp;&nbsp;0x800b0109</td></tr>'
    b"</table></body></html>"
)
IIS_403_16 = (
    b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/html\r\nServer: Microsoft-IIS/10.0\r\n"
    + f"Content-Length: {len(_IIS_BODY)}\r\n\r\n".encode()
    + _IIS_BODY
)
IIS_500_TLS13 = (
    b"HTTP/1.1 500 Internal Server Error\r\nServer: Microsoft-IIS/10.0\r\n\r\n"
    b"<h3>HTTP Error 500.0 - Internal Server Error</h3>"
    b"<tr><th>Error Code</th><td>&nbsp;0x80070032</td></tr>"
)
NGINX_496 = (
    b"HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\nContent-Length: 230\r\n\r\n"
    b"<html>\r\n<head><title>400 No required SSL certificate was sent</title></head>\r\n"
    b"<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n"
    b"<center>No required SSL certificate was sent</center>\r\n</body></html>"
)


def test_iis_detailed_page_gives_substatus_and_error_code() -> None:
    answer = parse_answer(IIS_403_16)
    assert answer is not None
    assert (answer.status, answer.substatus, answer.error_code) == (403, "403.16", 0x800B0109)
    assert answer.page is PageKind.IIS and answer.server == "Microsoft-IIS/10.0"
    assert answer.kb == ("iis:403.16", "hresult:CERT_E_UNTRUSTEDROOT")


def test_plain_iis_403_page_has_no_substatus() -> None:
    answer = parse_answer(
        b"HTTP/1.1 403 Forbidden\r\nServer: Microsoft-IIS/10.0\r\n\r\n"
        b"<h2>403 - Forbidden: Access is denied.</h2>"
    )
    assert answer is not None and answer.substatus is None and answer.page is None
    assert answer.kb == ()


def test_nginx_pages() -> None:
    answer = parse_answer(NGINX_496)
    assert answer is not None and answer.page is PageKind.NGINX_NO_CERT
    assert answer.kb == ("nginx:496",)
    error = parse_answer(
        NGINX_496.replace(b"No required SSL certificate was sent", b"The SSL certificate error")
    )
    assert error is not None and error.page is PageKind.NGINX_CERT_ERROR
    assert error.kb == ("nginx:495",)


def test_not_http_is_none() -> None:
    assert parse_answer(b"SSH-2.0-OpenSSH_9.2\r\n") is None
    assert parse_answer(b"") is None


def test_answer_complete() -> None:
    assert answer_complete(IIS_403_16[:-1]) is False
    assert answer_complete(IIS_403_16) is True
    assert (
        answer_complete(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n")
        is False
    )
    assert (
        answer_complete(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n") is True
    )
    assert answer_complete(b"HTTP/1.1 200 OK\r\n\r\nno length") is False  # read until close


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_fuzz_parse_answer_never_raises(data: bytes) -> None:
    answer = parse_answer(data)
    answer_complete(data)
    if answer is not None:
        assert 100 <= answer.status <= 999


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([IIS_403_16, NGINX_496, IIS_500_TLS13]))
def test_fuzz_parse_answer_on_mangled_pages(noise: bytes, page: bytes) -> None:
    cut = len(noise) % len(page)
    parse_answer(page[:cut] + noise + page[cut:])


# -- CertificateRequest messages -----------------------------------------------------------


def _vec(data: bytes, size: int) -> bytes:
    return len(data).to_bytes(size, "big") + data


def _names(ders: list[bytes]) -> bytes:
    return b"".join(_vec(d, 2) for d in ders)


def tls12_request(types: bytes, schemes: list[int], ders: list[bytes]) -> bytes:
    body = _vec(types, 1) + _vec(b"".join(s.to_bytes(2, "big") for s in schemes), 2)
    body += _vec(_names(ders), 2)
    return b"\x0d" + _vec(body, 3)


def tls13_request(schemes: list[int], ders: list[bytes], context: bytes = b"") -> bytes:
    sigalgs = _vec(b"".join(s.to_bytes(2, "big") for s in schemes), 2)
    extensions = b"\x00\x0d" + _vec(sigalgs, 2)
    if ders:
        extensions += b"\x00\x2f" + _vec(_vec(_names(ders), 2), 2)
    extensions += b"\x00\x32" + _vec(sigalgs, 2)  # signature_algorithms_cert: skipped
    return b"\x0d" + _vec(_vec(context, 1) + _vec(extensions, 2), 3)


def test_tls12_certificate_request(pki: PKI) -> None:
    root = pki.root("CN=Req Root")
    der = root.x509.subject.public_bytes()
    fields = parse_certificate_request(
        tls12_request(b"\x01\x40", [0x0804, 0x0401, 0xFEFE], [der]), tls13=False
    )
    assert fields.certificate_types == ("rsa_sign", "ecdsa_sign")
    assert fields.signature_algorithms == ("rsa_pss_rsae_sha256", "rsa_pkcs1_sha256", "0xfefe")
    assert fields.ca_names == (der,) and fields.ca_names_bytes == 2 + len(der)
    assert str(Name.from_der(fields.ca_names[0])) == "CN=Req Root"


def test_tls13_certificate_request(pki: PKI) -> None:
    ders = [pki.root(f"CN=Root {i}").x509.subject.public_bytes() for i in range(2)]
    fields = parse_certificate_request(tls13_request([0x0403], ders, b"ctx"), tls13=True)
    assert fields.ca_names == tuple(ders) and fields.certificate_types is None
    assert fields.signature_algorithms == ("ecdsa_secp256r1_sha256",)
    empty = parse_certificate_request(tls13_request([0x0807], []), tls13=True)
    assert empty.ca_names == () and empty.ca_names_bytes == 0


@pytest.mark.parametrize(
    "message",
    [
        b"",
        b"\x0b\x00\x00\x00",  # a Certificate message
        b"\x0d\x00\x00\x05\x00",  # length beyond the data
        tls12_request(b"\x01", [0x0401], [b"\x30\x00"]) + b"\x00",  # trailing byte
        b"\x0d\x00\x00\x04\x01\x01\x00\x01",  # odd signature list
    ],
)
def test_bad_certificate_requests_raise_value_error(message: bytes) -> None:
    with pytest.raises(ValueError):
        parse_certificate_request(message, tls13=False)


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=4),
    st.lists(st.integers(0, 0xFFFF), max_size=8),
    st.lists(st.binary(min_size=1, max_size=40), max_size=4),
    st.booleans(),
)
def test_fuzz_certificate_request_round_trip(
    types: bytes, schemes: list[int], ders: list[bytes], tls13: bool
) -> None:
    message = tls13_request(schemes, ders) if tls13 else tls12_request(types, schemes, ders)
    fields = parse_certificate_request(message, tls13=tls13)
    assert fields.ca_names == tuple(ders)
    assert len(fields.signature_algorithms) == len(schemes)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600), st.booleans())
def test_fuzz_certificate_request_only_value_error(data: bytes, tls13: bool) -> None:
    with contextlib.suppress(ValueError):
        parse_certificate_request(b"\x0d" + _vec(data, 3), tls13=tls13)


# -- verdicts ------------------------------------------------------------------------------

HANDSHAKE_REQUEST = CertificateRequest(Stage.HANDSHAKE)


def attempt(
    outcome: Outcome, *, asked: Stage | None = Stage.HANDSHAKE, done: bool = True, **kw: object
) -> Attempt:
    requests = (CertificateRequest(asked),) if asked else ()
    return Attempt("/", False, outcome, requests, handshake_completed=done, **kw)  # type: ignore[arg-type]


def test_classify_matrix() -> None:
    ok = parse_answer(b"HTTP/1.1 200 OK\r\n\r\n")
    forbidden = parse_answer(b"HTTP/1.1 403 Forbidden\r\n\r\n")
    nginx = parse_answer(NGINX_496)
    cases = [
        (attempt(Outcome.ANSWERED, asked=None, http=ok), Requirement.DISABLED, Basis.NOT_ASKED),
        (
            attempt(Outcome.ANSWERED, asked=None, http=forbidden),
            Requirement.DISABLED,
            Basis.NOT_ASKED,
        ),
        (attempt(Outcome.ANSWERED, http=ok), Requirement.OPTIONAL, Basis.ANSWERED),
        (attempt(Outcome.TIMEOUT), Requirement.OPTIONAL, Basis.NO_ANSWER),
        (attempt(Outcome.ALERT, alert=Alert(116)), Requirement.REQUIRED, Basis.TLS_ALERT),
        (
            attempt(Outcome.ALERT, done=False, alert=Alert(40)),
            Requirement.REQUIRED,
            Basis.TLS_ALERT,
        ),
        (attempt(Outcome.ANSWERED, http=nginx), Requirement.REQUIRED, Basis.ERROR_PAGE),
        (attempt(Outcome.ANSWERED, http=forbidden), Requirement.REQUIRED, Basis.HTTP_STATUS),
        (attempt(Outcome.CLOSED), Requirement.REQUIRED, Basis.CLOSED),
        (attempt(Outcome.TIMEOUT, asked=None, done=False), Requirement.UNKNOWN, Basis.UNREACHABLE),
        (attempt(Outcome.CLOSED, asked=None), Requirement.UNKNOWN, Basis.UNREACHABLE),
        (
            attempt(Outcome.CONNECT_FAILED, asked=None, done=False),
            Requirement.UNKNOWN,
            Basis.UNREACHABLE,
        ),
    ]
    for observed, requirement, basis in cases:
        assert path_requirement(observed)[:2] == (requirement, basis), observed


def test_iis_500_0_after_tls13_handshake_is_refusal_without_request() -> None:
    observed = attempt(Outcome.ANSWERED, asked=None, http=parse_answer(IIS_500_TLS13))
    result = path_result("/", observed)
    assert (result.requirement, result.stage) == (Requirement.REQUIRED, None)
    findings = probe_findings((VersionResult(TlsVersion.TLS1_3, True, (result,)),))
    assert [f.code for f in findings] == [ProbeCode.REFUSED_WITHOUT_REQUEST]
    assert findings[0].kb == (
        "iis:500.0",
        "hresult:ERROR_NOT_SUPPORTED",
        "certgate:probe-refused-without-request",
    )
    other_500 = attempt(
        Outcome.ANSWERED,
        asked=None,
        http=parse_answer(IIS_500_TLS13.replace(b"0x80070032", b"0x8007000d")),
    )
    assert (
        path_requirement(other_500)[0] is Requirement.DISABLED
    )  # a plain 500.0 is no certificate matter


def test_selection(pki: PKI) -> None:
    root = pki.root("CN=Sel Root")
    issuing = root.intermediate("CN=Sel Issuing")
    alice = issuing.client("alice")
    chain = [
        (Name.from_cryptography(c.x509.subject), Name.from_cryptography(c.x509.issuer))
        for c in (alice, issuing)
    ]
    by_root = CertificateRequest(Stage.HANDSHAKE, (Name.from_cryptography(root.x509.subject),))
    assert selection(chain, by_root).offered
    by_issuing = CertificateRequest(
        Stage.HANDSHAKE, (Name.from_der(issuing.x509.subject.public_bytes()),)
    )
    chosen = selection(chain, by_issuing)
    assert chosen.offered and [str(n) for n in chosen.matched] == ["CN=Sel Issuing"]
    stray = pki.root("CN=Elsewhere").intermediate("CN=Stray")
    wrong = CertificateRequest(Stage.HANDSHAKE, (Name.from_cryptography(stray.x509.subject),))
    assert not selection(chain, wrong).offered
    anything = selection(chain, CertificateRequest(Stage.HANDSHAKE, ()))
    assert anything.offered and anything.ca_names_empty
    leaf_only = selection(chain[:1], by_root)  # without --chain the root's name is unknown
    assert not leaf_only.offered


def test_certificate_refused_and_ca_list_limit_findings() -> None:
    big = CertificateRequest(Stage.HANDSHAKE, (), 20_000)
    without = Attempt("/", False, Outcome.ALERT, (big,), alert=Alert(116), handshake_completed=True)
    with_cert = Attempt("/", True, Outcome.ALERT, (big,), alert=Alert(48), handshake_completed=True)
    result = path_result("/", without, with_cert)
    assert result.certificate_refused is True
    version = VersionResult(TlsVersion.TLS1_3, True, (result,), handshake_request=big)
    found = {f.code: f for f in probe_findings((version,))}
    assert found[ProbeCode.CA_LIST_OVER_LIMIT].kb == ("certgate:probe-ca-list-over-limit",)
    assert found[ProbeCode.CERTIFICATE_REFUSED].kb == (
        "tls-alert:48",
        "certgate:probe-certificate-refused",
    )
    accepted = path_result(
        "/", without, attempt(Outcome.ANSWERED, http=parse_answer(b"HTTP/1.1 200 OK\r\n\r\n"))
    )
    assert accepted.certificate_refused is False
