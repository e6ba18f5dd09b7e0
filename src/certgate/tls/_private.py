"""The only two places certgate reaches into pyOpenSSL's private OpenSSL bindings.

pyOpenSSL 26.4 has no public API for either (python-deps.md §2):

* TLS 1.3 post-handshake authentication: ``SSL_set_post_handshake_auth``. Without it a server
  that asks for a certificate after the handshake (Apache per-directory client auth) cannot
  ask this client at all.
* the raw CertificateRequest message: ``SSL_CTX_set_msg_callback``. Only it shows the
  signature algorithms, certificate types and the CA list's size on the wire.

Both are guarded: when a binding is missing (a future pyOpenSSL/cryptography), or fails, the
function returns False and the probe goes on without that detail, saying so in its output.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from OpenSSL import SSL

__all__ = ["enable_post_handshake_auth", "tap_handshake_messages"]

# Receives each handshake message the peer sends: type, 3-byte length, body.
MessageSink = Callable[[bytes], None]

_CONTENT_HANDSHAKE = 22
_SIGNATURE = "void(int, int, int, const void *, size_t, SSL *, void *)"


def _bindings() -> tuple[Any, Any] | None:
    try:
        from OpenSSL._util import ffi, lib
    except ImportError:
        return None
    return ffi, lib


def enable_post_handshake_auth(conn: SSL.Connection) -> bool:
    """Offer TLS 1.3 post-handshake authentication on ``conn``; False if not possible."""
    bindings = _bindings()
    if bindings is None or not hasattr(bindings[1], "SSL_set_post_handshake_auth"):
        return False
    try:
        bindings[1].SSL_set_post_handshake_auth(conn._ssl, 1)
    except (AttributeError, TypeError):
        return False
    return True


def tap_handshake_messages(context: SSL.Context, sink: MessageSink) -> bool:
    """Call ``sink`` with every handshake message the peer sends on connections of ``context``.

    The callback object is kept on the context, which must outlive its connections.
    """
    bindings = _bindings()
    if bindings is None or not hasattr(bindings[1], "SSL_CTX_set_msg_callback"):
        return False
    ffi, lib = bindings

    def on_message(
        write_p: int, version: int, content_type: int, buf: Any, length: int, ssl: Any, arg: Any
    ) -> None:
        if write_p == 0 and content_type == _CONTENT_HANDSHAKE and length >= 4:
            sink(bytes(ffi.buffer(buf, length)))

    try:
        callback = ffi.callback(_SIGNATURE, on_message, onerror=_ignore)
        lib.SSL_CTX_set_msg_callback(context._context, callback)
    except (AttributeError, TypeError):
        return False
    context._certgate_tap = callback  # type: ignore[attr-defined]  # keep it alive
    return True


def _ignore(exception: type[BaseException], value: BaseException, traceback: Any) -> None:
    """A failing sink must not print through cffi; the message is simply not recorded."""
