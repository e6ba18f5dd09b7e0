"""``probe(target, options)``: ask a live server how it does client-certificate authentication.

Per TLS version and per path, on fresh connections: one without a certificate, then (when
credentials are given) one with it. Every network failure is a result, never an exception.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from certgate import __version__
from certgate.core.names import Name
from certgate.core.probe import (
    Attempt,
    ClientCertificate,
    PathResult,
    ProbeError,
    ProbeResult,
    Stage,
    TargetInfo,
    TlsVersion,
    VersionResult,
    path_result,
    probe_findings,
)
from certgate.errors import UsageError
from certgate.tls.connection import Credentials, Endpoint, Unreachable, run_attempt
from certgate.tls.credentials import certificates_of

__all__ = ["ALL_VERSIONS", "ProbeOptions", "ProbeTarget", "probe", "probe_many"]

ALL_VERSIONS = (TlsVersion.TLS1_2, TlsVersion.TLS1_3)
DEFAULT_PORT = 443


@dataclass(frozen=True)
class ProbeTarget:
    host: str
    port: int = DEFAULT_PORT
    sni: str | None = None  # None: the host name (no SNI for an IP address)
    paths: tuple[str, ...] = ("/",)

    @classmethod
    def parse(cls, text: str, *, sni: str | None = None, paths: Iterable[str] = ()) -> ProbeTarget:
        """``HOST``, ``HOST:PORT``, ``[IPv6]:PORT`` or a bare IPv6 address."""
        host, port = _split_host_port(text.strip())
        chosen = tuple(paths) or ("/",)
        if sni:
            _check_server_name(sni)
        for path in chosen:
            if not path.startswith("/") or any(c in path for c in " \r\n\t"):
                raise UsageError(f"{path!r} is not a path (it starts with /, without spaces)")
        return cls(host, port, sni, chosen)

    @property
    def server_name(self) -> str | None:
        if self.sni is not None:
            return self.sni or None
        if _is_ip(self.host):
            return None
        try:
            _check_server_name(self.host)
        except UsageError:
            return None  # a host name that cannot be sent as SNI is probed without one
        return self.host


@dataclass(frozen=True)
class ProbeOptions:
    versions: tuple[TlsVersion, ...] = ALL_VERSIONS
    timeout: float = 5.0
    credentials: Credentials | None = None
    user_agent: str = f"certgate-probe/{__version__}"


def probe(target: ProbeTarget, options: ProbeOptions) -> ProbeResult:
    info = TargetInfo(target.host, target.port, target.server_name)
    try:
        endpoint = _endpoint(target, options.timeout)
    except Unreachable as exc:
        return _failed(info, target, options, ProbeError(exc.code, str(exc)))
    info = TargetInfo(target.host, target.port, target.server_name, endpoint.address)
    versions: list[VersionResult] = []
    try:
        for version in options.versions:
            versions.append(_probe_version(endpoint, target, version, options))
    except Unreachable as exc:
        if not versions:
            return _failed(info, target, options, ProbeError(exc.code, str(exc)))
    error = None
    if versions and all(_silent(version) for version in versions):
        why = f"TCP connection accepted, but no TLS answer within {options.timeout:g}s"
        error = ProbeError("timeout", why)
    return ProbeResult(
        target=info,
        versions=tuple(versions),
        certificate=_client_certificate(options.credentials),
        findings=probe_findings(versions, error),
        error=error,
        paths=target.paths,
    )


def probe_many(
    targets: Iterable[ProbeTarget],
    options: ProbeOptions,
    *,
    concurrency: int = 10,
    on_done: Callable[[ProbeResult], None] | None = None,
) -> Iterator[ProbeResult]:
    """Probe on ``concurrency`` threads; yield results in the order of ``targets``."""
    if concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="probe") as pool:
        futures: list[Future[ProbeResult]] = []
        for target in targets:
            future = pool.submit(probe, target, options)
            if on_done is not None:
                future.add_done_callback(lambda f: on_done(f.result()))
            futures.append(future)
        for future in futures:
            yield future.result()


def _silent(version: VersionResult) -> bool:
    """No handshake on this version because the server said nothing at all (a hang)."""
    return not version.supported and version.detail.startswith("no handshake within")


def _failed(
    info: TargetInfo, target: ProbeTarget, options: ProbeOptions, error: ProbeError
) -> ProbeResult:
    return ProbeResult(
        target=info,
        certificate=_client_certificate(options.credentials),
        findings=probe_findings((), error),
        error=error,
        paths=target.paths,
    )


def _probe_version(
    endpoint: Endpoint, target: ProbeTarget, version: TlsVersion, options: ProbeOptions
) -> VersionResult:
    paths: list[PathResult] = []
    for path in target.paths:
        without = _attempt(endpoint, version, path, options, with_certificate=False)
        if not paths and _version_refused(without):
            return VersionResult(
                version, False, (path_result(path, without),), detail=without.detail
            )
        with_certificate = None
        if options.credentials is not None:
            with_certificate = _attempt(endpoint, version, path, options, with_certificate=True)
        paths.append(path_result(path, without, with_certificate, _chain(options.credentials)))
    first = paths[0].without_certificate
    return VersionResult(
        version,
        True,
        tuple(paths),
        handshake_request=first.request_at(Stage.HANDSHAKE),
        protocol=first.protocol,
        cipher=first.cipher,
    )


def _version_refused(attempt: Attempt) -> bool:
    """The first handshake of a version failed (or hung) before any CertificateRequest."""
    return not attempt.handshake_completed and not attempt.asked


def _attempt(
    endpoint: Endpoint,
    version: TlsVersion,
    path: str,
    options: ProbeOptions,
    *,
    with_certificate: bool,
) -> Attempt:
    return run_attempt(
        endpoint,
        version,
        path,
        timeout=options.timeout,
        credentials=options.credentials if with_certificate else None,
        user_agent=options.user_agent,
    )


def _chain(credentials: Credentials | None) -> tuple[tuple[Name, Name], ...]:
    if credentials is None:
        return ()
    certs = (credentials.certificate, *credentials.chain)
    return tuple(
        (Name.from_cryptography(c.subject), Name.from_cryptography(c.issuer)) for c in certs
    )


def _client_certificate(credentials: Credentials | None) -> ClientCertificate | None:
    if credentials is None:
        return None
    leaf, extra = certificates_of(credentials)
    return ClientCertificate(
        leaf.subject, leaf.issuer, leaf.sha1, tuple((c.subject, c.issuer) for c in extra)
    )


def _endpoint(target: ProbeTarget, timeout: float) -> Endpoint:
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Unreachable("dns", f"cannot resolve {target.host}: {exc.strerror}") from exc
    except UnicodeError as exc:
        raise Unreachable("dns", f"cannot resolve {target.host}: {exc}") from exc
    address = str(infos[0][4][0])
    host_header = target.server_name or target.host
    if ":" in host_header:
        host_header = f"[{host_header}]"
    if target.port != DEFAULT_PORT:
        host_header = f"{host_header}:{target.port}"
    return Endpoint(address, target.port, target.server_name, host_header)


def _check_server_name(name: str) -> None:
    try:
        encoded = name.encode("idna")
    except UnicodeError as exc:
        raise UsageError(f"{name!r} is not a server name ({exc})") from exc
    if len(encoded) > 253 or b"\x00" in encoded:
        raise UsageError(f"{name!r} is not a server name")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _split_host_port(text: str) -> tuple[str, int]:
    if not text or any(c.isspace() for c in text):
        raise UsageError(f"{text!r} is not HOST[:PORT]")
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise UsageError(f"{text!r} is not [IPv6]:PORT")
        return host, _port(rest[1:]) if rest else DEFAULT_PORT
    if text.count(":") > 1:  # a bare IPv6 address
        return text, DEFAULT_PORT
    host, colon, port = text.partition(":")
    if not host:
        raise UsageError(f"{text!r} has no host")
    return host, _port(port) if colon else DEFAULT_PORT


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise UsageError(f"{text!r} is not a port (1-65535)")
    return int(text)
