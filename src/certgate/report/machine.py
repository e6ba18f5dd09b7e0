"""Render everything known about a machine: settings with their source or "default", bindings,
stores with counts, listed certificates, IIS paths and mappings, logs, unknowns."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from rich.console import Console
from rich.table import Table

from certgate.core.iis import IisCertificateMapping, IisConfig, LocationConfig, flag_text
from certgate.core.listing import ListedCertificate
from certgate.core.settings import SchannelSettings, Setting, SslBinding
from certgate.core.stores import Machine
from certgate.inputs.bundle import LoadedMachine
from certgate.report._text import escape
from certgate.report.documents import (
    BindingJson,
    IisJson,
    IisMappingJson,
    ListedDetailJson,
    LocationJson,
    MachineDocument,
    MachineStoreJson,
    OsVersionJson,
    SchannelJson,
    SettingJson,
    SettingOriginJson,
)
from certgate.report.jsonout import cert_detail, iso

__all__ = ["SCHEMA", "machine_document", "print_machine"]

SCHEMA: Final = "certgate.machine/1"
_MODES = {0: "Machine Trust", 1: "Exclusive Root Trust", 2: "Exclusive CA Trust"}


def _setting(setting: Setting[Any]) -> SettingJson:
    return {"value": setting.value, "source": setting.source or "default"}


def machine_document(
    loaded: LoadedMachine, settings: list[SettingOriginJson] | None = None
) -> MachineDocument:
    """``settings``: each setting with its ``file:line`` (``jsonout.origins_json``)."""
    machine = loaded.machine
    return {
        "schema": SCHEMA,
        "path": loaded.path,
        "format": loaded.format,
        "collected": dict(loaded.collected) or None,
        "os_version": _os_version(machine),
        "schannel": _schannel(machine.schannel),
        "bindings_source": machine.bindings_source,
        "bindings": [_binding(b) for b in machine.bindings],
        "stores": _stores(machine),
        "certificates": [
            {**cert_detail(cert), "store": store.name} for store in machine.stores for cert in store
        ],
        "listed_certificates": [listed_detail(c) for c in machine.listed],
        "iis": _iis(machine.iis) if machine.iis is not None else None,
        "logs": [{"name": f.name, "size": f.size} for f in loaded.logs],
        "parts": [
            {"name": p.name, "kind": p.kind, "status": p.status, "detail": p.detail}
            for p in loaded.parts
        ],
        "unknowns": list(machine.notes),
        "errors": [e.diagnostics() for e in loaded.errors],
        "warnings": [str(w) for w in loaded.warnings],
        "settings": settings or [],
    }


def _schannel(s: SchannelSettings) -> SchannelJson:
    return {
        "source": s.source,
        "client_auth_trust_mode": _setting(s.client_auth_trust_mode),
        "send_trusted_issuer_list": _setting(s.send_trusted_issuer_list),
        "event_logging": _setting(s.event_logging),
        "message_limit_server_client_auth": _setting(s.message_limit_server_client_auth),
        "misspelled": [{"name": m.value, "source": m.source} for m in s.misspelled],
        "problems": [{"message": p.value, "source": p.source} for p in s.problems],
        "protocols": [
            {
                "protocol": p.protocol,
                "side": p.side,
                "enabled": _setting(p.enabled),
                "disabled_by_default": _setting(p.disabled_by_default),
            }
            for p in s.protocols
        ],
        "other_values": [{"name": n, **_setting(v)} for n, v in s.other_values],
    }


def _binding(b: SslBinding) -> BindingJson:
    return {
        "endpoint": b.endpoint,
        "kind": b.kind,
        "cert_hash": b.cert_hash,
        "app_id": b.app_id,
        "cert_store_name": b.cert_store_name,
        "cert_check_mode": {**_setting(b.cert_check_mode), "names": list(b.check_mode_names)},
        "checks_revocation": b.checks_revocation,
        "cached_revocation_only": b.cached_revocation_only,
        "checks_usage": b.checks_usage,
        "revocation_freshness_time": b.revocation_freshness_time,
        "url_retrieval_timeout": b.url_retrieval_timeout,
        "ctl_identifier": b.ctl_identifier,
        "ctl_store_name": _setting(b.ctl_store_name),
        "flags": {**_setting(b.flags), "names": list(b.flag_names)},
        "negotiates_client_cert": b.negotiates_client_cert,
        "source": b.source,
        "reported_by": b.reported_by,
        "field_sources": dict(b.field_sources),
        "extra": [{"label": k, "value": v} for k, v in b.extra],
    }


def _stores(machine: Machine) -> list[MachineStoreJson]:
    names = dict.fromkeys([*(s.name for s in machine.stores), *machine.listed_store_names()])
    return [
        {
            "name": name,
            "count": len(machine.store(name)),
            "listed": len(machine.listed_in(name)),
            "exported": machine.knows(name),
        }
        for name in names
    ]


def listed_detail(c: ListedCertificate) -> ListedDetailJson:
    return {
        "store": c.store,
        "sha1": c.thumbprint,
        "subject": c.subject,
        "issuer": c.issuer,
        "not_before": iso(c.not_before) if c.not_before else None,
        "not_after": iso(c.not_after) if c.not_after else None,
        "times_are_local": True,
        "friendly_name": c.friendly_name,
        "serial": c.serial,
        "source": c.source,
        "listing": c.listing,
        "truncated": list(c.truncated),
        "certutil_says": list(c.certutil_says),
        "names_self_issued": c.names_self_issued,
    }


def _iis(iis: IisConfig) -> IisJson:
    return {
        "files": list(iis.files),
        "sites": [
            {
                "name": s.name,
                "id": s.id,
                "source": s.source,
                "bindings": [
                    {
                        "protocol": b.protocol,
                        "binding_information": b.binding_information,
                        "ssl_flags": _setting(b.ssl_flags),
                        "source": b.source,
                    }
                    for b in s.bindings
                ],
                "applications": [
                    {"path": a.path, "physical_path": a.physical_path, "source": a.source}
                    for a in s.applications
                ],
            }
            for s in iis.sites
        ],
        "locations": [_location(iis, loc) for loc in iis.locations],
        "section_override_defaults": [
            {"section": s, "override_mode_default": m, "source": src}
            for s, m, src in iis.section_override_defaults
        ],
    }


def _location(iis: IisConfig, loc: LocationConfig) -> LocationJson:
    return {
        "path": loc.path,
        "level": iis.level(loc.path).value,
        "file": loc.file,
        "source": loc.source,
        "override_mode": loc.override_mode,
        "access_ssl_flags": (
            {**_setting(loc.access_ssl_flags), "names": flag_text(loc.access_ssl_flags.value)}
            if loc.access_ssl_flags
            else None
        ),
        "anonymous_enabled": _setting(loc.anonymous_enabled) if loc.anonymous_enabled else None,
        "ad_mapping_enabled": _setting(loc.ad_mapping_enabled) if loc.ad_mapping_enabled else None,
        "iis_mapping": _mapping(loc.iis_mapping) if loc.iis_mapping else None,
    }


def _mapping(m: IisCertificateMapping) -> IisMappingJson:
    return {
        "enabled": _setting(m.enabled),
        "one_to_one_enabled": _setting(m.one_to_one_enabled),
        "many_to_one_enabled": _setting(m.many_to_one_enabled),
        "logon_method": _setting(m.logon_method),
        "source": m.source,
        "one_to_one": [
            {
                "user_name": o.user_name,
                "enabled": o.enabled,
                "certificate_sha1": o.sha1,
                "has_password": o.has_password,
                "source": o.source,
            }
            for o in m.one_to_one
        ],
        "many_to_one": [
            {
                "name": n.name,
                "user_name": n.user_name,
                "enabled": n.enabled,
                "permission_mode": n.permission_mode,
                "has_password": n.has_password,
                "source": n.source,
                "rules": [
                    {
                        "certificate_field": r.certificate_field,
                        "certificate_sub_field": r.certificate_sub_field,
                        "match_criteria": r.match_criteria,
                        "compare_case_sensitive": r.compare_case_sensitive,
                        "source": r.source,
                    }
                    for r in n.rules
                ],
            }
            for n in m.many_to_one
        ],
    }


# -- text -----------------------------------------------------------------------------------------


def _os_version(machine: Machine) -> OsVersionJson | None:
    version = machine.os_version
    if version.value is None:
        return None
    return {"name": version.value.name, "label": version.value.label, "source": version.source}


def _src(setting: Setting[Any]) -> str:
    return setting.source or "default"


def _table(title: str, columns: Iterable[str], rows: Iterable[Iterable[str]]) -> Table:
    table = Table(title=title, title_justify="left", expand=False)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    return table


def print_machine(console: Console, loaded: LoadedMachine) -> None:
    machine = loaded.machine
    console.print(f"Machine from {loaded.format} {loaded.path}", markup=False)
    if loaded.collected:
        info = dict(loaded.collected)
        console.print(
            f"Collected by {info.get('collector', '?')} on {info.get('host', '?')} at "
            f"{info.get('collected_at', '?')}",
            markup=False,
        )
    version = machine.os_version
    console.print(
        f"Windows version: {version.value.label} ({version.source})"
        if version.value is not None
        else "Windows version: unknown (give settings.toml [machine] os_version)",
        markup=False,
    )
    console.print(_schannel_table(machine.schannel))
    for problem in machine.schannel.problems:
        where = escape(problem.source or "")
        console.print(f"[yellow]![/] {escape(problem.value)} ({where})")
    if machine.bindings:
        console.print(_bindings_table(machine.bindings))
    console.print(_stores_table(machine))
    if machine.listed:
        console.print(_listed_table(machine.listed))
    if machine.iis is not None:
        _print_iis(console, machine.iis)
    if loaded.logs:
        console.print(f"Logs: {len(loaded.logs)} file(s) under logs/", markup=False)
    _print_list(console, "Unknown, or Windows default assumed", machine.notes, "cyan")
    _print_list(console, "Errors", [e.diagnostics() for e in loaded.errors], "bold red")


def _print_list(console: Console, title: str, items: Iterable[str], style: str) -> None:
    items = list(items)
    if items:
        console.print(f"[{style}]{title}:[/]")
        for item in items:
            console.print(f"  - {escape(item)}")


def _schannel_table(s: SchannelSettings) -> Table:
    mode = s.client_auth_trust_mode
    rows = [
        ["ClientAuthTrustMode", f"{mode.value} ({_MODES.get(mode.value, '?')})", _src(mode)],
        [
            "SendTrustedIssuerList",
            str(int(s.send_trusted_issuer_list.value)),
            _src(s.send_trusted_issuer_list),
        ],
        ["EventLogging", str(s.event_logging.value), _src(s.event_logging)],
        [
            "MessageLimitServerClientAuth",
            str(s.message_limit_server_client_auth.value),
            _src(s.message_limit_server_client_auth),
        ],
    ]
    for p in s.protocols:
        switches = (("Enabled", p.enabled), ("DisabledByDefault", p.disabled_by_default))
        for label, setting in switches:
            if setting.source:
                rows.append([f"{p.protocol} {p.side} {label}", str(setting.value), setting.source])
    rows += [[m.value, "(misspelled: ignored by Windows)", m.source or ""] for m in s.misspelled]
    rows += [[name, v.value, _src(v)] for name, v in s.other_values]
    return _table("SCHANNEL", ("Setting", "Value", "Source"), rows)


def _bindings_table(bindings: Iterable[SslBinding]) -> Table:
    rows = []
    for b in bindings:
        revocation = "checked" if b.checks_revocation else "off"
        if b.checks_revocation and b.cached_revocation_only:
            revocation = "cached only"
        rows.append(
            [
                f"{b.endpoint} ({b.kind})",
                b.cert_hash or "-",
                f"{b.ctl_store_name.value or '(none)'} ({_src(b.ctl_store_name)})",
                f"{revocation} ({_src(b.cert_check_mode)})",
                f"{'yes' if b.negotiates_client_cert else 'no'} ({_src(b.flags)})",
                ", ".join(b.flag_names) or "-",
            ]
        )
    columns = ("Binding", "Certificate", "CTL store", "Revocation", "Negotiate cert", "Flags")
    return _table("HTTP.sys SSL bindings", columns, rows)


def _stores_table(machine: Machine) -> Table:
    rows = [
        [s["name"], str(s["count"]) if s["exported"] else "not exported", str(s["listed"])]
        for s in _stores(machine)
    ]
    return _table("Stores", ("Store", "Certificates", "Listed only"), rows)


def _listed_table(listed: Iterable[ListedCertificate]) -> Table:
    rows = [
        [
            c.store,
            c.thumbprint or "-",
            c.subject or "-",
            c.issuer or "-",
            f"{c.not_after:%Y-%m-%d}" if c.not_after else "?",
            c.source,
        ]
        for c in listed
    ]
    columns = ("Store", "Thumbprint", "Subject", "Issuer", "Not after (local)", "Source")
    return _table("Listed certificates (no DER: judged by names and dates only)", columns, rows)


def _print_iis(console: Console, iis: IisConfig) -> None:
    sites = [
        [s.name, f"{b.protocol} {b.binding_information}", str(b.ssl_flags.value), b.source]
        for s in iis.sites
        for b in s.bindings
    ]
    console.print(_table("IIS sites", ("Site", "Binding", "sslFlags", "Source"), sites))
    rows = []
    for loc in iis.locations:
        mapping = loc.iis_mapping
        rows.append(
            [
                loc.path or "(server)",
                iis.level(loc.path).value,
                flag_text(loc.access_ssl_flags.value) if loc.access_ssl_flags else "-",
                _on(loc.anonymous_enabled),
                _mapping_text(mapping) if mapping else "-",
                _on(loc.ad_mapping_enabled),
                loc.source,
            ]
        )
    columns = ("Path", "Level", "access sslFlags", "Anonymous", "IIS mapping", "AD map", "Source")
    console.print(_table("IIS paths", columns, rows))


def _on(setting: Setting[bool] | None) -> str:
    return "-" if setting is None else ("on" if setting.value else "off")


def _mapping_text(m: IisCertificateMapping) -> str:
    state = "on" if m.enabled.value else "off"
    return f"{state}: {len(m.one_to_one)} one-to-one, {len(m.many_to_one)} many-to-one"
