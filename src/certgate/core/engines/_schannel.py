"""What Schannel does with the machine's stores around chain validation
(docs/windows-model.md#issuer-list):
the issuer list it sends (16 KB cap), which certificate a client can then select, the
caller-specified store of modes 1/2, and the mode-0/1 issuer-list rule."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from certgate.core.checks import Check, CheckKind, CheckStatus
from certgate.core.codes import CheckCode
from certgate.core.engines._base import Caveat, Confidence, JudgedPath, VerifyRequest
from certgate.core.issuers import ISSUER_LIST_LIMIT, IssuerList
from certgate.core.model import Certificate
from certgate.core.names import Name
from certgate.core.stores import CLIENT_AUTH_ISSUER, ROOT, Machine, Store
from certgate.core.winver import WindowsVersion

__all__ = [
    "LIST_RULE",
    "ListUse",
    "client_can_select",
    "effective_list",
    "exclusive_store",
    "fit_issuer_list",
    "list_keys",
    "with_list_rule",
]


LIST_RULE = Caveat(
    Confidence.INFERRED,
    "'issued by a certificate in the trusted issuers list' is read as 'the validated chain "
    "contains a certificate from that list' (docs/windows-model.md#list-rule)",
)


@dataclass(frozen=True)
class ListUse:
    """How Schannel uses the trusted-issuer list on this machine.

    ``sent`` is what goes on the wire (cut at 16 KB); ``trusted`` what the mode-0/1 check
    compares the chain with: the cut list on Windows Server 2012 / Windows 8 (KB 2880390),
    the whole list on later versions. ``if_2012`` is the cut list when the version is unknown
    and the cut matters, so the verdict can say what 2012 would do.
    """

    sent: tuple[Certificate, ...]
    trusted: tuple[Certificate, ...]
    if_2012: tuple[Certificate, ...] | None
    caveats: tuple[Caveat, ...]


def effective_list(issuers: IssuerList, version: WindowsVersion | None = None) -> ListUse:
    caveats = [
        Caveat(
            Confidence.CONFIRMED,
            f"trusted-issuer list from {issuers.source}: {issuers.reason} "
            f"({len(issuers.certificates)} certificate(s))",
        )
    ]
    if issuers.mixed_root:
        caveats.append(
            Caveat(
                Confidence.CONFIRMED,
                f"Root mixes self-signed and non-self-signed certificates: the list is reduced "
                f"to the {len(issuers.certificates)} non-self-signed one(s) (KB 2802568)",
            )
        )
    kept, truncated = fit_issuer_list(issuers.certificates)
    if not truncated:
        return ListUse(kept, kept, None, tuple(caveats))
    caveats.append(
        Caveat(
            Confidence.SECONDARY,
            f"the list is {issuers.size:,} bytes, over Schannel's 16 KB cap: the list sent is "
            f"cut to the first {len(kept)} certificate(s), event 36885 (KB 933430)",
        )
    )
    caveats.append(
        Caveat(
            Confidence.UNCONFIRMED, "the cap counts 2 + DER subject bytes per CA, in store order"
        )
    )
    if version is None:
        caveats.append(
            Caveat(
                Confidence.UNCONFIRMED,
                "the Windows version is unknown and the outcome depends on it: on Windows "
                "Server 2012 / Windows 8 the cut also breaks the trust check whatever "
                "SendTrustedIssuerList says (KB 2880390); later versions only cut what is sent. "
                "Give --os-version or settings.toml [machine] os_version "
                "(docs/windows-model.md#issuer-list-size)",
            )
        )
        return ListUse(kept, issuers.certificates, kept, tuple(caveats))
    if version.has_kb2880390:
        caveats.append(
            Caveat(
                Confidence.SECONDARY,
                f"{version.label}: a list over 16 KB breaks client-certificate authentication "
                "whatever SendTrustedIssuerList says (KB 2880390, fixed by its hotfix); certgate "
                "applies the cut list to the trust check [inferred mechanism]",
            )
        )
        return ListUse(kept, kept, None, tuple(caveats))
    caveats.append(
        Caveat(
            Confidence.SECONDARY,
            f"{version.label}: only the list sent is cut; the trust-check failure of KB 2880390 "
            "is documented for Windows Server 2012 / Windows 8 only",
        )
    )
    return ListUse(kept, issuers.certificates, None, tuple(caveats))


def fit_issuer_list(certs: Sequence[Certificate]) -> tuple[tuple[Certificate, ...], bool]:
    """The prefix of ``certs`` whose certificate_authorities encoding fits in 16 KB."""
    total = 0
    kept: list[Certificate] = []
    for cert in certs:
        total += 2 + len(cert.subject.der)
        if total > ISSUER_LIST_LIMIT:
            return tuple(kept), True
        kept.append(cert)
    return tuple(kept), False


def client_can_select(
    request: VerifyRequest,
    sent: tuple[Certificate, ...],
    names: frozenset[Name] | None = None,
) -> bool:
    """A Windows client offers only certificates chaining to a CA named in the sent list.

    ``names``: the subjects of ``sent`` when the caller keeps them (one set per machine)."""
    if not sent:
        return True  # no list: the client may offer any certificate [confirmed]
    if names is None:
        names = frozenset(c.subject for c in sent)
    held = (request.leaf, *request.chain)
    reachable = {c.issuer for c in held} | {c.subject for c in held[1:]}
    return bool(names & reachable)


def exclusive_store(machine: Machine) -> tuple[Store, Caveat]:
    """The caller-specified trusted issuer store of modes 1 and 2."""
    ctl = machine.binding.ctl_store_name.value
    if ctl and len(machine.store(ctl)):
        return machine.store(ctl), Caveat(
            Confidence.INFERRED,
            f"the binding's CTL store {ctl} is the caller-specified trusted issuer store",
        )
    client_auth = machine.store(CLIENT_AUTH_ISSUER)
    if len(client_auth):
        return client_auth, Caveat(
            Confidence.UNCONFIRMED,
            "no CTL store with certificates is bound: ClientAuthIssuer is assumed to be the "
            "trusted issuer store",
        )
    return machine.store(ROOT), Caveat(
        Confidence.SECONDARY,
        "no CTL store with certificates is bound and ClientAuthIssuer is empty: Root serves as "
        "the trusted issuer store (Microsoft support write-up; [unconfirmed] for mode 1)",
    )


def list_keys(listed: Sequence[Certificate]) -> frozenset[tuple[Name, bytes]]:
    """What ``with_list_rule`` matches on: (subject, key) of each listed certificate."""
    return frozenset((c.subject, c.spki_der) for c in listed)


def with_list_rule(
    path: JudgedPath,
    listed: tuple[Certificate, ...],
    keys: frozenset[tuple[Name, bytes]] | None = None,
) -> JudgedPath:
    """``keys``: ``list_keys(listed)`` when the caller keeps it (one set per machine)."""
    if not path.valid:
        return path
    if keys is None:
        keys = list_keys(listed)
    # The leaf counts: a self-signed client certificate in Root is accepted (SSIS Scale Out).
    hit = next((c for c in path.certificates if (c.subject, c.spki_der) in keys), None)
    leaf = path.certificates[0]
    if hit is not None:
        check = Check(
            CheckKind.ISSUER_LIST,
            CheckStatus.PASS,
            CheckCode.OK,
            0,
            leaf.sha1,
            (
                f"the client certificate {hit.label} is itself in the trusted-issuer list"
                if hit is leaf
                else f"the chain contains {hit.label}, which is in the trusted-issuer list"
            ),
        )
    else:
        check = Check(
            CheckKind.ISSUER_LIST,
            CheckStatus.FAIL,
            CheckCode.NOT_IN_ISSUER_LIST,
            0,
            leaf.sha1,
            "no certificate of the chain is in the trusted-issuer list, so Schannel treats the "
            "client certificate as untrusted (CERT_E_UNTRUSTEDROOT)",
        )
    return JudgedPath(path.certificates, path.end, (*path.checks, check))
