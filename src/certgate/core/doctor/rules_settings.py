"""Causes in how the binding and the registry name the trusted issuers."""

from __future__ import annotations

from collections.abc import Iterator

from certgate.core.changes import SetBindingParameters, SetCtlStore
from certgate.core.doctor._context import DoctorContext
from certgate.core.doctor._model import (
    Claim,
    Evidence,
    EvidenceKind,
    Fix,
    ImportCertificates,
    Manual,
    SetSchannelValue,
    Strength,
    UpdateBinding,
)
from certgate.core.doctor._registry import (
    DIAGNOSIS_RULES,
    NOT_SELECTABLE,
    REBOOT,
    UNTRUSTED,
    setting_evidence,
)
from certgate.core.engines import Confidence
from certgate.core.settings import intended_value_name

__all__: list[str] = []

rule = DIAGNOSIS_RULES.rule


# -- the CTL store a binding names is empty or missing --------------------------------------


@rule(
    "cause::ctl-store-empty",
    title="The binding's CTL store is empty or missing",
    references=(
        "https://learn.microsoft.com/en-us/windows-server/security/tls/what-s-new-in-tls-ssl-schannel-ssp-overview",
        "docs/windows-model.md#issuer-list",
        "https://learn.microsoft.com/en-us/windows-server/networking/technologies/netsh/netsh-http",
        "docs/windows-model.md#netsh-parameters",
    ),
)
def ctl_store_empty(ctx: DoctorContext) -> Iterator[Claim]:
    """The HTTP.sys binding names a CTL store (sslctlstorename): Schannel builds the trusted-
    issuer list from that store alone. When the store is empty or does not exist, no client
    certificate can satisfy the issuer-list rule (modes 0 and 1) or chain to it (mode 2).
    """
    machine = ctx.machine
    binding = machine.binding
    name = binding.ctl_store_name.value
    if not name or len(machine.store(name)) or machine.listed_in(name):
        return
    known = machine.knows(name)
    where = binding.ctl_store_name.source or binding.source or "binding"
    evidence = (
        Evidence(
            EvidenceKind.BINDING,
            f"binding {binding.endpoint} names the CTL store {name} (Ctl Store Name)",
            where,
        ),
        Evidence(
            EvidenceKind.CERTIFICATE if known else EvidenceKind.UNKNOWN,
            f"LocalMachine\\{name} is empty"
            if known
            else f"LocalMachine\\{name} is not in the bundle: it does not exist or was not "
            "exported",
            name if known else "not exported",
            Confidence.CONFIRMED if known else Confidence.UNCONFIRMED,
        ),
    )
    yield Claim(
        f"binding {binding.endpoint} takes its trusted issuers from LocalMachine\\{name}, "
        + ("which is empty" if known else "which the bundle does not have")
        + ": no client certificate can be trusted",
        evidence,
        UNTRUSTED | NOT_SELECTABLE,
        (_fill_ctl(ctx, name), _unbind_ctl(ctx)),
        Strength.PROVEN if known else Strength.POSSIBLE,
        key=name,
        verdict_codes=frozenset({"certgate:not-in-issuer-list", "certgate:untrusted-root"}),
    )


def _fill_ctl(ctx: DoctorContext, name: str) -> Fix:
    roots = tuple(dict.fromkeys(v.path[-1] for _, v in ctx.verdicts if len(v.path) > 1))
    if roots:
        return Fix(
            "fill-ctl-store",
            f"Import the sample clients' roots into LocalMachine\\{name}",
            (ImportCertificates(name, roots),),
            preferred=True,
        )
    return Fix(
        "fill-ctl-store",
        f"Import the CAs that issue your client certificates into LocalMachine\\{name}",
        (
            Manual(
                f"Import-Certificate -FilePath <ca>.cer -CertStoreLocation "
                f"Cert:\\LocalMachine\\{name}, for each CA whose clients must be accepted."
            ),
        ),
        preferred=True,
    )


def _unbind_ctl(ctx: DoctorContext) -> Fix:
    binding = ctx.machine.binding
    return Fix(
        "remove-ctl-store",
        "Re-create the binding without a CTL store (the issuer list then comes from "
        "ClientAuthIssuer or Root)",
        (
            UpdateBinding(
                binding, SetBindingParameters(binding.endpoint, ctl_store=SetCtlStore(None))
            ),
        ),
    )


# -- a misspelled SendTrustedIssuerList ------------------------------------------------------


@rule(
    "cause::send-issuer-list-misspelled",
    title="SendTrustedIssuerList is misspelled, so Windows ignores it",
    references=(
        "https://learn.microsoft.com/en-us/windows-server/security/tls/tls-registry-settings",
        "docs/windows-model.md#send-trusted-issuer-list",
    ),
)
def send_issuer_list_misspelled(ctx: DoctorContext) -> Iterator[Claim]:
    """A value under the SCHANNEL key whose name is a near miss of SendTrustedIssuerList (the
    SendTrustedIssuers seen in the wild [secondary]): Windows ignores it, so the issuer list is
    sent or not according to the real value or its default, whatever the admin meant.
    """
    machine = ctx.machine
    wrong = [
        m
        for m in machine.schannel.misspelled
        if intended_value_name(m.value) == "SendTrustedIssuerList"
    ]
    if not wrong:
        return
    sent = machine.schannel.send_trusted_issuer_list.value
    symptoms = ctx.seen(NOT_SELECTABLE)
    evidence = (
        *(
            Evidence(
                EvidenceKind.SETTING,
                f"'{m.value}' is not a Schannel value (SendTrustedIssuerList is): ignored",
                m.source,
            )
            for m in wrong
        ),
        setting_evidence(machine, "SendTrustedIssuerList"),
    )
    yield Claim(
        f"the registry has '{wrong[0].value}', which Windows ignores; SendTrustedIssuerList "
        f"is in effect {int(sent)}",
        evidence,
        NOT_SELECTABLE if sent else frozenset(),
        (
            Fix(
                "spell-send-issuer-list",
                "Delete the misspelled value and set SendTrustedIssuerList=0, then reboot",
                (
                    SetSchannelValue(
                        "SendTrustedIssuerList", 0, remove=tuple(m.value for m in wrong)
                    ),
                ),
                preferred=True,
                reboot=True,
                notes=(
                    REBOOT,
                    "Set 1 instead only if clients need the list to choose a "
                    "certificate, and keep it under 16 KB.",
                ),
            ),
        ),
        Strength.LIKELY if sent and symptoms else Strength.POSSIBLE,
        key=wrong[0].value,
    )
