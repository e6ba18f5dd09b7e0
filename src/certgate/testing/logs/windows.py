"""Windows events as ``wevtutil qe /f:xml`` prints them (docs/windows-model.md#capi2,
#schannel-events)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from certgate.testing.logs._common import (
    CAPI2_CHANNEL,
    CAPI2_GUID,
    EVENT_NS,
    SCHANNEL_GUID,
    dotnet_time,
)


def windows_event(
    when: datetime,
    *,
    provider: str,
    event_id: int,
    channel: str,
    level: int = 2,
    guid: str | None = None,
    data: Sequence[tuple[str, str]] = (),
    user_data: str = "",
    computer: str = "web01.contoso.test",
    record_id: int = 1,
    message: str | None = None,
) -> str:
    """One ``<Event>`` as ``wevtutil qe /f:xml`` prints it (single-quoted attributes)."""
    guid_attr = f" Guid='{guid}'" if guid else ""
    body = (
        "<EventData>"
        + "".join(f"<Data Name='{name}'>{escape(value)}</Data>" for name, value in data)
        + "</EventData>"
        if data
        else user_data
    )
    rendering = (
        f"<RenderingInfo Culture='en-US'><Message>{escape(message)}</Message></RenderingInfo>"
        if message
        else ""
    )
    return (
        f"<Event xmlns='{EVENT_NS}'><System><Provider Name='{provider}'{guid_attr}/>"
        f"<EventID>{event_id}</EventID><Version>0</Version><Level>{level}</Level><Task>0</Task>"
        "<Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords>"
        f"<TimeCreated SystemTime='{dotnet_time(when)}'/><EventRecordID>{record_id}</EventRecordID>"
        "<Correlation/><Execution ProcessID='704' ThreadID='1220'/>"
        f"<Channel>{channel}</Channel><Computer>{computer}</Computer>"
        f"<Security UserID='S-1-5-18'/></System>{body}{rendering}</Event>"
    )


def schannel_event(
    when: datetime,
    event_id: int,
    *,
    alert: int | None = None,
    state: int | None = None,
    record_id: int = 1,
) -> str:
    """Schannel System-log event; 36887/36888 carry ``AlertDesc`` (and ``ErrorState``)."""
    data: list[tuple[str, str]] = []
    if alert is not None:
        data.append(("AlertDesc", str(alert)))
    if state is not None:
        data.append(("ErrorState", str(state)))
    return windows_event(
        when,
        provider="Schannel",
        guid=SCHANNEL_GUID,
        event_id=event_id,
        channel="System",
        data=data,
        record_id=record_id,
    )


def capi2_chain_event(
    when: datetime,
    *,
    subject: str = "client01",
    thumbprint: str = "A909502DD82AE41433E6F83886B00D4277A32A7B",
    result: int = 0x800B0109,
    error_status: int = 0x20,
    record_id: int = 1,
    channel: str = CAPI2_CHANNEL,
    level: int = 2,
    usage: Sequence[str] = (),
    revocation: int | None = None,
    process: str = "lsass.exe",
) -> str:
    """CAPI2 event 11 (Build Chain) with one element's TrustStatus and the Result; ``usage``
    is the requested ExtendedKeyUsage (OIDs), ``revocation`` the element's RevocationResult.
    The layout follows the CAPI2 XML in Microsoft's "Office TLS certificate changes" and
    Teams root-distrust articles (public learn.microsoft.com pages)."""
    bits = " CERT_TRUST_IS_UNTRUSTED_ROOT='true'" if error_status & 0x20 else ""
    bits += " CERT_TRUST_REVOCATION_STATUS_UNKNOWN='true'" if error_status & 0x40 else ""
    bits += " CERT_TRUST_IS_OFFLINE_REVOCATION='true'" if error_status & 0x1000000 else ""
    text = _RESULT_TEXT.get(result, "")
    eku = (
        "<ExtendedKeyUsage orMatch='true'>"
        + "".join(f"<Usage oid='{oid}'/>" for oid in usage)
        + "</ExtendedKeyUsage>"
        if usage
        else ""
    )
    revocation_xml = (
        f"<RevocationInfo freshnessTime='PT0S'><RevocationResult value='{revocation:X}'/>"
        "</RevocationInfo>"
        if revocation is not None
        else ""
    )
    user_data = (
        "<UserData><CertGetCertificateChain xmlns='http://schemas.microsoft.com/win/2004/08/"
        f"events'><Certificate fileRef='{thumbprint}.cer' subjectName={quoteattr(subject)}/>"
        f"{eku}<Flags value='A0000000'/><ChainEngineInfo context='machine'/>"
        "<CertificateChain chainRef='{7A2E3F00-1111-2222-3333-444455556666}'><ChainElement>"
        f"<Certificate fileRef='{thumbprint}.cer' subjectName={quoteattr(subject)}/><TrustStatus>"
        f"<ErrorStatus value='{error_status:X}'{bits}/><InfoStatus value='0'/></TrustStatus>"
        f"{revocation_xml}</ChainElement></CertificateChain>"
        f"<EventAuxInfo ProcessName={quoteattr(process)}/>"
        f"<Result value='{result:X}'>{escape(text)}</Result></CertGetCertificateChain></UserData>"
    )
    return windows_event(
        when,
        provider="Microsoft-Windows-CAPI2",
        guid=CAPI2_GUID,
        event_id=11,
        channel=channel,
        level=level,
        user_data=user_data,
        record_id=record_id,
    )


def capi2_policy_event(
    when: datetime,
    *,
    subject: str = "client01",
    auth_type: str = "client",
    policy: str = "CERT_CHAIN_POLICY_SSL",
    result: int = 0x800B0109,
    record_id: int = 1,
    level: int = 2,
) -> str:
    """CAPI2 event 30 (Verify Chain Policy): ``SSLAdditionalPolicyInfo authType`` says whose
    certificate is checked (``client``: a client certificate judged by a server)."""
    extra = (
        f"<SSLAdditionalPolicyInfo authType='{auth_type}'><IgnoreFlags value='0'/>"
        "</SSLAdditionalPolicyInfo>"
        if policy == "CERT_CHAIN_POLICY_SSL"
        else ""
    )
    user_data = (
        "<UserData><CertVerifyCertificateChainPolicy xmlns='http://schemas.microsoft.com/win/"
        f"2004/08/events'><Policy type='{policy}' constant='4'/>"
        f"<Certificate fileRef='A909502DD82AE41433E6F83886B00D4277A32A7B.cer' "
        f"subjectName={quoteattr(subject)}/>"
        "<CertificateChain chainRef='{7A2E3F00-1111-2222-3333-444455556666}'/>"
        f"<Flags value='0'/>{extra}<Status chainIndex='0' elementIndex='-1'/>"
        "<EventAuxInfo ProcessName='lsass.exe'/>"
        f"<Result value='{result:X}'>{escape(_RESULT_TEXT.get(result, ''))}</Result>"
        "</CertVerifyCertificateChainPolicy></UserData>"
    )
    return windows_event(
        when,
        provider="Microsoft-Windows-CAPI2",
        guid=CAPI2_GUID,
        event_id=30,
        channel=CAPI2_CHANNEL,
        level=level,
        user_data=user_data,
        record_id=record_id,
    )


_RESULT_TEXT = {
    0x800B0109: "A certificate chain processed, but terminated in a root certificate which is "
    "not trusted by the trust provider.",
    0x80092013: "The revocation function was unable to check revocation because the revocation "
    "server was offline.",
    0x80092012: "The revocation function was unable to check revocation for the certificate.",
    0x80092010: "The certificate is revoked.",
}
