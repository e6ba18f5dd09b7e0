"""LocalMachine certificate stores through crypt32.dll (ctypes): store names, certificates.

Only public certificates are read: each context's DER bytes and its friendly name property.
No key property is ever asked for, and stores are opened read-only and only if they exist.
The DLL is loaded when ``load_crypt32()`` is called (on Windows), never at import, so this
module imports anywhere; tests drive ``Crypt32Stores`` with a fake DLL object.
"""

from __future__ import annotations

import ctypes
from ctypes import POINTER, Structure, c_ubyte, c_uint32, c_void_p, c_wchar_p
from typing import Any

__all__ = ["CERT_CONTEXT", "ENUM_CALLBACK", "Crypt32Stores", "load_crypt32"]

CERT_STORE_PROV_SYSTEM_W = 10
CERT_SYSTEM_STORE_LOCAL_MACHINE = 0x00020000
CERT_STORE_READONLY_FLAG = 0x00008000
CERT_STORE_OPEN_EXISTING_FLAG = 0x00004000
CERT_FRIENDLY_NAME_PROP_ID = 11
X509_ASN_ENCODING = 0x1
_OPEN_FLAGS = (
    CERT_SYSTEM_STORE_LOCAL_MACHINE | CERT_STORE_READONLY_FLAG | CERT_STORE_OPEN_EXISTING_FLAG
)


class CERT_CONTEXT(Structure):  # the Windows SDK name
    _fields_ = [
        ("dwCertEncodingType", c_uint32),
        ("pbCertEncoded", POINTER(c_ubyte)),
        ("cbCertEncoded", c_uint32),
        ("pCertInfo", c_void_p),
        ("hCertStore", c_void_p),
    ]


PCCERT_CONTEXT = POINTER(CERT_CONTEXT)
# BOOL WINAPI CertEnumSystemStoreCallback(const void *pvSystemStore, DWORD dwFlags,
#     PCERT_SYSTEM_STORE_INFO pStoreInfo, void *pvReserved, void *pvArg)
_FUNCTYPE = getattr(ctypes, "WINFUNCTYPE", ctypes.CFUNCTYPE)
ENUM_CALLBACK = _FUNCTYPE(ctypes.c_int, c_void_p, c_uint32, c_void_p, c_void_p, c_void_p)


def load_crypt32() -> Any:  # pragma: no cover - Windows only
    """crypt32.dll with the prototypes this module uses."""
    dll = ctypes.WinDLL("crypt32", use_last_error=True)  # type: ignore[attr-defined]
    dll.CertOpenStore.restype = c_void_p
    dll.CertOpenStore.argtypes = [c_void_p, c_uint32, c_void_p, c_uint32, c_wchar_p]
    dll.CertEnumCertificatesInStore.restype = PCCERT_CONTEXT
    dll.CertEnumCertificatesInStore.argtypes = [c_void_p, PCCERT_CONTEXT]
    dll.CertGetCertificateContextProperty.restype = ctypes.c_int
    dll.CertGetCertificateContextProperty.argtypes = [
        PCCERT_CONTEXT,
        c_uint32,
        c_void_p,
        POINTER(c_uint32),
    ]
    dll.CertCloseStore.argtypes = [c_void_p, c_uint32]
    dll.CertEnumSystemStore.restype = ctypes.c_int
    dll.CertEnumSystemStore.argtypes = [c_uint32, c_void_p, c_void_p, ENUM_CALLBACK]
    return dll


class Crypt32Stores:
    """Read LocalMachine system stores through a crypt32-like object (the DLL, or a fake)."""

    def __init__(self, dll: Any) -> None:
        self.dll = dll

    def names(self) -> list[str]:
        """Every LocalMachine system store, custom CTL stores included."""
        found: list[str] = []

        def collect(store: int | None, flags: int, info: Any, reserved: Any, arg: Any) -> int:
            if store:
                found.append(ctypes.wstring_at(store))
            return 1

        callback = ENUM_CALLBACK(collect)
        if not self.dll.CertEnumSystemStore(CERT_SYSTEM_STORE_LOCAL_MACHINE, None, None, callback):
            raise OSError("CertEnumSystemStore failed")
        return found

    def certificates(self, name: str) -> list[tuple[bytes, str | None]]:
        """(DER, friendly name) of every X.509 certificate in ``LocalMachine\\<name>``."""
        store = self.dll.CertOpenStore(
            CERT_STORE_PROV_SYSTEM_W, 0, None, _OPEN_FLAGS, c_wchar_p(name)
        )
        if not store:
            raise OSError(f"cannot open LocalMachine\\{name}")
        found: list[tuple[bytes, str | None]] = []
        try:
            context = self.dll.CertEnumCertificatesInStore(store, None)
            while context:
                entry = context.contents
                if entry.dwCertEncodingType & X509_ASN_ENCODING:
                    der = ctypes.string_at(entry.pbCertEncoded, entry.cbCertEncoded)
                    found.append((der, self._friendly_name(context)))
                context = self.dll.CertEnumCertificatesInStore(store, context)
        finally:
            self.dll.CertCloseStore(store, 0)
        return found

    def _friendly_name(self, context: Any) -> str | None:
        size = c_uint32(0)
        prop = CERT_FRIENDLY_NAME_PROP_ID
        if not self.dll.CertGetCertificateContextProperty(
            context, prop, None, ctypes.pointer(size)
        ):
            return None
        buffer = ctypes.create_string_buffer(size.value)
        if not self.dll.CertGetCertificateContextProperty(
            context, prop, buffer, ctypes.pointer(size)
        ):
            return None
        text = buffer.raw[: size.value].decode("utf-16-le", errors="replace")
        return text.split("\x00", 1)[0] or None
