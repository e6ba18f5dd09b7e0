"""Fix actions -> script text: PowerShell, .reg, netsh in a .cmd. Safe by default: each
script only shows what it would do unless told to apply (``-Apply`` / ``apply``)."""

from __future__ import annotations

from certgate.core.doctor import (
    ChangeGroupPolicy,
    ImportCertificates,
    MoveCertificates,
    SetSchannelValue,
    UpdateBinding,
    updated_binding,
)
from certgate.formats.netsh_command import binding_command
from certgate.formats.reg import RegKey, RegType, RegValue, dump_reg

__all__ = [
    "SCHANNEL_KEY",
    "gpo_script",
    "import_script",
    "move_script",
    "netsh_script",
    "schannel_reg",
]

SCHANNEL_KEY = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL"


def _ps_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


_HEADER = """\
<#
  certgate doctor, fix {label}: {title}
  {what}
  Dry run unless -Apply is given (every change is shown with -WhatIf first).
  Idempotent: run it again and it reports that nothing is left to do.
  Run elevated (Administrator) on the server.
#>
[CmdletBinding()]
param(
    [switch]$Apply,
    [string]$BackupFolder = $PSScriptRoot
)
$ErrorActionPreference = 'Stop'
$DryRun = -not $Apply
"""


def move_script(action: MoveCertificates, label: str, title: str) -> str:
    """Back up the source store (Export-Certificate -Type SST), then move each certificate."""
    source = f"Cert:\\LocalMachine\\{action.source}"
    target = f"Cert:\\LocalMachine\\{action.target}"
    listed = "\n".join(
        f"    {_ps_string(ref.sha1)}  # {ref.subject.replace(chr(10), ' ')}"
        for ref in action.certificates
    )
    what = (
        f"Moves {len(action.certificates)} certificate(s) from {source} to {target}, after "
        f"backing up {action.source} with Export-Certificate -Type SST."
    )
    body = f"""\
$Source = {_ps_string(source)}
$Target = {_ps_string(target)}
$Thumbprints = @(
{listed}
)
# A certificate that Group Policy or Active Directory delivers comes back at the next refresh:
# this script is not the fix for it (certgate doctor writes a GPO fix instead).
$Delivered = @(
    'HKLM:\\SOFTWARE\\Policies\\Microsoft\\SystemCertificates\\{action.source}\\Certificates',
    'HKLM:\\SOFTWARE\\Microsoft\\EnterpriseCertificates\\{action.source}\\Certificates'
)
$refused = @($Thumbprints | Where-Object {{
    $thumbprint = $_
    @($Delivered | Where-Object {{ Test-Path -Path (Join-Path $_ $thumbprint) }}).Count -gt 0
}})
if ($refused.Count -gt 0) {{
    Write-Warning ("Not moved: $($refused -join ', ') sits in {action.source} by Group Policy or " +
        'Active Directory; a local move is undone at the next refresh. Fix the GPO instead ' +
        '(certgate doctor --fix-dir writes that fix).')
    $Thumbprints = @($Thumbprints | Where-Object {{ $refused -notcontains $_ }})
    if ($Thumbprints.Count -eq 0) {{ exit 1 }}
}}
$present = @(Get-ChildItem -Path $Source | Where-Object {{ $Thumbprints -contains $_.Thumbprint }})
if ($present.Count -eq 0) {{
    Write-Output 'Nothing to do: none of these certificates is in {action.source} any more.'
    return
}}
if ($DryRun) {{
    Write-Output 'Dry run: run again with -Apply to back up {action.source} and move:'
}} else {{
    $stamp = Get-Date -Format 'yyyyMMdd-HHmmss'
    $backup = Join-Path $BackupFolder "{action.source}-backup-$stamp.sst"
    $all = @(Get-ChildItem -Path $Source)
    Export-Certificate -Cert $all -Type SST -FilePath $backup | Out-Null
    Write-Output "Backed up $($all.Count) certificate(s) of {action.source} to $backup"
}}
foreach ($cert in $present) {{
    $from = Join-Path $Source $cert.Thumbprint
    if (Test-Path -Path (Join-Path $Target $cert.Thumbprint)) {{
        Write-Output "$($cert.Thumbprint) is already in {action.target}: removing the copy"
        Remove-Item -Path $from -WhatIf:$DryRun
    }} else {{
        Write-Output "$($cert.Thumbprint) $($cert.Subject): {action.source} -> {action.target}"
        Move-Item -Path $from -Destination $Target -WhatIf:$DryRun
    }}
}}
"""
    return _HEADER.format(label=label, title=title, what=what) + body


_GPO_HEADER = """\
<#
  certgate doctor, fix {label}: {title}
  {what}
  Run on a machine with the GroupPolicy module (RSAT Group Policy Management Tools), as a user
  who may edit the GPO. Dry run unless -Apply is given; each changed GPO is backed up first
  (Backup-GPO). Idempotent: run it again and it finds nothing left to move.
#>
[CmdletBinding()]
param(
    [switch]$Apply,
    [string]$GpoName = '',
    [string]$BackupFolder = $PSScriptRoot
)
$ErrorActionPreference = 'Stop'
$DryRun = -not $Apply
Import-Module GroupPolicy
"""


def gpo_script(action: ChangeGroupPolicy, label: str, title: str) -> str:
    """Find the GPO(s) carrying the certificates under the source store's policy key and move
    each registry value set (the certificate blob) to the target store's key."""
    policies = "HKLM\\Software\\Policies\\Microsoft\\SystemCertificates"
    listed = "\n".join(
        f"    {_ps_string(ref.sha1)}  # {ref.subject.replace(chr(10), ' ')}"
        for ref in action.certificates
    )
    what = (
        f"Moves {len(action.certificates)} certificate(s) from {action.source} to "
        f"{action.target} in every GPO that delivers them (or only in -GpoName)."
    )
    body = f"""\
$SourceKey = '{policies}\\{action.source}\\Certificates'
$TargetKey = '{policies}\\{action.target}\\Certificates'
$Thumbprints = @(
{listed}
)
$gpos = if ($GpoName) {{ @(Get-GPO -Name $GpoName) }} else {{ @(Get-GPO -All) }}
$found = 0
foreach ($gpo in $gpos) {{
    foreach ($thumbprint in $Thumbprints) {{
        $key = "$SourceKey\\$thumbprint"
        $values = @(Get-GPRegistryValue -Guid $gpo.Id -Key $key -ErrorAction SilentlyContinue)
        if ($values.Count -eq 0) {{ continue }}
        $found++
        $name = $gpo.DisplayName
        if ($DryRun) {{
            Write-Output ("Dry run: GPO '$name' delivers $thumbprint to {action.source}: " +
                'would move it to {action.target} (use -Apply)')
            continue
        }}
        Backup-GPO -Guid $gpo.Id -Path $BackupFolder | Out-Null
        foreach ($value in $values) {{
            if (-not $value.ValueName) {{ continue }}
            $set = @{{
                Guid = $gpo.Id; Key = "$TargetKey\\$thumbprint"; ValueName = $value.ValueName
                Type = $value.Type; Value = $value.Value
            }}
            Set-GPRegistryValue @set | Out-Null
        }}
        Remove-GPRegistryValue -Guid $gpo.Id -Key $key | Out-Null
        Write-Output ("GPO '$name': $thumbprint moved from {action.source} to " +
            "{action.target} (backup in $BackupFolder)")
    }}
}}
if ($found -eq 0) {{
    Write-Output ('No GPO found that delivers these certificates to {action.source}: ' +
        'already fixed, or delivered by a GPO of another domain (use -GpoName) or local policy.')
}} else {{
    Write-Output ('Then on each server: gpupdate /target:computer /force; check with ' +
        'certutil -store -grouppolicy {action.source}')
}}
"""
    return _GPO_HEADER.format(label=label, title=title, what=what) + body


def import_script(action: ImportCertificates, files: list[str], label: str, title: str) -> str:
    """Import the ``.cer`` files written beside the script, skipping those already present."""
    store = f"Cert:\\LocalMachine\\{action.store}"
    names = ",\n".join(f"    {_ps_string(name)}" for name in files)
    what = f"Imports {len(files)} certificate(s) into {store} from the .cer files beside it."
    body = f"""\
$Store = {_ps_string(store)}
$Files = @(
{names}
)
foreach ($file in $Files) {{
    $path = Join-Path $PSScriptRoot $file
    $cert = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2($path)
    if (Test-Path -Path (Join-Path $Store $cert.Thumbprint)) {{
        Write-Output "$($cert.Thumbprint) is already in {action.store}: nothing to do"
    }} elseif ($DryRun) {{
        Write-Output "Dry run: would import $($cert.Subject) into {action.store} (use -Apply)"
    }} else {{
        Import-Certificate -FilePath $path -CertStoreLocation $Store | Out-Null
        Write-Output "Imported $($cert.Subject) into {action.store}"
    }}
}}
"""
    return _HEADER.format(label=label, title=title, what=what) + body


def schannel_reg(actions: list[SetSchannelValue]) -> bytes:
    """A .reg file as ``reg export`` writes it (UTF-16LE with BOM, CRLF): the values to set
    and the misspelled ones to delete. Importing it twice gives the same registry."""
    values: list[RegValue] = []
    for action in actions:
        values.append(RegValue(action.name, RegType.DWORD, action.value, 0))
        values.extend(RegValue(name, RegType.DELETE, None, 0) for name in action.remove)
    text = dump_reg([RegKey(SCHANNEL_KEY, tuple(values))])
    header, rest = text.split("\r\n", 1)
    note = (
        "; certgate doctor: import with  reg import schannel.reg  (back up first:\r\n"
        f'; reg export "{SCHANNEL_KEY.replace("HKEY_LOCAL_MACHINE", "HKLM")}" '
        "schannel-backup.reg), then REBOOT: Schannel reads these values at start-up.\r\n"
    )
    return b"\xff\xfe" + (header + "\r\n" + note + rest).encode("utf-16-le")


def netsh_script(action: UpdateBinding, label: str, title: str) -> str:
    """A .cmd: saves the binding as it is, then updates it with every other setting kept.

    Clearing the CTL store name is a delete and an add: ``update`` is not documented to clear
    a value it is not given.
    """
    after = updated_binding(action.binding, action.changes)
    endpoint = f"{after.kind}={after.endpoint}"
    if ("sslctlstorename", "") in action.changes:
        commands = [binding_command(after, "delete"), binding_command(after, "add")]
    else:
        commands = [binding_command(after, "update")]
    shown = "\r\n".join(f"  echo   {c}" for c in commands)
    run = "\r\n".join(f"{c}\r\nif errorlevel 1 exit /b 1" for c in commands)
    return (
        "@echo off\r\n"
        f"rem certgate doctor, fix {label}: {title}\r\n"
        "rem Dry run unless started as:  fix.cmd apply   (run elevated). Every setting of the\r\n"
        "rem binding other than the change is written back as it was read.\r\n"
        'if /i not "%~1"=="apply" (\r\n'
        "  echo Dry run: would run\r\n"
        f"{shown}\r\n"
        "  exit /b 0\r\n"
        ")\r\n"
        f'netsh http show sslcert {endpoint} > "%~dp0binding-before.txt"\r\n'
        f"{run}\r\n"
        f"netsh http show sslcert {endpoint}\r\n"
    )
