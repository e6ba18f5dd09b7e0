"""Run the diagnosis rules, weigh each claim against the symptoms and the sample clients'
verdicts, check every fix on a copy of the machine, and rank the causes.

Fail closed: a rule that crashes is reported in ``Diagnosis.errors`` and never becomes a cause.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from certgate.core.confidence import Confidence
from certgate.core.doctor import (  # noqa: F401 (importing registers the rules)
    rules_chain,
    rules_client,
    rules_iis,
    rules_settings,
    rules_trust,
)
from certgate.core.doctor._apply import apply_actions
from certgate.core.doctor._context import DoctorContext
from certgate.core.doctor._model import (
    Cause,
    Claim,
    ClientChange,
    Diagnosis,
    Evidence,
    EvidenceKind,
    Fix,
    FixCheck,
    Likelihood,
    Manual,
    SampleClient,
    Strength,
    Symptom,
)
from certgate.core.doctor._registry import DIAGNOSIS_RULES, DiagnosisRule
from certgate.core.doctor._symptoms import Likely, SymptomBuilder
from certgate.core.engines import Verdict
from certgate.core.logsummary import Describe
from certgate.core.stores import Machine
from certgate.core.unknowns import unknowns

__all__ = ["diagnose", "likelihood"]

_BASE = {Strength.PROVEN: 60, Strength.LIKELY: 40, Strength.POSSIBLE: 20}


def diagnose(
    machine: Machine,
    at: datetime,
    *,
    clients: Sequence[SampleClient] = (),
    symptoms: SymptomBuilder | None = None,
    describe: Describe | None = None,
    likely: Likely | None = None,
    unread: Sequence[str] = (),
) -> Diagnosis:
    """Diagnose ``machine`` at ``at`` (aware) from its configuration, the sample client
    certificates and the log events fed to ``symptoms``. ``likely`` names the knowledge
    base's likely causes of each symptom; ``unread`` lists the inputs that could not be read
    (``"path: why"``): a diagnosis never claims all-clear over evidence it did not see."""
    builder = symptoms or SymptomBuilder()
    ctx = DoctorContext(
        machine, at, tuple(clients), builder.symptoms(describe, likely), builder.observed()
    )
    causes: list[Cause] = []
    errors: list[str] = []
    for result in DIAGNOSIS_RULES.run(ctx):
        if result.error:
            errors.append(f"{result.rule.id}: {result.error}")
        causes.extend(_cause(ctx, result.rule, claim) for claim in result.claims)
    causes.sort(key=lambda c: (-c.score, c.id, c.key))
    explained = {key for cause in causes for key in cause.explains}
    return Diagnosis(
        at=at,
        causes=tuple(causes),
        symptoms=ctx.symptoms,
        unexplained=tuple(s for s in ctx.symptoms if s.key not in explained),
        clients=ctx.verdicts,
        observed=ctx.observed,
        notes=machine.notes or unknowns(machine),
        errors=tuple(errors),
        timeline=builder.timeline(describe) if builder.summary.events else None,
        machine=machine,
        unread=tuple(unread),
        set_aside=builder.set_aside(),
    )


def _cause(ctx: DoctorContext, rule: DiagnosisRule, claim: Claim) -> Cause:
    matched = [s for s in ctx.symptoms if set(s.codes) <= claim.explains]
    witnesses = _corroborating(ctx, claim)
    fixes = _labelled(claim.fixes)
    checks = tuple(_what_if(ctx, rule, claim, fix) for fix in fixes)
    score = _BASE[claim.strength] + (25 if matched else 0) + (20 if witnesses else 0)
    score += 5 if any(c.works for c in checks) else 0
    confidence, basis = likelihood(claim, matched, len(witnesses))
    return Cause(
        id=rule.id,
        title=rule.title,
        confidence=confidence,
        score=score,
        summary=headline(claim.summary, matched, fixes, checks),
        evidence=(
            *claim.evidence,
            *(_verdict_evidence(c, v) for c, v in witnesses),
            *(_log_evidence(s) for s in matched),
        ),
        fixes=fixes,
        what_if=checks,
        explains=tuple(s.key for s in matched),
        references=rule.references,
        explanation=rule.explanation,
        key=claim.key,
        basis=basis,
    )


_MACHINE_FACTS = frozenset(
    {EvidenceKind.CERTIFICATE, EvidenceKind.SETTING, EvidenceKind.BINDING, EvidenceKind.IIS}
)
_SURE = frozenset({Confidence.CONFIRMED, Confidence.SECONDARY})


def likelihood(
    claim: Claim, matched: Sequence[Symptom], witnesses: int
) -> tuple[Likelihood, tuple[str, ...]]:
    """A cause's confidence, computed from its evidence (docs/confidence.md), with the reasons.

    High needs all of: the machine proves the cause (``Strength.PROVEN``), the facts it rests on
    are [confirmed] or [secondary], the rule linking them to the failure is too, and the failure
    is seen (client-certificate symptoms it explains, or a sample client certificate rejected for
    this reason). Proven but not seen, or resting on an [inferred]/[unconfirmed] fact or rule:
    medium. Likely and seen: medium. Anything else: low.
    """
    basis: list[str] = [_STRENGTH_TEXT[claim.strength]]
    shaky = [e for e in claim.evidence if e.kind in _MACHINE_FACTS and e.confidence not in _SURE]
    for evidence in shaky[:2]:
        basis.append(f"rests on a fact that is [{evidence.confidence.value}]: {evidence.text}")
    if claim.rule_confidence not in _SURE:
        basis.append(
            f"the rule linking this state to the failure is [{claim.rule_confidence.value}]"
        )
    seen = bool(matched or witnesses)
    if matched:
        count = sum(s.count for s in matched)
        basis.append(f"seen: {count:,} logged client-certificate failure(s) it explains")
    if witnesses:
        basis.append(f"seen: {witnesses} sample client certificate(s) rejected for this reason")
    if not seen:
        basis.append("not seen: no logged failure or sample client certificate shows it")
    sure = not shaky and claim.rule_confidence in _SURE
    if claim.strength is Strength.PROVEN and seen and sure:
        return Likelihood.HIGH, tuple(basis)
    if claim.strength is Strength.PROVEN or (claim.strength is Strength.LIKELY and seen):
        return Likelihood.MEDIUM, tuple(basis)
    return Likelihood.LOW, tuple(basis)


_STRENGTH_TEXT = {
    Strength.PROVEN: "the machine's configuration or certificates prove it",
    Strength.LIKELY: "the machine makes it likely, it does not prove it",
    Strength.POSSIBLE: "possible: circumstantial, or part of the machine is unknown",
}


def _corroborating(ctx: DoctorContext, claim: Claim) -> list[tuple[SampleClient, Verdict]]:
    return [
        (client, verdict)
        for client, verdict in ctx.verdicts
        if not verdict.accepted
        and claim.verdict_codes & {f"certgate:{r.code.value}" for r in verdict.reasons if r.failed}
    ]


def _labelled(fixes: tuple[Fix, ...]) -> tuple[Fix, ...]:
    ordered = sorted(fixes, key=lambda f: not f.preferred)
    return tuple(replace(f, label=chr(65 + i)) for i, f in enumerate(ordered))


def _what_if(ctx: DoctorContext, rule: DiagnosisRule, claim: Claim, fix: Fix) -> FixCheck:
    if all(isinstance(action, Manual) for action in fix.actions):
        return FixCheck(fix.id, fix.label, modelled=False)
    try:
        after = ctx.with_machine(apply_actions(ctx.machine, fix.actions))
    except ValueError as exc:
        return FixCheck(fix.id, fix.label, True, error=str(exc))
    again = rule.run(after)  # a rule that fails on the changed machine: the cause may remain
    gone = not again.error and all(c.key != claim.key for c in again.claims)
    clients = tuple(_change(client, before, after.judge(client)) for client, before in ctx.verdicts)
    return FixCheck(fix.id, fix.label, True, cause_gone=gone, clients=clients)


def _change(client: SampleClient, before: Verdict, after: Verdict) -> ClientChange:
    return ClientChange(
        client.leaf.sha1,
        str(client.leaf.subject),
        _status(before),
        before.code,
        _status(after),
        after.code,
    )


def _status(verdict: Verdict) -> str:
    return verdict.windows.iis_status if verdict.windows else verdict.verdict


def _verdict_evidence(client: SampleClient, verdict: Verdict) -> Evidence:
    detail = verdict.windows
    forms = (
        f"IIS {detail.iis_status}, {detail.hresult_hex} ({verdict.code}), sc-win32-status "
        f"{detail.win32_status}, {detail.wcf_text}"
        if detail
        else verdict.code
    )
    return Evidence(
        EvidenceKind.VERDICT,
        f"the sample client certificate '{client.leaf.subject}' [{client.leaf.sha1[:8]}] is "
        f"rejected: {forms}",
        client.source or "sample client certificate",
        sha1=client.leaf.sha1,
    )


def _log_evidence(symptom: Symptom) -> Evidence:
    return Evidence(
        EvidenceKind.LOG,
        f"{symptom.count:,} {symptom.label} {_noun(symptom)}{_span([symptom])}; first at "
        f"{symptom.first.location}, last at {symptom.last.location}",
        ", ".join(symptom.sources),
        lines=(symptom.first.location, symptom.last.location),
    )


def _noun(symptom: Symptom) -> str:
    plural = symptom.count != 1
    if symptom.label.startswith("IIS"):
        return "entries" if plural else "entry"
    return "events" if plural else "event"


def _span(symptoms: Sequence[Symptom]) -> str:
    firsts = [s.first.time for s in symptoms if s.first.time]
    lasts = [s.last.time for s in symptoms if s.last.time]
    if not firsts or not lasts:
        return ""
    start, end = min(firsts), max(lasts)
    if start.date() == end.date():
        return f" from {start:%H:%M} to {end:%H:%M} UTC"
    return f" from {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC"


def headline(
    summary: str, matched: Sequence[Symptom], fixes: Sequence[Fix], checks: Sequence[FixCheck]
) -> str:
    """The answer in one paragraph: cause, matching symptoms, fixes, what the what-if showed."""
    parts = [summary]
    if matched:
        seen = " and ".join(f"{s.count:,} {s.label} {_noun(s)}" for s in matched[:3])
        parts.append(f"this matches {seen}{_span(matched)}")
    for fix in fixes:
        extra = " (preferred)" if fix.preferred and len(fixes) > 1 else ""
        parts.append(f"fix {fix.label}{extra}: {fix.title}")
    parts.append(_outcome(checks))
    return "; ".join(p for p in parts if p) + "."


def _outcome(checks: Sequence[FixCheck]) -> str:
    working = [c for c in checks if c.works]
    judged = [c for c in working if c.clients]
    if not working:
        return ""
    who = (
        "the sample client certificate is"
        if _one_client(judged)
        else "the sample client certificates are"
    )
    if judged and len(working) == len(checks) and len(checks) > 1:
        return f"after either, {who} accepted (what-if)"
    labels = " or ".join(c.label for c in working)
    if judged:
        return f"after fix {labels}, {who} accepted (what-if)"
    return f"after fix {labels} the cause no longer holds (what-if; no sample client certificate)"


def _one_client(checks: Sequence[FixCheck]) -> bool:
    return all(len(c.clients) == 1 for c in checks)
