"""``netsh http add|update|delete sslcert`` command lines: written from a binding, and parsed.

Grammar (docs/windows-model.md#netsh-parameters, [confirmed] parameter names up to
``clientcertnegotiation``; the later switches such as ``disablehttp2`` / ``disabletls13`` are
[unconfirmed]): ``netsh http <verb> sslcert (ipport=IP:port | hostnameport=host:port | ccs=port)
name=value ...`` with values unquoted or in double quotes. An ``update`` resets what it does not
name [inferred from field reports], so certgate writes every setting of the binding.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, replace

from certgate.core.settings import (
    CERT_CHECK_CACHED_REVOCATION,
    CERT_CHECK_NO_REVOCATION,
    CERT_CHECK_NO_USAGE_CHECK,
    FLAG_DISABLE_HTTP2,
    FLAG_DISABLE_TLS13,
    FLAG_NEGOTIATE_CLIENT_CERT,
    FLAG_USE_DS_MAPPER,
    Setting,
    SslBinding,
)

__all__ = [
    "NetshCommand",
    "binding_command",
    "binding_from_command",
    "parse_netsh_command",
    "valid_endpoint",
    "valid_value",
]

_ENDPOINTS = {"ipport": "ipport", "hostnameport": "hostnameport", "ccs": "ccs"}
_SWITCHES = (
    "verifyclientcertrevocation",
    "verifyrevocationwithcachedclientcertonly",
    "usagecheck",
    "dsmapperusage",
    "clientcertnegotiation",
    "disablehttp2",
    "disabletls13",
)
_NUMBERS = ("revocationfreshnesstime", "urlretrievaltimeout")
_TEXTS = ("certstorename", "sslctlidentifier", "sslctlstorename")
_VALUE_CHECKS: dict[str, re.Pattern[str]] = {
    "ipport": re.compile(r"^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-fA-F:]+\]):\d{1,5}$"),
    "hostnameport": re.compile(r"^[A-Za-z0-9*][A-Za-z0-9.*-]*:\d{1,5}$"),
    "ccs": re.compile(r"^\d{1,5}$"),
    "certhash": re.compile(r"^[0-9a-fA-F]{40}$"),
    "appid": re.compile(r"^\{[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\}$"),
    **{name: re.compile(r"^(enable|disable)$") for name in _SWITCHES},
    **{name: re.compile(r"^\d{1,10}$") for name in _NUMBERS},
    **{name: re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.\-]{0,63}$") for name in _TEXTS},
}
_VERBS = ("add", "update", "delete", "show")


def valid_value(name: str, value: str) -> bool:
    """Whether ``value`` fits netsh's grammar for parameter ``name`` (``ipport``, ``appid``,
    ``certstorename``...): what the parsers of bundle files check before trusting a value."""
    check = _VALUE_CHECKS.get(name)
    return bool(check and check.fullmatch(value))


def valid_endpoint(value: str) -> bool:
    """An ``IP:port``, ``host:port`` or bare port (the CCS key is an ``IP:port`` in the
    registry and a port in netsh output)."""
    return any(valid_value(kind, value) for kind in _ENDPOINTS)


@dataclass(frozen=True)
class NetshCommand:
    verb: str
    parameters: tuple[tuple[str, str], ...]

    def get(self, name: str) -> str | None:
        return dict(self.parameters).get(name)


def parse_netsh_command(line: str) -> NetshCommand:
    """Parse one command line; ``ValueError`` names what is wrong."""
    try:
        words = shlex.split(line, posix=True)
    except ValueError as exc:
        raise ValueError(f"unbalanced quotes: {exc}") from None
    if len(words) < 4 or [w.casefold() for w in words[:2]] != ["netsh", "http"]:
        raise ValueError("expected 'netsh http <verb> sslcert ...'")
    verb, noun = words[2].casefold(), words[3].casefold()
    if verb not in _VERBS or noun != "sslcert":
        raise ValueError(f"unknown command 'netsh http {words[2]} {words[3]}'")
    parameters = [_parameter(word) for word in words[4:]]
    names = [name for name, _ in parameters]
    if len(set(names)) != len(names):
        raise ValueError("a parameter is given twice")
    endpoints = [n for n in names if n in _ENDPOINTS]
    if len(endpoints) != 1:
        raise ValueError("exactly one of ipport, hostnameport or ccs is required")
    if verb in ("add", "update") and not {"certhash", "appid"} <= set(names):
        raise ValueError(f"'{verb}' needs certhash and appid")
    if verb in ("delete", "show") and len(names) != 1:
        raise ValueError(f"'{verb}' takes only the endpoint")
    return NetshCommand(verb, tuple(parameters))


def _parameter(word: str) -> tuple[str, str]:
    name, sep, value = word.partition("=")
    name = name.casefold()
    if not sep or name not in _VALUE_CHECKS:
        raise ValueError(f"unknown parameter {word[:40]!r}")
    if not _VALUE_CHECKS[name].match(value):
        raise ValueError(f"bad value for {name}: {value[:40]!r}")
    return name, value


# -- writing ----------------------------------------------------------------------------------


def _quote(value: str) -> str:
    return f'"{value}"' if " " in value else value


def binding_command(binding: SslBinding, verb: str = "update") -> str:
    """The command that sets every setting of ``binding`` (``ValueError`` when its
    certificate hash or application id is unknown: such a line would change them)."""
    endpoint = f"{binding.kind}={binding.endpoint}"
    if verb in ("delete", "show"):
        return f"netsh http {verb} sslcert {endpoint}"
    if not binding.cert_hash or not binding.app_id:
        raise ValueError(
            f"binding {binding.endpoint}: certificate hash or application id unknown "
            "(export netsh http show sslcert into the bundle)"
        )
    mode, flags = binding.cert_check_mode.value, binding.flags.value
    parts = [
        f"netsh http {verb} sslcert {endpoint}",
        f"certhash={binding.cert_hash.lower()}",
        f"appid={binding.app_id}",
        f"certstorename={_quote(binding.cert_store_name)}",
        f"verifyclientcertrevocation={_on(not mode & CERT_CHECK_NO_REVOCATION)}",
        f"verifyrevocationwithcachedclientcertonly={_on(mode & CERT_CHECK_CACHED_REVOCATION)}",
        f"usagecheck={_on(not mode & CERT_CHECK_NO_USAGE_CHECK)}",
        f"revocationfreshnesstime={binding.revocation_freshness_time}",
        f"urlretrievaltimeout={binding.url_retrieval_timeout}",
    ]
    if binding.ctl_identifier:
        parts.append(f"sslctlidentifier={_quote(binding.ctl_identifier)}")
    if binding.ctl_store_name.value:
        parts.append(f"sslctlstorename={_quote(binding.ctl_store_name.value)}")
    parts.append(f"dsmapperusage={_on(flags & FLAG_USE_DS_MAPPER)}")
    parts.append(f"clientcertnegotiation={_on(flags & FLAG_NEGOTIATE_CLIENT_CERT)}")
    for name, bit in (("disablehttp2", FLAG_DISABLE_HTTP2), ("disabletls13", FLAG_DISABLE_TLS13)):
        if flags & bit:  # newer switches only when set: older netsh does not know them
            parts.append(f"{name}=enable")
    return " ".join(parts)


def _on(value: object) -> str:
    return "enable" if value else "disable"


def binding_from_command(command: NetshCommand, base: SslBinding | None = None) -> SslBinding:
    """The binding an add/update command leaves (the inverse of ``binding_command``)."""
    values = dict(command.parameters)
    kind = next(n for n in values if n in _ENDPOINTS)
    mode = flags = 0
    if values.get("verifyclientcertrevocation") == "disable":
        mode |= CERT_CHECK_NO_REVOCATION
    if values.get("verifyrevocationwithcachedclientcertonly") == "enable":
        mode |= CERT_CHECK_CACHED_REVOCATION
    if values.get("usagecheck") == "disable":
        mode |= CERT_CHECK_NO_USAGE_CHECK
    for name, bit in (
        ("dsmapperusage", FLAG_USE_DS_MAPPER),
        ("clientcertnegotiation", FLAG_NEGOTIATE_CLIENT_CERT),
        ("disablehttp2", FLAG_DISABLE_HTTP2),
        ("disabletls13", FLAG_DISABLE_TLS13),
    ):
        if values.get(name) == "enable":
            flags |= bit
    return replace(
        base or SslBinding(),
        endpoint=values[kind],
        kind=kind,
        cert_hash=values["certhash"].upper(),
        app_id=values["appid"],
        cert_store_name=values.get("certstorename", "My"),
        cert_check_mode=Setting(mode),
        revocation_freshness_time=int(values.get("revocationfreshnesstime", "0")),
        url_retrieval_timeout=int(values.get("urlretrievaltimeout", "0")),
        ctl_identifier=values.get("sslctlidentifier"),
        ctl_store_name=Setting(values.get("sslctlstorename")),
        flags=Setting(flags),
    )
