"""Remediation: each fix of a diagnosis as ready scripts with a README, written to a folder.

``fix_files(diagnosis)`` renders everything in memory first (name -> bytes); ``write_fix_dir``
then writes each file atomically (temporary file + rename), so an interrupted run never leaves
a half-written script. Originals are never overwritten: a cleaned PEM store is written beside
its original as ``<name>.cleaned.pem``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from certgate.core.doctor import (
    Action,
    Cause,
    ChangeGroupPolicy,
    Diagnosis,
    Fix,
    FixCheck,
    ImportCertificates,
    Manual,
    MoveCertificates,
    MoveMappingSection,
    SetSchannelValue,
    UpdateBinding,
    what_if_keys,
)
from certgate.core.physical import GPO_PATHS
from certgate.core.stores import Machine
from certgate.core.visible import visible, visible_lines
from certgate.output import write_files
from certgate.remedy._safe import store_name
from certgate.remedy._scripts import (
    gpo_script,
    import_script,
    move_script,
    netsh_script,
    schannel_reg,
)
from certgate.remedy._stores import (
    cleaned_name,
    move_between,
    move_in_files,
    pem_text,
    store_bytes,
)

__all__ = [
    "cause_fix_files",
    "cleaned_beside",
    "cleaned_name",
    "fix_files",
    "fix_folder",
    "move_between",
    "move_in_files",
    "pem_text",
    "store_bytes",
    "write_files",
    "write_fix_dir",
]


_RELATIVE = re.compile(r"[A-Za-z0-9_.-][A-Za-z0-9 _.-]*(/[A-Za-z0-9_.-][A-Za-z0-9 _.-]*)*")


def fix_folder(index: int, cause: Cause, fix: Fix) -> str:
    return f"{index}-{cause.id.split('::')[-1]}/{fix.label}-{fix.id}"


def fix_files(diagnosis: Diagnosis) -> dict[str, bytes]:
    """Every script, store file and README of every fix, by path relative to the fix folder."""
    files: dict[str, bytes] = {"README.md": _overview(diagnosis).encode()}
    for index, cause in enumerate(diagnosis.causes, 1):
        files.update(cause_fix_files(index, cause, diagnosis.machine))
    return files


def cause_fix_files(index: int, cause: Cause, machine: Machine) -> dict[str, bytes]:
    """The scripts, store files and README of each fix of one cause (``fix_folder`` paths)."""
    files: dict[str, bytes] = {}
    for fix, check in zip(cause.fixes, cause.what_if, strict=True):
        folder = fix_folder(index, cause, fix)
        rendered, steps = _render(fix, machine)
        rendered["README.md"] = _readme(cause, fix, check, steps, sorted(rendered)).encode()
        files.update({f"{folder}/{name}": data for name, data in rendered.items()})
    for name in files:
        if not _RELATIVE.fullmatch(name) or ".." in name.split("/"):
            raise ValueError(f"refusing to write the fix file {visible(name)!r}")
    return files


def write_fix_dir(
    diagnosis: Diagnosis, folder: Path, loose: Iterable[Path] = (), inputs: Iterable[Path] = ()
) -> list[Path]:
    """Write ``fix_files`` under ``folder`` and cleaned copies of ``loose`` PEM stores (files the
    user named with --root) beside them, all or nothing; returns every path written. No file
    of ``inputs`` (or ``loose``) is ever overwritten."""
    planned = {folder / name: data for name, data in fix_files(diagnosis).items()}
    loose = list(loose)
    planned.update(cleaned_beside(diagnosis, loose))
    return write_files(planned, [*inputs, *loose])


def cleaned_beside(diagnosis: Diagnosis, loose: Iterable[Path]) -> dict[Path, bytes]:
    moves = [
        a
        for cause in diagnosis.causes
        for fix in cause.fixes
        for a in fix.actions
        if isinstance(a, MoveCertificates)
    ]
    sha1s = {ref.sha1 for move in moves for ref in move.certificates}
    out: dict[Path, bytes] = {}
    for path in loose:
        if path.suffix.casefold() not in (".pem", ".crt") or not sha1s:
            continue
        kept, _ = move_in_files(path, None, sha1s)
        out[cleaned_name(path)] = kept
    return out


def _render(fix: Fix, machine: Machine) -> tuple[dict[str, bytes], str]:
    files: dict[str, bytes] = {}
    steps: list[str] = []
    settings = [a for a in fix.actions if isinstance(a, SetSchannelValue)]
    try:
        if settings:
            files["schannel.reg"] = schannel_reg(settings)
    except ValueError as exc:
        steps.append(f"No .reg file written: {visible(str(exc))}.")
        settings = []
    if settings:
        steps.append(
            "Import `schannel.reg` (`reg import schannel.reg`, elevated) after backing up the "
            "key, then **reboot**: "
            + ", ".join(f"{a.name}={a.value}" for a in settings)
            + "".join(f"; delete the misspelled {name}" for a in settings for name in a.remove)
        )
    for action in fix.actions:
        try:
            steps.extend(_render_action(action, fix, machine, files))
        except ValueError as exc:  # a value failed its grammar: no script rather than a bad one
            steps.append(f"No script written for this step: {visible(str(exc))}.")
    return files, "\n".join(f"{i}. {s}" for i, s in enumerate(steps, 1))


def _render_action(
    action: Action, fix: Fix, machine: Machine, files: dict[str, bytes]
) -> list[str]:
    if isinstance(action, MoveCertificates):
        name = f"move-{action.source}-to-{action.target}.ps1".lower()
        files[name] = move_script(action, fix.label, fix.title).encode("utf-8-sig")
        files.update(_store_equivalents(action, machine))
        return [
            f"Run `{name} -WhatIf` (elevated PowerShell) to see what it would do, then `{name}`: "
            f"it asks, then backs up {action.source} (Export-Certificate -Type SST) and moves "
            f"{len(action.certificates)} certificate(s) (`-Confirm:$false` to skip the "
            "question). `stores/` holds the same change made to the bundle's store files."
        ]
    if isinstance(action, ChangeGroupPolicy):
        return _render_gpo(action, fix, files)
    if isinstance(action, ImportCertificates):
        store_name(action.store)  # before any file is named after it
        cers = [f"{action.store}-{i}.cer" for i, _ in enumerate(action.certificates, 1)]
        files.update({n: c.der for n, c in zip(cers, action.certificates, strict=True)})
        name = f"import-{action.store}.ps1".lower()
        files[name] = import_script(action, cers, fix.label, fix.title).encode("utf-8-sig")
        return [
            f"Run `{name} -WhatIf`, then `{name}` (it asks before each import; "
            f"`-Confirm:$false` to skip the question), to import into {action.store}."
        ]
    if isinstance(action, UpdateBinding):
        try:
            files["update-binding.cmd"] = netsh_script(action, fix.label, fix.title).encode()
        except ValueError as exc:
            return [f"No netsh script: {visible(str(exc))}."]
        return [
            "Run `update-binding.cmd` (elevated): it prints the netsh command(s); "
            "`update-binding.cmd apply` runs them, saving the binding first. Every other "
            "setting of the binding is written back as read."
        ]
    if isinstance(action, MoveMappingSection):
        return [f"Move the certificate mapping section from '{action.path}' to '{action.target}'."]
    if isinstance(action, Manual):
        return [action.text]
    return []


def _render_gpo(action: ChangeGroupPolicy, fix: Fix, files: dict[str, bytes]) -> list[str]:
    name = f"gpo-move-{action.source}-to-{action.target}.ps1".lower()
    files[name] = gpo_script(action, fix.label, fix.title).encode("utf-8-sig")
    thumbprints = ", ".join(r.sha1 for r in action.certificates)
    source = GPO_PATHS.get(action.source, action.source)
    target = GPO_PATHS.get(action.target, action.target)
    return [
        f"Group Policy delivers {len(action.certificates)} certificate(s) ({thumbprints}) to "
        f"{action.source}: change the GPO, not the server. With the GroupPolicy module, run "
        f"`{name} -WhatIf`, then `{name}` (it asks before changing each GPO): it finds every "
        "GPO that carries them under "
        f"`{action.source}`, backs it up and moves them to `{action.target}`. Without it, in "
        f"the Group Policy Management Editor: delete them at `{source}` and "
        f"import them at `{target}`.",
        "On each server: `gpupdate /target:computer /force`, then check with "
        f"`certutil -store -grouppolicy {action.source}` that they are gone.",
    ]


def _store_equivalents(action: MoveCertificates, machine: Machine) -> dict[str, bytes]:
    source, target = machine.store(action.source), machine.store(action.target)
    if not len(source):
        return {}
    fmt = "sst" if ".sst" in (source.certificates[0].source or "").casefold() else "pem"
    kept, added = move_between(
        source.certificates, target.certificates, [r.sha1 for r in action.certificates]
    )
    return {
        f"stores/{action.source}.{fmt}": store_bytes(kept, fmt),
        f"stores/{action.target}.{fmt}": store_bytes(added, fmt),
    }


def _readme(cause: Cause, fix: Fix, check: FixCheck, steps: str, names: list[str]) -> str:
    keys = [str(k) for a in fix.actions for k in what_if_keys(a)]
    lines = [
        f"# Fix {fix.label}{' (preferred)' if fix.preferred else ''}: {fix.title}",
        "",
        f"Cause `{cause.id}` ({cause.confidence.value} confidence): {cause.title}.",
        "",
        cause.summary,
        "",
        "## Steps",
        "",
        steps or "(nothing to run)",
        "",
        "## What-if",
        "",
        *_what_if_lines(check),
    ]
    if keys:
        lines += [
            "",
            "Rerun it yourself: `certgate verify CLIENT.pem --machine BUNDLE "
            + " ".join(f"--what-if {k}" for k in keys)
            + "`",
        ]
    if fix.reboot or fix.notes:
        lines += ["", "## Notes", ""]
        lines += ["- **Reboot required.**"] if fix.reboot else []
        lines += [f"- {note}" for note in fix.notes]
    files = [n for n in names if n != "README.md"]
    if files:
        lines += ["", "## Files", "", *(f"- `{n}`" for n in files)]
    return visible_lines("\n".join(lines) + "\n")


def _what_if_lines(check: FixCheck) -> list[str]:
    if not check.modelled:
        return [
            "Not modelled: this fix is outside the machine (the client side, or a manual step)."
        ]
    if check.error:
        return [f"Could not be applied to the copy of the machine: {check.error}."]
    out = [f"- the cause {'no longer holds' if check.cause_gone else 'still holds'} after the fix"]
    out += [
        f"- '{c.subject}' [{c.sha1[:8]}]: {c.before} ({c.before_code}) -> {c.after} "
        f"({c.after_code})"
        for c in check.clients
    ]
    return out if check.clients else [*out, "- no sample client certificate was given"]


def _overview(diagnosis: Diagnosis) -> str:
    lines = ["# certgate doctor: fixes", ""]
    if not diagnosis.causes:
        return "\n".join([*lines, "No cause found: nothing to fix."]) + "\n"
    for index, cause in enumerate(diagnosis.causes, 1):
        lines.append(f"{index}. `{cause.id}` ({cause.confidence.value}): {cause.title}")
        lines += [f"   - `{fix_folder(index, cause, f)}`: {f.title}" for f in cause.fixes]
    lines += [
        "",
        "Nothing changes without your consent: the PowerShell scripts ask before each change "
        "(`-WhatIf` previews, `-Confirm:$false` applies unattended); `update-binding.cmd` only "
        "prints its commands unless started as `update-binding.cmd apply`.",
    ]
    return visible_lines("\n".join(lines) + "\n")
