"""Recognisers for numbers in context: OpenSSL verify codes, alerts, event ids, IIS status,
CERT_TRUST values, HRESULTs in every printed form, and bare numbers several families share."""

from __future__ import annotations

import re

from certgate.core.codes import decode_trust_bits, hresult_from_win32_status
from certgate.core.kb._found import Found
from certgate.core.kb._index import Index, normalize
from certgate.core.kb._model import Entry, MatchKind

__all__ = [
    "alerts",
    "bare_numbers",
    "events",
    "hresults",
    "iis",
    "trust_values",
    "verify_codes",
]

_I = re.IGNORECASE


_VERIFY = (
    (
        r"error (?P<code>\d+) at (?P<depth>\d+) depth lookup:?\s*(?P<text>[^\n]*)",
        "OpenSSL verify output: error {code} at depth {depth}",
    ),
    (
        r"\((?P<code>\d+)\s*:\s*(?P<text>[a-z][^)\n]*)\)",
        "nginx logs the verify code as (code:text)",
    ),
    (
        r"verification: error \((?P<code>\d+)\)(?::\s*(?P<text>[^\n]*))?",
        "Apache mod_ssl logs 'Certificate Verification: Error (code): text'",
    ),
    (r"verify error:num=(?P<code>\d+)(?::(?P<text>[^\n]*))?", "openssl s_client: verify error:num"),
    (
        r"verify return code: (?P<code>\d+)(?: \((?P<text>[^)\n]*)\))?",
        "openssl s_client: Verify return code: code",
    ),
    (r"\bopenssl(?: verify)?(?: error| code)? (?P<code>\d+)\b", "an OpenSSL verify code"),
)


def verify_codes(index: Index, found: Found) -> None:
    for pattern, why in _VERIFY:
        for m in re.finditer(pattern, found.query, _I):
            groups = m.groupdict()
            reason = why.format(code=groups["code"], depth=groups.get("depth"))
            for entry in index.number("openssl", int(groups["code"])):
                _verify_code(index, found, entry, m, reason)
            found.consume(m)


def _verify_code(index: Index, found: Found, entry: Entry, m: re.Match[str], why: str) -> None:
    """A code printed with another code's text comes from an OpenSSL that numbered codes
    differently (24 was "invalid CA certificate" before 3.0): the text wins then."""
    said = normalize(m.groupdict().get("text") or "")
    if entry.value == 0:  # X509_V_OK: a success next to the failure being explained
        found.add(entry, MatchKind.VERIFY_CODE, m.group(0), f"{why} (success)", 50)
        return
    if not said or any(said.startswith(normalize(message)) for message in entry.messages):
        found.add(entry, MatchKind.VERIFY_CODE, m.group(0), why, 95)
        return
    why += f"; but the text says {said!r}, which is not this code's text in OpenSSL 3"
    found.add(entry, MatchKind.VERIFY_CODE, m.group(0), why, 60)
    for message, original, other in index.messages:
        if other.family == "openssl" and said.startswith(message):
            reason = f'the text printed with code {entry.value} is "{original}" (older numbering)'
            found.add(other, MatchKind.MESSAGE, m.group(0), reason, 95)


_ALERT = re.compile(
    r"\balert(?:\s+(?:number|code|description|no\.?))*(?:\s+is)?\s*[:=#(]?\s*(\d{1,3})\b"
    # Schannel 36888 (sent): "The TLS protocol defined fatal error code is 40." and, on older
    # builds, "The following fatal alert was generated: 40." -- read as 36887's alert code is
    r"|\bfatal error code is\s*(\d{1,3})\b|\bfatal alert was generated:\s*(\d{1,3})\b",
    _I,
)


def alerts(index: Index, found: Found) -> None:
    for m in _ALERT.finditer(found.query):
        number = next(g for g in m.groups() if g is not None)
        for entry in index.number("tls-alert", int(number)):
            why = f"TLS alert number {number} ({entry.name})"
            found.add(entry, MatchKind.ALERT, m.group(0), why, 95)
            found.consume(m)


_EVENT = (
    re.compile(r"<EventID[^>]*>\s*(\d+)\s*</EventID>", _I),
    re.compile(r"\b(?:event\s*id|eventid|event)\s*[:=#]?\s*(\d{1,6})\b", _I),
    re.compile(r"\b(schannel|capi2)(?:\s+event)?(?:\s+id)?\s*[:=#]?\s*(\d{1,5})\b", _I),
)
_EVENT_FAMILIES = ("schannel", "capi2", "wcf")


def events(index: Index, found: Found) -> None:
    for pattern in _EVENT:
        for m in pattern.finditer(found.query):
            number = int(m.group(m.re.groups))
            only = m.group(1).lower() if m.re.groups > 1 else None
            for family in _EVENT_FAMILIES:
                if only and family != only:
                    continue
                for entry in index.number(family, number):
                    found.add(entry, MatchKind.EVENT, m.group(0), _event_why(family, number), 95)
                    found.consume(m)


def _event_why(family: str, number: int) -> str:
    if family == "wcf":
        return f"WCF trace code {number} (the svclog EventID)"
    return f"{family} event id {number}"


_IIS = re.compile(r"(?<![\d.])([1-5]\d\d)([. ])(\d{1,3})(?!\d)(?!\.\d)")


def iis(index: Index, found: Found) -> None:
    for m in _IIS.finditer(found.query):
        entry = index.iis.get(f"{m.group(1)}.{m.group(3)}")
        if entry is None:
            continue
        if m.group(2) == ".":
            found.add(entry, MatchKind.STATUS, m.group(0), "IIS status.substatus", 95)
        else:
            why = "IIS log form 'sc-status sc-substatus'"
            found.add(entry, MatchKind.STATUS, m.group(0), why, 90)
        found.consume(m)
    for m in _IIS_WIN32.finditer(found.query):
        _win32_status(index, found, m)


# "403 7 5": IIS logs a FACILITY_WIN32 HRESULT as its Win32 code
# (docs/windows-model.md#sc-win32-status)
_IIS_WIN32 = re.compile(r"(?<![\d.])[1-5]\d\d \d{1,3} (\d{1,5})(?![\d.])")


def _win32_status(index: Index, found: Found, m: re.Match[str]) -> None:
    code = int(m.group(1))
    if not 0 < code < 0x10000:
        return
    value = hresult_from_win32_status(code)
    for entry in index.number("hresult", value):
        why = (
            f"sc-win32-status {code} is a Win32 code: IIS logs the FACILITY_WIN32 HRESULT "
            f"0x{value:08X} that way"
        )
        found.add(entry, MatchKind.UNSIGNED, m.group(1), why, 90)


_TRUST = (
    re.compile(r"\b(?:dw)?(error|info)status(?:\s+value)?\s*[=:]?\s*\"?((?:0x)?[0-9a-f]+)\b", _I),
    re.compile(r"\b(cert_trust|trust status|chain status)\s*[=:]?\s*((?:0x)?[0-9a-f]+)\b", _I),
)


def trust_values(index: Index, found: Found) -> None:
    for pattern in _TRUST:
        for m in pattern.finditer(found.query):
            info = m.group(1).lower() == "info"
            value = int(m.group(2).removeprefix("0x").removeprefix("0X"), 16)
            field_name = "dwInfoStatus" if info else "dwErrorStatus"
            if _trust_bits(index, found, m.group(0), value, field_name, 90):
                found.consume(m)


def _trust_bits(index: Index, found: Found, text: str, value: int, name: str, score: int) -> bool:
    bits, unknown = decode_trust_bits(value, info=name == "dwInfoStatus")
    if not bits:
        return False
    entries = _bit_entries(index, bits, name)
    parts = " + ".join(f"0x{entry.value or 0:X}" for entry in entries)
    rest = f"; bits 0x{unknown:X} are unknown" if unknown else ""
    hint = "" if score >= 90 else "; only if it came from a CERT_TRUST field (CAPI2 ErrorStatus)"
    for entry in entries:
        bit = f"bit 0x{entry.value or 0:X}"
        why = f"{bit} of the CERT_TRUST_* {name} value 0x{value:X} ({parts}{rest}){hint}"
        found.add(entry, MatchKind.TRUST_BITS, text, why, score)
    return True


def _bit_entries(index: Index, bits: list[str], name: str) -> list[Entry]:
    return [e for bit in bits if (e := index.by_id.get(f"cert-trust:{bit}")) and e.group == name]


_DECIMAL = re.compile(r"(?<![\w.-])(-?\d{6,10})(?![\w.])")
_HEX = re.compile(r"(?<![\w.])0x([0-9a-f]{1,8})\b", _I)
_HEX8 = re.compile(r"(?<![\w.-])([0-9a-f]{8})(?![\w-])", _I)
_NATIVE = re.compile(r"(?:native )?error code\s*[:=]?\s*$", _I)


def hresults(index: Index, found: Found) -> None:
    for m in _DECIMAL.finditer(found.query):
        _decimal(index, found, m)
    for m in _HEX.finditer(found.query):
        if not found.consumed(m):
            _hex(index, found, m, int(m.group(1), 16))
    for m in _HEX8.finditer(found.query):
        if not found.consumed(m):
            for entry in index.number("hresult", int(m.group(1), 16)):
                why = "8 hex digits without 0x, as CAPI2 prints Result value"
                found.add(entry, MatchKind.HEX, m.group(0), why, 90)
                found.consume(m)


def _decimal(index: Index, found: Found, m: re.Match[str]) -> None:
    value = int(m.group(1))
    if not -(1 << 31) <= value < (1 << 32):
        return
    for entry in index.number("hresult", value & 0xFFFFFFFF):
        if value < 0:
            why = f"signed decimal of {entry.forms[0][1]}, as .NET prints HResult"
            found.add(entry, MatchKind.SIGNED, m.group(0), why, 95)
        elif value >> 16 == 0x8007:  # FACILITY_WIN32: IIS logs the Win32 code instead
            why = (
                f"unsigned decimal of {entry.forms[0][1]} (IIS logs this HRESULT's Win32 code "
                f"{value & 0xFFFF} in sc-win32-status; some tools print the full value)"
            )
        else:
            why = f"unsigned decimal of {entry.forms[0][1]}, as IIS logs sc-win32-status"
        if value >= 0:
            found.add(entry, MatchKind.UNSIGNED, m.group(0), why, 95)
        found.consume(m)
    for entry in index.number("wcf", value):
        why = f"WCF trace code {value} ({entry.name})"
        found.add(entry, MatchKind.EVENT, m.group(0), why, 95)
        found.consume(m)


def _hex(index: Index, found: Found, m: re.Match[str], value: int) -> None:
    for entry in index.number("hresult", value):
        found.add(entry, MatchKind.HEX, m.group(0), "the HRESULT in hex", 95)
    for entry in index.number("wcf", value):
        found.add(entry, MatchKind.EVENT, m.group(0), f"WCF trace code in hex ({entry.name})", 90)
    found.consume(m)
    if index.number("hresult", value) or not value:
        return
    low_words = index.low_words.get(value, []) if value <= 0xFFFF else []
    native = bool(_NATIVE.search(found.query[max(0, m.start() - 40) : m.start()]))
    _low_word(index, found, m.group(0), value, 95 if native else 80)
    if found.alone and not decode_trust_bits(value)[1]:  # every bit is a known CERT_TRUST bit
        _trust_bits(index, found, m.group(0), value, "dwErrorStatus", 35 if low_words else 60)


def _low_word(index: Index, found: Found, text: str, value: int, score: int, how: str = "") -> None:
    candidates = sorted(index.low_words.get(value, ()), key=lambda e: not _is_error(e))
    for entry in candidates:
        full = entry.forms[0][1]
        # The facility is lost, so naming the full HRESULT is an inference
        # (docs/windows-model.md#wcf-native-error).
        why = (
            f"{how}0x{value:X} is the low 16 bits of {full}: self-hosted WCF prints HTTP.sys "
            f"CertFlags this way ('native error code 0x{value:X}'); the upper bits are lost, "
            "so this reading is [inferred]"
        )
        if len(candidates) > 1:
            why += f"; {len(candidates)} known HRESULTs share this low word, errors first"
        weight = (0 if _is_error(entry) else -10) + (10 if how and entry.common else 0)
        found.add(entry, MatchKind.LOW_WORD, text, why, score + weight)


def _is_error(entry: Entry) -> bool:
    return bool((entry.value or 0) & 0x80000000)


_BARE = (
    ("tls-alert", 50, "read as a TLS alert number ({name})"),
    ("openssl", 50, "read as an OpenSSL verify code ({name})"),
    ("schannel", 85, "read as a Schannel System-log event id"),
    ("wcf", 95, "read as a WCF trace code ({name})"),
    ("nginx", 70, "read as an nginx status code ({name})"),
    ("capi2", 40, "read as a CAPI2 Operational event id (the Application log reuses some ids)"),
)


def bare_numbers(index: Index, found: Found) -> None:
    if found.alone and re.fullmatch(r"\d{1,6}", found.query):
        _bare(index, found, found.query)
        return
    for m in re.finditer(r"(?<![\w.-])(3\d{4})(?![\w.])", found.query):
        if not found.consumed(m):
            for entry in index.number("schannel", int(m.group(1))):
                found.add(entry, MatchKind.NUMBER, m.group(0), "a Schannel event id", 70)


def _bare(index: Index, found: Found, text: str) -> None:
    number = int(text)
    for family, score, why in _BARE:
        for entry in index.number(family, number):
            bonus = 10 if entry.common else 0
            found.add(entry, MatchKind.NUMBER, text, why.format(name=entry.name), score + bonus)
    for entry in index.iis_status(text):
        why = f"{text} without a substatus: one of the {text}.x codes"
        found.add(entry, MatchKind.STATUS, text, why, 45)
    hex_value = int(text, 16)
    if hex_value <= 0xFFFF:
        _low_word(index, found, text, hex_value, 45, f"{text} read as hex without 0x: ")
