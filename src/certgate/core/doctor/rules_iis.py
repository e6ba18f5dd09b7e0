"""Causes in how IIS and HTTP.sys ask for the certificate and map it to a user."""

from __future__ import annotations

from collections.abc import Iterator

from certgate.core.changes import BindingSwitch, SetBindingParameters
from certgate.core.confidence import Confidence
from certgate.core.doctor._context import DoctorContext
from certgate.core.doctor._model import (
    Claim,
    Evidence,
    EvidenceKind,
    Fix,
    Manual,
    MoveMappingSection,
    Strength,
    UpdateBinding,
)
from certgate.core.doctor._registry import DIAGNOSIS_RULES
from certgate.core.iis import AccessSslFlags, BindingSslFlags, IisConfig, flag_text

__all__: list[str] = []

rule = DIAGNOSIS_RULES.rule
# HTTPERR's Connection_Dropped / Client_Reset are not evidence (any client that goes away
# leaves them): only IIS's own 500.0 + ERROR_NOT_SUPPORTED shows the refused renegotiation.
_RENEGOTIATION = frozenset({"iis:500.0", "hresult:ERROR_NOT_SUPPORTED"})
_CERT_FLAGS = AccessSslFlags.SSL_NEGOTIATE_CERT | AccessSslFlags.SSL_REQUIRE_CERT


@rule(
    "cause::renegotiation",
    title="The certificate is asked for by renegotiation, which TLS 1.3 and HTTP/2 forbid",
    references=(
        "https://learn.microsoft.com/en-us/dotnet/core/compatibility/aspnet-core/5.0/httpsys-client-certificate-renegotiation-disabled-by-default",
        "docs/windows-model.md#negotiation",
        "RFC 8446 §4.6.2",
        "RFC 7540 §9.2.1",
    ),
)
def renegotiation(ctx: DoctorContext) -> Iterator[Claim]:
    """IIS asks for the client certificate per path (access sslFlags SslNegotiateCert or
    SslRequireCert) while the binding does not negotiate it in the initial handshake: HTTP.sys
    must renegotiate, which TLS 1.3 and HTTP/2 do not allow. Windows 11 24H2 / Server 2025 answer
    500.0 with 0x80070032 (ERROR_NOT_SUPPORTED), earlier builds reset the connection. Claimed
    only when logs show those symptoms.
    """
    machine = ctx.machine
    binding = machine.binding
    if machine.iis is None or binding.negotiates_client_cert:
        return
    paths = _certificate_paths(machine.iis)
    tls13, http2 = _renegotiation_blocked(ctx)
    logged = ctx.symptoms_with(_RENEGOTIATION)
    if not paths or not (tls13 or http2) or not logged:
        return
    evidence = (
        *(
            Evidence(EvidenceKind.IIS, f"'{path or '(server)'}': access sslFlags={text}", where)
            for path, text, where in paths
        ),
        Evidence(
            EvidenceKind.BINDING,
            f"binding {binding.endpoint}: Negotiate Client Certificate is disabled",
            binding.flags.source or binding.source or "HTTP.sys default: bindings not exported",
        ),
        Evidence(
            EvidenceKind.BINDING,
            "TLS 1.3 and HTTP/2 are not disabled on the binding"
            if tls13 and http2
            else ("TLS 1.3 is not disabled" if tls13 else "HTTP/2 is on"),
            binding.source or "HTTP.sys default",
            Confidence.SECONDARY,
        ),
    )
    count = sum(s.count for s in logged)
    summary = (
        "IIS asks for the client certificate after the handshake (renegotiation) on "
        f"{len(paths)} path(s) and the binding does not negotiate it up front; "
        f"with TLS 1.3 or HTTP/2 that fails ({count:,} logged 500.0 0x80070032 / reset(s))"
    )
    fixes = (
        Fix(
            "negotiate-client-cert",
            "Ask for the certificate in the initial handshake (clientcertnegotiation=enable)",
            (
                UpdateBinding(
                    binding,
                    SetBindingParameters(
                        binding.endpoint, enable=(BindingSwitch.NEGOTIATE_CLIENT_CERT,)
                    ),
                ),
            ),
            preferred=True,
            notes=("Microsoft's recommendation for HTTP.sys (ASP.NET Core docs) [confirmed].",),
        ),
        Fix(
            "disable-tls13-http2",
            "Disable TLS 1.3 and HTTP/2 on the binding, so renegotiation works again",
            (
                UpdateBinding(
                    binding,
                    SetBindingParameters(
                        binding.endpoint,
                        enable=(BindingSwitch.DISABLE_TLS13, BindingSwitch.DISABLE_HTTP2),
                    ),
                ),
            ),
            notes=(
                "The netsh parameter names disabletls13 / disablehttp2 are [unconfirmed]; "
                "IIS Manager has the same switches on the site binding.",
            ),
        ),
    )
    yield Claim(
        summary,
        evidence,
        _RENEGOTIATION,
        fixes,
        Strength.PROVEN,
    )


def _certificate_paths(iis: IisConfig) -> list[tuple[str, str, str]]:
    found = []
    for loc in iis.locations:
        flags = loc.access_ssl_flags
        if flags is not None and flags.value & _CERT_FLAGS:
            found.append((loc.path, flag_text(flags.value), flags.source or loc.source))
    return found


def _renegotiation_blocked(ctx: DoctorContext) -> tuple[bool, bool]:
    """(TLS 1.3 possible, HTTP/2 possible) on the binding and the IIS site bindings."""
    binding = ctx.machine.binding
    tls13 = not binding.disables_tls13
    if ctx.machine.schannel.protocol("TLS 1.3", "Server").enabled.value is False:
        tls13 = False
    http2 = not binding.disables_http2
    iis = ctx.machine.iis
    site_flags = [
        b.ssl_flags.value
        for s in (iis.sites if iis else ())
        for b in s.bindings
        if b.protocol == "https"
    ]
    if site_flags and all(f & BindingSslFlags.DISABLE_TLS13_OVER_TCP for f in site_flags):
        tls13 = False
    if site_flags and all(f & BindingSslFlags.DISABLE_HTTP2 for f in site_flags):
        http2 = False
    return tls13, http2


@rule(
    "cause::mapping-cannot-match",
    title="IIS certificate mappings cannot match (401.2)",
    references=(
        "KB 943891",
        "docs/windows-model.md#iis-substatus",
        "https://learn.microsoft.com/en-us/iis/configuration/system.webserver/security/access",
        "docs/windows-model.md#iis-access-sslflags",
    ),
)
def mapping_cannot_match(ctx: DoctorContext) -> Iterator[Claim]:
    """IIS client-certificate mapping that can never map a user, so requests end in 401.2:
    iisClientCertificateMappingAuthentication set below site level, which IIS ignores
    [secondary]; or only one-to-one mappings, none of them for the sample client certificate.
    """
    iis = ctx.machine.iis
    if iis is None:
        return
    for loc in iis.mappings_below_site():
        yield _below_site(ctx, loc.path, loc.source)
    yield from _one_to_one_misses(ctx, iis)


def _below_site(ctx: DoctorContext, path: str, source: str) -> Claim:
    site = path.replace("\\", "/").strip("/").split("/")[0]
    summary = (
        f"iisClientCertificateMappingAuthentication is set at '{path}', below site level, where "
        "IIS ignores it: no user is mapped and requests get 401.2"
    )
    return Claim(
        summary,
        (
            Evidence(EvidenceKind.IIS, f"mapping section at '{path}' (below site level)", source),
            Evidence(
                EvidenceKind.IIS,
                "IIS reads certificate mappings at server or site level only",
                "IIS Support Blog (docs/windows-model.md#iis-substatus)",
                Confidence.SECONDARY,
            ),
        ),
        frozenset({"iis:401.2"}),
        (
            Fix(
                "mapping-to-site",
                f"Configure the mappings at site level ('{site}')",
                (
                    MoveMappingSection(path, site),
                    Manual(
                        f"In IIS Manager open site '{site}' > Configuration Editor > "
                        "system.webServer/security/authentication/"
                        "iisClientCertificateMappingAuthentication, add the mappings there "
                        f'(appcmd: appcmd set config "{site}" -section:system.webServer/'
                        "security/authentication/iisClientCertificateMappingAuthentication "
                        "/enabled:true /commit:apphost), then remove them from "
                        f"'{path}'."
                    ),
                ),
                preferred=True,
            ),
        ),
        Strength.PROVEN,
        key=path,
    )


def _one_to_one_misses(ctx: DoctorContext, iis: IisConfig) -> Iterator[Claim]:
    for loc in iis.locations:
        mapping = loc.iis_mapping
        if (
            mapping is None
            or not mapping.enabled.value
            or iis.level(loc.path).value == "below-site"
        ):
            continue
        if mapping.many_to_one and mapping.many_to_one_enabled.value:
            continue  # many-to-one rules may match: not decided here
        mapped = {m.sha1 for m in mapping.one_to_one if m.enabled}
        for client, _ in ctx.verdicts:
            if client.leaf.sha1 in mapped:
                continue
            summary = (
                f"'{client.leaf.subject}' [{client.leaf.sha1[:8]}] has no one-to-one mapping at "
                f"'{loc.path or '(server)'}' and no many-to-one rule exists: IIS maps no user "
                "(401.2)"
            )
            yield Claim(
                summary,
                (
                    Evidence(
                        EvidenceKind.IIS,
                        f"{len(mapped)} enabled one-to-one mapping(s), none for {client.leaf.sha1}",
                        mapping.source or loc.source,
                    ),
                ),
                frozenset({"iis:401.2", "iis:401.1"}),
                (
                    Fix(
                        "map-certificate",
                        "Add a one-to-one mapping for this certificate (or a many-to-one rule)",
                        (
                            Manual(
                                "IIS Manager > site > Configuration Editor > "
                                "iisClientCertificateMappingAuthentication > oneToOneMappings: "
                                f"add the certificate {client.leaf.sha1} (base64 DER) with its "
                                "user."
                            ),
                        ),
                        preferred=True,
                    ),
                ),
                Strength.PROVEN,
                key=f"{loc.path}|{client.leaf.sha1}",
            )
