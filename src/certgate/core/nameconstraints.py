"""RFC 5280 §4.2.1.10 name constraints: does a certificate's names fit a CA's subtrees?

Supported forms: directoryName, dNSName, rfc822Name, URI and iPAddress. A constraint of
another form (registeredID, an otherName type) fails any certificate holding a name of that
form or type ("process the constraint or reject the certificate", §4.2.1.10). Fail closed on
bad syntax: a malformed dNSName or rfc822Name, in a constraint or in a name a constraint of its
form applies to, is a violation; so is a wildcard dNSName that could stand for an excluded
name.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.x509.oid import NameOID

from certgate.core.model import Certificate
from certgate.core.names import Name

__all__ = ["comparisons", "name_constraint_violations"]

_KINDS: tuple[type[x509.GeneralName], ...] = (
    x509.DirectoryName,
    x509.DNSName,
    x509.RFC822Name,
    x509.UniformResourceIdentifier,
    x509.IPAddress,
)


_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def comparisons(constraint: x509.NameConstraints, cert: Certificate) -> int:
    """An upper bound of the name comparisons ``name_constraint_violations`` makes: names x
    subtrees, the measure OpenSSL's ``NAME_CONSTRAINTS_check`` caps."""
    subtrees = len(constraint.permitted_subtrees or ()) + len(constraint.excluded_subtrees or ())
    return len(_names(cert)) * subtrees


def name_constraint_violations(constraint: x509.NameConstraints, cert: Certificate) -> list[str]:
    """Each name of ``cert`` that the constraint forbids, as text (empty: it fits)."""
    names = _names(cert)
    permitted = list(constraint.permitted_subtrees or ())
    excluded = list(constraint.excluded_subtrees or ())
    found = _unprocessable(permitted + excluded, names)
    for kind in _KINDS:
        mine = [n for n in names if isinstance(n, kind)]
        allowed = [p for p in permitted if isinstance(p, kind)]
        if allowed:
            found += [
                f"{_show(n)} is outside the permitted subtrees"
                for n in mine
                if not any(_match(p, n) for p in allowed)
            ]
        banned = [e for e in excluded if isinstance(e, kind)]
        found += [
            f"{_show(n)} is in an excluded subtree"
            for n in mine
            if any(_match(e, n) or _wildcard_reaches(e, n) for e in banned)
        ]
    return found


def _unprocessable(constraints: list[x509.GeneralName], names: list[x509.GeneralName]) -> list[str]:
    """Constraints certgate cannot apply to names it must apply them to: fail closed."""
    found = []
    for kind in dict.fromkeys(type(c) for c in constraints):
        types = {c.type_id for c in constraints if isinstance(c, x509.OtherName)}
        mine = [
            n
            for n in names
            if isinstance(n, kind) and (not isinstance(n, x509.OtherName) or n.type_id in types)
        ]
        if not mine:
            continue
        if kind not in _KINDS:
            found.append(f"{_show(mine[0])}: {kind.__name__} constraints are not processed")
            continue
        bad = [c for c in constraints if isinstance(c, kind) and _malformed(c, constraint=True)]
        bad += [n for n in mine if _malformed(n, constraint=False)]
        found += [f"{_show(b)} is malformed, so the constraints cannot be applied" for b in bad]
    return found


def _malformed(name: x509.GeneralName, *, constraint: bool) -> bool:
    if isinstance(name, x509.DNSName):
        return not _dns_syntax(name.value, wildcard=not constraint)
    if isinstance(name, x509.RFC822Name):
        mailbox, _, host = name.value.rpartition("@")
        if constraint and not mailbox:
            return not _dns_syntax(host.removeprefix("."), wildcard=False)
        return "@" in mailbox or not mailbox or not _dns_syntax(host, wildcard=False)
    return False


def _dns_syntax(value: str, *, wildcard: bool) -> bool:
    """RFC 1034 preferred name syntax (RFC 1123 digits), with an optional leading ``*.``."""
    text = value.lower()
    if wildcard and text.startswith("*."):
        text = text[2:]
    if not text:
        return not wildcard  # an empty constraint means every name
    return all(_LABEL.match(label) for label in text.split("."))


def _wildcard_reaches(excluded: x509.GeneralName, name: x509.GeneralName) -> bool:
    """``*.example.com`` stands for ``bar.example.com``: an excluded one-label-deeper name."""
    if not (isinstance(excluded, x509.DNSName) and isinstance(name, x509.DNSName)):
        return False
    value = name.value.lower().rstrip(".")
    if not value.startswith("*."):
        return False
    base = excluded.value.lower().rstrip(".")
    head, _, rest = base.partition(".")
    return bool(head) and rest == value[2:]


def _names(cert: Certificate) -> list[x509.GeneralName]:
    assert cert.x509 is not None
    out: list[x509.GeneralName] = []
    if not cert.subject.is_empty:
        out.append(x509.DirectoryName(cert.x509.subject))
    for attribute in cert.x509.subject.get_attributes_for_oid(NameOID.EMAIL_ADDRESS):
        out.append(x509.RFC822Name(str(attribute.value)))
    try:
        san = cert.x509.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except Exception:  # absent, or unreadable (a defect reported before this check runs)
        return out
    return out + list(san)


def _show(name: x509.GeneralName) -> str:
    if isinstance(name, x509.DirectoryName):
        return f"DN {Name.from_cryptography(name.value)}"
    if isinstance(name, x509.OtherName):
        return f"otherName {name.type_id.dotted_string}"
    return f"{type(name).__name__.replace('Name', '')} {name.value}"


def _match(constraint: x509.GeneralName, name: x509.GeneralName) -> bool:
    if isinstance(constraint, x509.DirectoryName) and isinstance(name, x509.DirectoryName):
        return _dn_within(constraint.value, name.value)
    if isinstance(constraint, x509.DNSName) and isinstance(name, x509.DNSName):
        return _dns_within(constraint.value, name.value)
    if isinstance(constraint, x509.RFC822Name) and isinstance(name, x509.RFC822Name):
        return _email_within(constraint.value, name.value)
    if isinstance(constraint, x509.UniformResourceIdentifier) and isinstance(
        name, x509.UniformResourceIdentifier
    ):
        return _host_within(constraint.value, urlsplit(name.value).hostname or "")
    if isinstance(constraint, x509.IPAddress) and isinstance(name, x509.IPAddress):
        return _ip_within(constraint.value, name.value)
    return False


def _dn_within(base: x509.Name, name: x509.Name) -> bool:
    prefix = Name.from_cryptography(base).key
    return Name.from_cryptography(name).key[: len(prefix)] == prefix


def _dns_within(base: str, name: str) -> bool:
    base, name = base.lower().rstrip("."), name.lower().rstrip(".")
    if not base:
        return True
    if base.startswith("."):
        return name.endswith(base)
    return name == base or name.endswith("." + base)


def _email_within(base: str, address: str) -> bool:
    base, address = base.lower(), address.lower()
    if "@" in base:
        return address == base
    host = address.rpartition("@")[2]
    return _host_within(base, host)


def _host_within(base: str, host: str) -> bool:
    base, host = base.lower(), host.lower()
    if base.startswith("."):
        return host.endswith(base)
    return host == base


def _ip_within(base: object, address: object) -> bool:
    if isinstance(base, (ipaddress.IPv4Network, ipaddress.IPv6Network)) and isinstance(
        address, (ipaddress.IPv4Address, ipaddress.IPv6Address)
    ):
        return address.version == base.version and address in base
    return False
