"""Distinguished names as users see them on Windows, and as path building compares them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from certgate.core._cache import cached
from certgate.core.der import der_header, tlv
from certgate.core.visible import visible

if TYPE_CHECKING:
    from cryptography import x509

__all__ = ["Attribute", "Name", "quick_rdns"]

# Short names as Windows prints them (CertNameToStr, X500 format), which is also what
# PowerShell's Subject/Issuer properties and IIS many-to-one mapping sub-fields use.
SHORT_NAMES: dict[str, str] = {
    "2.5.4.3": "CN",
    "2.5.4.4": "SN",
    "2.5.4.5": "SERIALNUMBER",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "S",
    "2.5.4.9": "STREET",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.12": "T",
    "2.5.4.17": "PostalCode",
    "2.5.4.42": "G",
    "2.5.4.43": "I",
    "2.5.4.46": "dnQualifier",
    "2.5.4.97": "OrganizationIdentifier",
    "1.2.840.113549.1.9.1": "E",
    "0.9.2342.19200300.100.1.1": "UID",
    "0.9.2342.19200300.100.1.25": "DC",
}

_NEEDS_QUOTES = re.compile(r'[,+="\n<>#;]|^\s|\s$')
_WHITESPACE = re.compile(r"\s+")
# DER string tags -> Python codec (PrintableString, IA5String, TeletexString: single bytes).
_STRING_ENCODINGS = {0x0C: "utf-8", 0x1E: "utf-16-be", 0x1C: "utf-32-be"}


class Attribute(NamedTuple):
    """One attribute of a relative distinguished name."""

    oid: str
    value: str

    @property
    def short(self) -> str:
        return SHORT_NAMES.get(self.oid, f"OID.{self.oid}")

    def windows(self) -> str:
        """``CN=value`` as Windows prints it, control characters shown as escapes (the value
        comes from whoever issued the certificate; see ``core.visible``)."""
        value = visible(self.value)
        if _NEEDS_QUOTES.search(value):
            value = '"' + value.replace('"', '""') + '"'
        return f"{self.short}={value}"


@dataclass(frozen=True, eq=False)
class Name:
    """A distinguished name: its exact DER, and its attributes in DER order (most general first).

    Two names are equal when their DER is equal or when they match under RFC 5280 §7.1
    comparison rules simplified to what real PKIs need (case folding, whitespace folding).
    The attributes are decoded on first use: most names are only ever compared by DER.
    """

    der: bytes
    _parsed: Any = field(default=None, repr=False)

    @classmethod
    def from_cryptography(cls, name: x509.Name) -> Name:
        return cls(name.public_bytes(), name)

    @classmethod
    def from_asn1crypto(cls, name: Any) -> Name:
        """Decoded at once: asn1crypto parses lazily, and errors must surface while loading."""
        return cls(name.dump(), _asn1_rdns(name))

    @classmethod
    def from_der(cls, der: bytes) -> Name:
        """A name seen only as DER (a CA name in a CertificateRequest); decoded on first use."""

        def decode() -> tuple[tuple[Attribute, ...], ...]:
            from asn1crypto import x509 as asn1_x509

            return _asn1_rdns(asn1_x509.Name.load(der, strict=True))

        return cls(der, decode)

    @property
    def rdns(self) -> tuple[tuple[Attribute, ...], ...]:
        return self._decoded[0]

    @property
    def problem(self) -> str | None:
        """Why the attributes could not be decoded normally, or None."""
        return self._decoded[1]

    @cached
    def _decoded(self) -> tuple[tuple[tuple[Attribute, ...], ...], str | None]:
        if self._parsed is None or callable(self._parsed):  # not decoded by a parser yet
            quick = quick_rdns(self.der)
            if quick is not None:
                return quick, None
        try:
            parsed = self._parsed() if callable(self._parsed) else self._parsed
            if isinstance(parsed, tuple):
                return parsed, None
            return _crypto_rdns(parsed), None
        except Exception as exc:  # cryptography decodes names lazily: a bad one fails here
            reason = f"name undecodable by cryptography ({exc})"
        try:
            from asn1crypto import x509 as asn1_x509

            return _asn1_rdns(asn1_x509.Name.load(self.der, strict=True)), reason
        except Exception as exc:
            return (), f"name unreadable ({exc})"

    @cached
    def bucket(self) -> str:
        """A cheap necessary condition for equality: the first CN, folded as ``key`` folds.

        Read straight from the DER, so grouping a large store does not decode every name.
        """
        start = self.der.find(b"\x06\x03\x55\x04\x03")
        header = None if start < 0 else der_header(self.der, start + 5)
        if header is None:
            return ""
        body = self.der[start + 5 + header.header_length : start + 5 + header.total]
        text = body.decode(_STRING_ENCODINGS.get(header.tag, "latin-1"), errors="replace")
        return _WHITESPACE.sub(" ", text.strip()).casefold()

    def __str__(self) -> str:
        """Windows order and quoting: ``CN=Issuing CA, O=Contoso, C=US``."""
        return self._display

    @cached
    def _display(self) -> str:
        """Composed once: reports print the same names many times (issue 17)."""
        if not self.rdns and self.problem:
            return f"<unreadable name {self.der[:12].hex()}...>"
        return ", ".join(" + ".join(a.windows() for a in rdn) for rdn in reversed(self.rdns))

    def __repr__(self) -> str:
        return f"Name({str(self)!r})"

    @cached
    def key(self) -> tuple[tuple[tuple[str, str], ...], ...]:
        return tuple(
            tuple(sorted((a.oid, _WHITESPACE.sub(" ", a.value.strip()).casefold()) for a in rdn))
            for rdn in self.rdns
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Name):
            return NotImplemented
        return self.der == other.der or self.key == other.key

    def __hash__(self) -> int:
        return self._hash

    @cached
    def _hash(self) -> int:
        """Names are dictionary keys on every path search: hash the key once."""
        return hash(self.key)

    def values(self, short: str) -> list[str]:
        """Every value of one attribute, by Windows short name (``CN``, ``OU``...)."""
        wanted = short.upper()
        return [a.value for rdn in self.rdns for a in rdn if a.short.upper() == wanted]

    @property
    def common_name(self) -> str | None:
        """The last CN (``values("CN")[-1]``), found without listing them all."""
        for rdn in reversed(self.rdns):
            for attribute in reversed(rdn):
                if attribute.oid == "2.5.4.3":
                    return attribute.value
        return None

    @property
    def is_empty(self) -> bool:
        return not self.rdns


_PRINTABLE = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 '()+,-./:=?"
)
_OIDS: dict[bytes, str] = {}  # the few attribute OIDs real names use, decoded once each


def quick_rdns(der: bytes) -> tuple[tuple[Attribute, ...], ...] | None:
    """The attributes of a plain name read straight from its DER, or None for anything less
    plain (then a parser decides, and says what is wrong).

    Plain: minimal DER lengths; one attribute per RDN; every value a UTF8String,
    PrintableString (its character set checked) or IA5String (ASCII) that decodes cleanly;
    well-formed OIDs. That is nearly every
    real name, and reading it here costs a fraction of building ``cryptography``'s ``Name``
    objects: the cost that made an audit's JSON report slow (issue 17). The result is the one
    ``cryptography`` gives (``tests/test_names_quick.py`` compares them).
    """
    end = len(der)
    outer = tlv(der, 0, end)
    if outer is None or outer[0] != 0x30 or outer[2] != end:
        return None
    rdns: list[tuple[Attribute, ...]] = []
    position = outer[1]
    while position < end:
        rdn = tlv(der, position, end)
        if rdn is None or rdn[0] != 0x31 or rdn[1] == rdn[2]:
            return None
        attributes: list[Attribute] = []
        inner, rdn_end = rdn[1], rdn[2]
        while inner < rdn_end:
            pair = tlv(der, inner, rdn_end)
            if pair is None or pair[0] != 0x30:
                return None
            oid = tlv(der, pair[1], pair[2])
            value = None if oid is None or oid[0] != 0x06 else tlv(der, oid[2], pair[2])
            if oid is None or value is None or value[2] != pair[2]:
                return None
            oid_der = der[oid[1] : oid[2]]
            dotted = _OIDS.get(oid_der) or _dotted(oid_der)
            text = _plain_string(value[0], der[value[1] : value[2]])
            if dotted is None or text is None:
                return None
            attributes.append(Attribute(dotted, text))
            inner = pair[2]
        if len(attributes) > 1:  # multi-valued: its DER set order and duplicates are the
            return None  # parser's to judge
        rdns.append(tuple(attributes))
        position = rdn_end
    return tuple(rdns)


def _dotted(body: bytes) -> str | None:
    if not body or body[-1] & 0x80 or len(body) > 64:
        return None
    arcs: list[int] = []
    value = 0
    for byte in body:
        if value == 0 and byte == 0x80:  # a leading zero digit: not minimal
            return None
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    dotted = ".".join(map(str, (first, arcs[0] - 40 * first, *arcs[1:])))
    if len(_OIDS) < 256:
        _OIDS[body] = dotted
    return dotted


def _plain_string(tag: int, body: bytes) -> str | None:
    if tag == 0x0C:  # UTF8String
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if tag == 0x13:  # PrintableString
        return body.decode("ascii") if _PRINTABLE.issuperset(body) else None
    if tag == 0x16:  # IA5String
        return body.decode("ascii") if body.isascii() else None
    return None


def _crypto_rdns(name: Any) -> tuple[tuple[Attribute, ...], ...]:
    return tuple(
        tuple(Attribute(a.oid.dotted_string, _text(a.value)) for a in rdn) for rdn in name.rdns
    )


def _asn1_rdns(name: Any) -> tuple[tuple[Attribute, ...], ...]:
    return tuple(
        tuple(Attribute(str(atv["type"].dotted), _text(atv["value"].native)) for atv in rdn)
        for rdn in name.chosen
    )


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return "#" + value.hex()
    return str(value)
