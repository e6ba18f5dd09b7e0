"""Windows artefacts for tests, generated as the Windows tools write them
(docs/windows-model.md#netsh-show-sslcert, #sst):
``reg export`` files, ``netsh http show sslcert`` output, applicationHost.config, and whole
bundles. Certificate listings are in ``certgate.testing.listings``.

These emitters are written independently of certgate's parsers (they do not share code), so a
round trip through both checks each against the other and against the documented formats.
Nothing here ran on Windows: the layouts follow the facts file and public captures.
"""

from __future__ import annotations

import base64
import uuid
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

from certgate.core.iis import (
    IisCertificateMapping,
    LocationConfig,
    Site,
    flag_text,
)
from certgate.core.model import Certificate
from certgate.core.settings import (
    CERT_CHECK_CACHED_REVOCATION,
    CERT_CHECK_NO_REVOCATION,
    CERT_CHECK_NO_USAGE_CHECK,
    SslBinding,
)

__all__ = [
    "IIS_APP_ID",
    "BundleSpec",
    "application_host_config",
    "netsh_sslcert",
    "one_to_one_certificate",
    "reg_export",
    "schannel_reg",
    "sslbinding_reg",
    "write_bundle",
    "zip_folder",
]

SCHANNEL = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL"
HTTP_PARAMETERS = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\HTTP\Parameters"
RegData = int | str | bytes
IIS_APP_ID = "{4dc3e181-e14b-4a21-b022-59fc669b0914}"


# -- .reg ---------------------------------------------------------------------------------------


def reg_export(
    keys: Sequence[tuple[str, Sequence[tuple[str, RegData]]]], *, encoding: str = "utf-16"
) -> bytes:
    """A ``reg export`` file: ``int`` -> ``dword:``, ``bytes`` -> ``hex:``, ``str`` -> string.

    ``encoding="utf-16"`` writes UTF-16LE with a BOM and CRLF, as reg.exe and regedit do;
    ``"utf-8"`` writes what hand-made files look like.
    """
    lines = ["Windows Registry Editor Version 5.00", ""]
    for path, values in keys:
        lines.append(f"[{path}]")
        for name, data in values:
            lines.extend(_reg_value(name, data))
        lines.append("")
    text = "\r\n".join(lines) + "\r\n"
    if encoding == "utf-16":
        return b"\xff\xfe" + text.encode("utf-16-le")
    return text.encode(encoding)


def _reg_value(name: str, data: RegData) -> list[str]:
    quoted = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(data, int):
        return [f"{quoted}=dword:{data:08x}"]
    if isinstance(data, str):
        return [f'{quoted}="' + data.replace("\\", "\\\\").replace('"', '\\"') + '"']
    octets = [f"{b:02x}" for b in data]
    # regedit puts 25 bytes on the first line (after the name), then 25 per indented line
    chunks = [octets[i : i + 25] for i in range(0, len(octets), 25)] or [[]]
    out = []
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1
        body = ",".join(chunk) + ("" if last else ",\\")
        out.append(f"{quoted}=hex:{body}" if index == 0 else f"  {body}")
    return out


def schannel_reg(
    *,
    trust_mode: int | str | None = None,
    send_issuer_list: int | None = None,
    misspelled_send_issuers: int | None = None,
    event_logging: int | None = None,
    tls13_server_enabled: int | None = None,
    encoding: str = "utf-16",
) -> bytes:
    """The SCHANNEL key as ``reg export`` writes it; ``None`` leaves a value out."""
    values: list[tuple[str, RegData]] = []
    for name, value in (
        ("EventLogging", event_logging),
        ("ClientAuthTrustMode", trust_mode),
        ("SendTrustedIssuerList", send_issuer_list),
        ("SendTrustedIssuers", misspelled_send_issuers),
    ):
        if value is not None:
            values.append((name, value))
    keys: list[tuple[str, Sequence[tuple[str, RegData]]]] = [(SCHANNEL, values)]
    keys.append((SCHANNEL + r"\Protocols", []))
    if tls13_server_enabled is not None:
        keys.append((SCHANNEL + r"\Protocols\TLS 1.3\Server", [("Enabled", tls13_server_enabled)]))
    return reg_export(keys, encoding=encoding)


def sslbinding_reg(bindings: Iterable[SslBinding], *, encoding: str = "utf-16") -> bytes:
    """``SslBindingInfo`` (IP:port), ``SslSniBindingInfo`` and ``SslCcsBindingInfo`` keys."""
    parents = {
        "ipport": "SslBindingInfo",
        "hostnameport": "SslSniBindingInfo",
        "ccs": "SslCcsBindingInfo",
    }
    keys: list[tuple[str, Sequence[tuple[str, RegData]]]] = []
    for b in bindings:
        values: list[tuple[str, RegData]] = []
        if b.cert_hash:
            values.append(("SslCertHash", bytes.fromhex(b.cert_hash)))
        if b.app_id:
            values.append(("AppId", _guid_bytes(b.app_id)))
        values.append(("SslCertStoreName", b.cert_store_name))
        values.append(("DefaultSslCertCheckMode", b.cert_check_mode.value))
        values.append(("DefaultSslRevocationFreshnessTime", b.revocation_freshness_time))
        values.append(("DefaultSslRevocationUrlRetrievalTimeout", b.url_retrieval_timeout))
        if b.ctl_identifier:
            values.append(("DefaultSslCtlIdentifier", b.ctl_identifier))
        if b.ctl_store_name.value:
            values.append(("DefaultSslCtlStoreName", b.ctl_store_name.value))
        values.append(("DefaultFlags", b.flags.value))
        keys.append((f"{HTTP_PARAMETERS}\\{parents[b.kind]}\\{b.endpoint}", values))
    return reg_export(keys, encoding=encoding)


def _guid_bytes(guid: str) -> bytes:
    return uuid.UUID(guid.strip("{}")).bytes_le


# -- netsh ----------------------------------------------------------------------------------------


def netsh_sslcert(bindings: Iterable[SslBinding], *, field_set: str = "2016") -> str:
    """`netsh http show sslcert`; the 2012 field set ends at Negotiate Client Certificate."""
    out = ["", "SSL Certificate bindings:", "-------------------------", ""]
    for b in bindings:
        out.extend(_netsh_block(b, field_set))
        out.append("")
    return "\r\n".join(out) + "\r\n"


def _row(label: str, value: object) -> str:
    return f"    {label:<28} : {value}"


def _netsh_block(b: SslBinding, field_set: str) -> list[str]:
    start = {"ipport": "IP:port", "hostnameport": "Hostname:port"}.get(
        b.kind, "Central Certificate Store"
    )
    mode, flags = b.cert_check_mode.value, b.flags.value

    def on(state: bool) -> str:
        return "Enabled" if state else "Disabled"

    def setting(bit: int) -> str:
        return "Set" if flags & bit else "Not Set"

    rows = [
        _row(start, b.endpoint),
        _row("Certificate Hash", (b.cert_hash or "(null)").lower()),
        _row("Application ID", b.app_id or "(null)"),
        _row("Certificate Store Name", b.cert_store_name),
        _row("Verify Client Certificate Revocation", on(not mode & CERT_CHECK_NO_REVOCATION)),
        _row(
            "Verify Revocation Using Cached Client Certificate Only",
            on(bool(mode & CERT_CHECK_CACHED_REVOCATION)),
        ),
        _row("Usage Check", on(not mode & CERT_CHECK_NO_USAGE_CHECK)),
        _row("Revocation Freshness Time", b.revocation_freshness_time),
        _row("URL Retrieval Timeout", b.url_retrieval_timeout),
        _row("Ctl Identifier", b.ctl_identifier or "(null)"),
        _row("Ctl Store Name", b.ctl_store_name.value or "(null)"),
        _row("DS Mapper Usage", on(bool(flags & 0x1))),
        _row("Negotiate Client Certificate", on(bool(flags & 0x2))),
    ]
    if field_set == "2016":
        rows += [
            _row("Reject Connections", on(bool(flags & 0x8))),
            _row("Disable HTTP2", setting(0x10)),
            _row("Disable QUIC", setting(0x20)),
            _row("Disable TLS1.2", setting(0x1000)),
            _row("Disable TLS1.3", setting(0x40)),
            _row("Disable OCSP Stapling", setting(0x80)),
            _row("Enable Token Binding", setting(0x100)),
            _row("Log Extended Events", setting(0x200)),
            _row("Disable Legacy TLS Versions", setting(0x400)),
            _row("Enable Session Ticket", setting(0x800)),
            " Extended Properties:",
            _row("PropertyId", 0),
            _row("Receive Window", 1048576),
        ]
    return rows


# -- applicationHost.config ---------------------------------------------------------------------


def application_host_config(
    sites: Sequence[Site] = (), locations: Sequence[LocationConfig] = ()
) -> str:
    """An applicationHost.config with the usual section declarations (access and both mapping
    sections locked, overrideModeDefault="Deny"), the given sites and ``<location>`` sections.
    A location with path "" goes into the top-level ``<system.webServer>``.
    """
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<configuration>",
        "    <configSections>",
        '        <sectionGroup name="system.webServer">',
        '            <sectionGroup name="security">',
        '                <section name="access" overrideModeDefault="Deny" />',
        '                <sectionGroup name="authentication">',
        '                    <section name="anonymousAuthentication" overrideModeDefault="Deny" />',
        '                    <section name="clientCertificateMappingAuthentication" '
        'overrideModeDefault="Deny" />',
        '                    <section name="iisClientCertificateMappingAuthentication" '
        'overrideModeDefault="Deny" />',
        "                </sectionGroup>",
        "            </sectionGroup>",
        "        </sectionGroup>",
        "    </configSections>",
        "    <system.applicationHost>",
        "        <sites>",
    ]
    for site in sites:
        out.extend(_site(site))
    out += ["        </sites>", "    </system.applicationHost>"]
    for loc in locations:
        if loc.path:
            out.append(f"    <location path={quoteattr(loc.path)}>")
            out.extend("    " + line for line in _web_server(loc))
            out.append("    </location>")
        else:
            out.extend(_web_server(loc))
    out.append("</configuration>")
    return "\r\n".join(out) + "\r\n"


def _site(site: Site) -> list[str]:
    out = [f"            <site name={quoteattr(site.name)} id={quoteattr(site.id or '1')}>"]
    for app in site.applications or ():
        out.append(f"                <application path={quoteattr(app.path)}>")
        physical = quoteattr(app.physical_path or r"%SystemDrive%\inetpub\wwwroot")
        out.append(f'                    <virtualDirectory path="/" physicalPath={physical} />')
        out.append("                </application>")
    out.append("                <bindings>")
    for b in site.bindings:
        flags = f' sslFlags="{b.ssl_flags.value}"' if b.ssl_flags.source else ""
        out.append(
            f"                    <binding protocol={quoteattr(b.protocol)} "
            f"bindingInformation={quoteattr(b.binding_information)}{flags} />"
        )
    out += ["                </bindings>", "            </site>"]
    return out


def _web_server(loc: LocationConfig) -> list[str]:
    out = ["    <system.webServer>", "        <security>"]
    if loc.access_ssl_flags is not None:
        out.append(f'            <access sslFlags="{flag_text(loc.access_ssl_flags.value)}" />')
    auth: list[str] = []
    if loc.anonymous_enabled is not None:
        auth.append(f'<anonymousAuthentication enabled="{_bool(loc.anonymous_enabled.value)}" />')
    if loc.ad_mapping_enabled is not None:
        state = _bool(loc.ad_mapping_enabled.value)
        auth.append(f'<clientCertificateMappingAuthentication enabled="{state}" />')
    if loc.iis_mapping is not None:
        auth.extend(_iis_mapping(loc.iis_mapping))
    if auth:
        out.append("            <authentication>")
        out.extend("                " + line for line in auth)
        out.append("            </authentication>")
    out += ["        </security>", "    </system.webServer>"]
    return out


def _iis_mapping(m: IisCertificateMapping) -> list[str]:
    out = [
        f'<iisClientCertificateMappingAuthentication enabled="{_bool(m.enabled.value)}" '
        f'oneToOneCertificateMappingsEnabled="{_bool(m.one_to_one_enabled.value)}" '
        f'manyToOneCertificateMappingsEnabled="{_bool(m.many_to_one_enabled.value)}">'
    ]
    if m.one_to_one:
        out.append("    <oneToOneMappings>")
        for one in m.one_to_one:
            password = ' password="[enc:AesProvider:c2VjcmV0:enc]"' if one.has_password else ""
            out.append(
                f"        <add certificate={quoteattr(one.certificate)} "
                f'userName={quoteattr(one.user_name)}{password} enabled="{_bool(one.enabled)}" />'
            )
        out.append("    </oneToOneMappings>")
    if m.many_to_one:
        out.append("    <manyToOneMappings>")
        for many in m.many_to_one:
            out.append(
                f'        <add name={quoteattr(many.name)} enabled="{_bool(many.enabled)}" '
                f"permissionMode={quoteattr(many.permission_mode)} "
                f"userName={quoteattr(many.user_name)}>"
            )
            out.append("            <rules>")
            for rule in many.rules:
                out.append(
                    f"                <add certificateField={quoteattr(rule.certificate_field)} "
                    f"certificateSubField={quoteattr(rule.certificate_sub_field)} "
                    f"matchCriteria={quoteattr(rule.match_criteria)} "
                    f'compareCaseSensitive="{_bool(rule.compare_case_sensitive)}" />'
                )
            out += ["            </rules>", "        </add>"]
        out.append("    </manyToOneMappings>")
    out.append("</iisClientCertificateMappingAuthentication>")
    return out


def _bool(value: bool | None) -> str:
    return "true" if value else "false"


def one_to_one_certificate(cert: Certificate) -> str:
    """The ``certificate`` attribute of a one-to-one mapping: base64 DER on one line."""
    return base64.b64encode(cert.der).decode()


# -- bundles --------------------------------------------------------------------------------------


@dataclass
class BundleSpec:
    """Files to write into a bundle: name -> bytes or str (str is written as UTF-8)."""

    files: dict[str, bytes | str] = field(default_factory=dict)

    def add(self, name: str, content: bytes | str) -> BundleSpec:
        self.files[name] = content
        return self


def write_bundle(folder: Path, spec: BundleSpec) -> Path:
    for name, content in spec.files.items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
    return folder


def zip_folder(
    folder: Path, target: Path, *, top: str | None = None, backslashes: bool = False
) -> Path:
    """Zip a bundle folder; ``top`` nests it in one folder, ``backslashes`` writes member names
    as Windows PowerShell 5.1's Compress-Archive does."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                name = file.relative_to(folder).as_posix()
                name = f"{top}/{name}" if top else name
                archive.write(file, name.replace("/", "\\") if backslashes else name)
    return target
