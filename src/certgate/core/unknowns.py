"""What a Machine does not know, and which Windows default is assumed instead: every report that
judges a machine says these out loud."""

from __future__ import annotations

from certgate.core.stores import CA, CLIENT_AUTH_ISSUER, DISALLOWED, ROOT, Machine

__all__ = ["unknowns"]

_TRUST_STORES = (ROOT, CA, CLIENT_AUTH_ISSUER, DISALLOWED)


def unknowns(machine: Machine) -> tuple[str, ...]:
    """One sentence per unknown or assumed part, in a stable order."""
    return (
        *_stores(machine),
        *_schannel(machine),
        *_bindings(machine),
        *_iis(machine),
    )


def _stores(machine: Machine) -> list[str]:
    ctl_names = [b.ctl_store_name.value for b in machine.bindings if b.ctl_store_name.value]
    out: list[str] = []
    for name in dict.fromkeys([*_TRUST_STORES, *ctl_names]):
        if machine.knows(name):
            continue
        listed = machine.listed_in(name)
        if listed:
            out.append(
                f"{name} store: known only from a listing ({len(listed)} certificate(s)); "
                "signatures, keys and extensions not checked"
            )
        elif name in ctl_names:
            out.append(
                f"{name} store (the CTL store a binding names): not exported, unknown; if it "
                "does not exist or is empty, no client certificate is trusted"
            )
        else:
            out.append(f"{name} store: unknown (not exported)")
    return out


def _schannel(machine: Machine) -> list[str]:
    settings = machine.schannel
    checks = (
        ("ClientAuthTrustMode", settings.client_auth_trust_mode.is_default, "0 (Machine Trust)"),
        (
            "SendTrustedIssuerList",
            settings.send_trusted_issuer_list.is_default,
            "0 (Windows Server 2012 and later; 1 on 2008 R2 and earlier)",
        ),
        ("EventLogging", settings.event_logging.is_default, "1 (errors only)"),
    )
    if settings.source is None:
        assumed = "; ".join(f"{name}={text}" for name, is_default, text in checks if is_default)
        return (
            [f"SCHANNEL registry key: not exported; Windows defaults assumed: {assumed}"]
            if (assumed)
            else []
        )
    return [
        f"{name}: absent from {settings.source}, so the Windows default {text} applies"
        for name, is_default, text in checks
        if is_default
    ]


def _bindings(machine: Machine) -> list[str]:
    if machine.bindings:
        return []
    if machine.bindings_source is None:
        return [
            "HTTP.sys SSL bindings: not exported (netsh http show sslcert); HTTP.sys defaults "
            "assumed: client revocation checked, certificate not requested in the initial "
            "handshake, no CTL store"
        ]
    return [f"HTTP.sys SSL bindings: none in {machine.bindings_source}"]


def _iis(machine: Machine) -> list[str]:
    if machine.iis is None:
        return [
            "IIS configuration: not exported (applicationHost.config); access sslFlags and "
            "certificate mappings unknown"
        ]
    return []
