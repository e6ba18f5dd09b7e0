"""System.Net text traces (TextWriterTraceListener), docs/windows-model.md#system-net-traces.

A record is a ``{source} {type}: 0 : [{thread}] {message}`` line plus its continuation lines:
the multi-line X509Certificate2 dump after ``GetClientCertificate()``, ``\\t`` chain-status
lines, and indented ``DateTime=`` footers. Retail traces never contain HttpListener's
``ClientCertificateError``/``CertFlags`` (debug builds only), so the certificate error itself
has to come from the IIS log, the WCF trace or CAPI2.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from certgate.core.codes import CheckCode, hresult_name, kb_id
from certgate.core.events import LogEvent, excerpt
from certgate.logs._io import lines
from certgate.logs._registry import FileContext, log_format
from certgate.logs._xml import parse_time

__all__ = ["parse_sysnet"]

FORMAT = "sysnet"
_HEADER = re.compile(r"^(System\.Net[\w.]*) (\w+): (\d+) : \[(\d+)\] (.*)$")
_FOOTER = re.compile(r"^\s+(ProcessId|ThreadId|DateTime|Timestamp|Callstack)=(.*)$")
_MAX_CONTINUATION = 64
# .NET SecurityStatus names (RS Internal.cs) that mean a failed or incomplete handshake.
_SSPI_STATUS = {
    "CredentialsNeeded": "SEC_I_INCOMPLETE_CREDENTIALS",
    "IncompleteCredentials": "SEC_E_INCOMPLETE_CREDENTIALS",
    "WrongPrincipal": "SEC_E_WRONG_PRINCIPAL",
    "UntrustedRoot": "SEC_E_UNTRUSTED_ROOT",
    "IllegalMessage": "SEC_E_ILLEGAL_MESSAGE",
    "CertUnknown": "SEC_E_CERT_UNKNOWN",
    "CertExpired": "SEC_E_CERT_EXPIRED",
    "AlgorithmMismatch": "SEC_E_ALGORITHM_MISMATCH",
    "InternalError": "SEC_E_INTERNAL_ERROR",
    "NoCredentials": "SEC_E_NO_CREDENTIALS",
}
# Chain-status texts (X509ChainStatus.StatusInformation: the Windows message of the HRESULT,
# in the system's language) with one certain HRESULT. The localized CERT_E_UNTRUSTEDROOT texts
# follow Windows' own (de/fr/es/ja/zh-Hans/ru seen in public pastes; pt and ko [unconfirmed]).
_STATUS_TEXT = {
    "terminated in a root certificate which is not trusted": "CERT_E_UNTRUSTEDROOT",
    "Stammzertifikat, das beim Vertrauensanbieter nicht": "CERT_E_UNTRUSTEDROOT",
    "certificat racine qui n'est pas approuvé par le fournisseur": "CERT_E_UNTRUSTEDROOT",
    "certificado raíz que no es de confianza para el proveedor": "CERT_E_UNTRUSTEDROOT",
    "信頼プロバイダーが信頼していないルート証明書": "CERT_E_UNTRUSTEDROOT",
    "在不受信任提供程序信任的根证书中终止": "CERT_E_UNTRUSTEDROOT",
    "прервана на корневом сертификате": "CERT_E_UNTRUSTEDROOT",
    "certificado raiz que não é confiável pelo provedor": "CERT_E_UNTRUSTEDROOT",
    "신뢰 공급자가 신뢰하지 않는 루트 인증서": "CERT_E_UNTRUSTEDROOT",
    "could not be built to a trusted root authority": "CERT_E_CHAINING",
    "revocation server was offline": "CRYPT_E_REVOCATION_OFFLINE",
    "unable to check revocation for the certificate": "CRYPT_E_NO_REVOCATION_CHECK",
    "not within its validity period": "CERT_E_EXPIRED",
    "The certificate is revoked": "CRYPT_E_REVOKED",
    "not valid for the requested usage": "CERT_E_WRONG_USAGE",
}
# Names that are the same in every language: SslPolicyErrors and X509ChainStatusFlags members.
_DOTNET_NAMES = re.compile(
    r"\b(RemoteCertificateChainErrors|RemoteCertificateNameMismatch|"
    r"RemoteCertificateNotAvailable|PartialChain|UntrustedRoot|NotTimeValid|NotSignatureValid|"
    r"NotValidForUsage|RevocationStatusUnknown|OfflineRevocation)\b"
)
_HRESULT_HEX = re.compile(r"\b0x(8[0-9A-Fa-f]{7})\b")
# "SecureChannel#1234 - " then the message; a reason line is indented (a tab) after it.
_OBJECT_PREFIX = re.compile(r"^\w+#\d+ - ")
_SECURITY_CONTEXT = re.compile(r"SecurityContext\(.*=(\w+)\)\.?\s*$")
_NO_CERTIFICATE = kb_id("certgate", CheckCode.NO_CERTIFICATE.value)


@dataclass
class _Record:
    line: int
    source: str
    kind: str
    message: str
    continuation: list[str] = field(default_factory=list)
    when: str | None = None

    def add(self, text: str) -> None:
        footer = _FOOTER.match(text)
        if footer:
            if footer.group(1) == "DateTime":
                self.when = footer.group(2).strip()
        elif len(self.continuation) < _MAX_CONTINUATION:
            self.continuation.append(text)


def _detect(head: bytes) -> bool:
    text = head.decode("utf-8", errors="replace")
    return any(_HEADER.match(line) for line in text.splitlines()[:50])


@log_format(FORMAT, detect=_detect, priority=40)
def parse_sysnet(stream: BinaryIO, ctx: FileContext) -> Iterator[LogEvent]:
    """System.Net and System.Net.HttpListener text traces, in any language.

    GetClientCertificate() results (the client certificate's subject, issuer and thumbprint
    from the X509Certificate2 dump, or ``(null)``: none sent), SSPI handshake results other
    than OK/ContinueNeeded, "Left with 0 client certificates to choose from" (the client had
    no certificate matching the server's issuer list), and "Remote certificate has errors"
    with the chain-status lines that follow it. Localized traces are read by their structure
    (record layout, SecurityStatus / SslPolicyErrors / X509ChainStatusFlags names, HRESULTs)
    and the localized chain-status texts of CERT_E_UNTRUSTEDROOT.
    """
    record: _Record | None = None
    reader = lines(stream)
    for number, raw in enumerate(reader, start=1):
        text = raw.rstrip(b"\r\n").decode("utf-8", errors="replace")
        if "\x00" in text:
            ctx.skip(f"line {number}", "binary data (NUL bytes) skipped")
            continue
        header = _HEADER.match(text)
        if header is None:
            if record is not None:
                record.add(text)
            continue
        body = _OBJECT_PREFIX.sub("", header.group(5), count=1)
        if record is not None and body[:1] in ("\t", " ") and _is_errors_record(record):
            record.continuation.append(body.strip())  # a reason line of the record before
            continue
        if record is not None:
            yield from _event(record, ctx.path)
        record = _Record(number, header.group(1), header.group(2), header.group(5))
    if record is not None:
        yield from _event(record, ctx.path)


def _is_errors_record(record: _Record) -> bool:
    body = _OBJECT_PREFIX.sub("", record.message, count=1).rstrip()
    return "Remote certificate has errors" in body or (
        body.endswith(":") and record.source == "System.Net"
    )


def _status_codes(text: str) -> tuple[str, ...]:
    codes = [kb_id("hresult", name) for key, name in _STATUS_TEXT.items() if key in text]
    codes += [
        kb_id("hresult", name)
        for value in _HRESULT_HEX.findall(text)
        if (name := hresult_name(int(value, 16)))
    ]
    codes += [kb_id("dotnet", name) for name in _DOTNET_NAMES.findall(text)]
    return tuple(dict.fromkeys(codes))


def _event(record: _Record, path: str) -> Iterator[LogEvent]:
    message = record.message
    certificate: dict[str, str] = {}
    codes: tuple[str, ...]
    context = _SECURITY_CONTEXT.search(message)
    if "::GetClientCertificate()" in message and message.startswith("Exiting"):
        certificate = _certificate_dump(record)
        codes = () if certificate else (_NO_CERTIFICATE,)
        if not certificate and "(null)" not in message:
            return
    elif context and context.group(1) in _SSPI_STATUS:
        codes = (kb_id("hresult", _SSPI_STATUS[context.group(1)]),)
    elif "Left with 0 client certificates to choose from" in message:
        codes = (_NO_CERTIFICATE,)
    elif _is_errors_record(record) and record.continuation:
        details = " ".join(record.continuation)
        codes = _status_codes(details)
        message = f"{message} {details}"
        if not codes and "Remote certificate has errors" not in message:
            return
    elif "Remote certificate has errors" in message:
        codes = ()
    elif record.source == "System.Net" and (codes := _status_codes(message)):
        pass
    else:
        return
    yield LogEvent(
        source=path,
        format=FORMAT,
        time=parse_time(record.when),
        line=record.line,
        level=record.kind,
        subject=certificate.get("Subject"),
        issuer=certificate.get("Issuer"),
        thumbprint=certificate.get("Thumbprint"),
        message=excerpt(message),
        raw=excerpt(f"{record.source} {record.kind}: {message}"),
        codes=codes,
    )


def _certificate_dump(record: _Record) -> dict[str, str]:
    """The ``[Subject]``/``[Issuer]``/``[Thumbprint]`` sections of X509Certificate2.ToString()."""
    lines = [record.message.split("-> ", 1)[-1], *record.continuation]
    found: dict[str, str] = {}
    section = None
    for text in lines:
        stripped = text.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
        elif stripped and section and section not in found:
            found[section] = stripped
    return {key: found[key] for key in ("Subject", "Issuer", "Thumbprint") if key in found}
