"""Fix actions -> script text: PowerShell, .reg, netsh in a .cmd.

Safe by default: the PowerShell scripts are ``SupportsShouldProcess`` with ``ConfirmImpact =
'High'``, so PowerShell asks before every change, ``-WhatIf`` shows what would be done and
``-Confirm:$false`` applies unattended; the .cmd only prints its commands unless given
``apply``. Every value the scripts did not write themselves goes through ``remedy._safe``
(grammar-checked identifiers, quoted strings, defused comments) or the script is refused."""

from __future__ import annotations

from certgate.core.doctor import (
    CertRef,
    ChangeGroupPolicy,
    ImportCertificates,
    MoveCertificates,
    SetSchannelValue,
    UpdateBinding,
)
from certgate.formats.netsh_command import (
    binding_command,
    binding_from_command,
    parse_netsh_command,
)
from certgate.formats.reg import RegKey, RegType, RegValue, dump_reg
from certgate.formats.regkeys import SCHANNEL_KEY
from certgate.remedy._safe import (
    cmd_comment,
    ps_comment,
    ps_string,
    reg_value_name,
    store_name,
    thumbprint,
)

__all__ = [
    "gpo_script",
    "import_script",
    "move_script",
    "netsh_script",
    "schannel_reg",
]


_HEADER = """\
<#
  certgate doctor, fix {label}: {title}
  {what}
  Changes nothing unless you agree: PowerShell asks before each change. Preview with -WhatIf;
  apply without questions with -Confirm:$false.
  Idempotent: run it again and it reports that nothing is left to do.
  Run elevated (Administrator) on the server.
#>
[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
param(
    [string]$BackupFolder = $PSScriptRoot
)
$ErrorActionPreference = 'Stop'
"""


def _header(template: str, label: str, title: str, what: str) -> str:
    return template.format(label=ps_comment(label), title=ps_comment(title), what=ps_comment(what))


def _thumbprint_list(refs: tuple[CertRef, ...]) -> str:
    return "\n".join(
        f"    {ps_string(thumbprint(ref.sha1))}  # {ps_comment(ref.subject)}" for ref in refs
    )


_POLICY_KEY = "HKLM:\\SOFTWARE\\Policies\\Microsoft\\SystemCertificates\\{}\\Certificates"
_ENTERPRISE_KEY = "HKLM:\\SOFTWARE\\Microsoft\\EnterpriseCertificates\\{}\\Certificates"


def move_script(action: MoveCertificates, label: str, title: str) -> str:
    """Back up the source store (Export-Certificate -Type SST), then move each certificate."""
    source, target = store_name(action.source), store_name(action.target)
    what = (
        f"Moves {len(action.certificates)} certificate(s) from Cert:\\LocalMachine\\{source} to "
        f"Cert:\\LocalMachine\\{target}, after backing up {source} with Export-Certificate "
        "-Type SST."
    )
    body = f"""\
$SourceName = {ps_string(source)}
$TargetName = {ps_string(target)}
$Source = Join-Path 'Cert:\\LocalMachine' $SourceName
$Target = Join-Path 'Cert:\\LocalMachine' $TargetName
$Thumbprints = @(
{_thumbprint_list(action.certificates)}
)
# A certificate that Group Policy or Active Directory delivers comes back at the next refresh:
# this script is not the fix for it (certgate doctor writes a GPO fix instead).
$Delivered = @(
    {ps_string(_POLICY_KEY.format(source))},
    {ps_string(_ENTERPRISE_KEY.format(source))}
)
$refused = @($Thumbprints | Where-Object {{
    $thumbprint = $_
    @($Delivered | Where-Object {{ Test-Path -Path (Join-Path $_ $thumbprint) }}).Count -gt 0
}})
if ($refused.Count -gt 0) {{
    Write-Warning ("Not moved: $($refused -join ', ') sits in $SourceName by Group Policy or " +
        'Active Directory; a local move is undone at the next refresh. Fix the GPO instead ' +
        '(certgate doctor --fix-dir writes that fix).')
    $Thumbprints = @($Thumbprints | Where-Object {{ $refused -notcontains $_ }})
    if ($Thumbprints.Count -eq 0) {{ exit 1 }}
}}
$present = @(Get-ChildItem -Path $Source | Where-Object {{ $Thumbprints -contains $_.Thumbprint }})
if ($present.Count -eq 0) {{
    Write-Output "Nothing to do: none of these certificates is in $SourceName any more."
    return
}}
$change = "Back up $SourceName, then move $($present.Count) certificate(s) to $TargetName"
if (-not $PSCmdlet.ShouldProcess($Source, $change)) {{
    foreach ($cert in $present) {{
        Write-Output "Not moved: $($cert.Thumbprint) $($cert.Subject)"
    }}
    return
}}
$stamp = Get-Date -Format 'yyyyMMdd-HHmmss'
$backup = Join-Path $BackupFolder "$SourceName-backup-$stamp.sst"
$all = @(Get-ChildItem -Path $Source)
Export-Certificate -Cert $all -Type SST -FilePath $backup | Out-Null
Write-Output "Backed up $($all.Count) certificate(s) of $SourceName to $backup"
foreach ($cert in $present) {{
    $from = Join-Path $Source $cert.Thumbprint
    if (Test-Path -Path (Join-Path $Target $cert.Thumbprint)) {{
        Write-Output "$($cert.Thumbprint) is already in ${{TargetName}}: removing the copy"
        Remove-Item -Path $from -Confirm:$false
    }} else {{
        Write-Output "$($cert.Thumbprint) $($cert.Subject): $SourceName -> $TargetName"
        Move-Item -Path $from -Destination $Target -Confirm:$false
    }}
}}
"""
    return _header(_HEADER, label, title, what) + body


_GPO_HEADER = """\
<#
  certgate doctor, fix {label}: {title}
  {what}
  Run on a machine with the GroupPolicy module (RSAT Group Policy Management Tools), as a user
  who may edit the GPO. PowerShell asks before changing each GPO (preview with -WhatIf, apply
  without questions with -Confirm:$false); each changed GPO is backed up first (Backup-GPO).
  Idempotent: run it again and it finds nothing left to move.
#>
[CmdletBinding(SupportsShouldProcess = $true, ConfirmImpact = 'High')]
param(
    [string]$GpoName = '',
    [string]$BackupFolder = $PSScriptRoot
)
$ErrorActionPreference = 'Stop'
Import-Module GroupPolicy
"""


def gpo_script(action: ChangeGroupPolicy, label: str, title: str) -> str:
    """Find the GPO(s) carrying the certificates under the source store's policy key and move
    each registry value set (the certificate blob) to the target store's key."""
    source, target = store_name(action.source), store_name(action.target)
    what = (
        f"Moves {len(action.certificates)} certificate(s) from {source} to {target} in every "
        "GPO that delivers them (or only in -GpoName)."
    )
    body = f"""\
$SourceName = {ps_string(source)}
$TargetName = {ps_string(target)}
$Policies = 'HKLM\\Software\\Policies\\Microsoft\\SystemCertificates'
$SourceKey = "$Policies\\$SourceName\\Certificates"
$TargetKey = "$Policies\\$TargetName\\Certificates"
$Thumbprints = @(
{_thumbprint_list(action.certificates)}
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
        $change = "Back up the GPO, then move $thumbprint from $SourceName to $TargetName"
        if (-not $PSCmdlet.ShouldProcess("GPO '$name'", $change)) {{ continue }}
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
        Write-Output ("GPO '$name': $thumbprint moved from $SourceName to $TargetName " +
            "(backup in $BackupFolder)")
    }}
}}
if ($found -eq 0) {{
    Write-Output ("No GPO found that delivers these certificates to ${{SourceName}}: " +
        'already fixed, or delivered by a GPO of another domain (use -GpoName) or local policy.')
}} else {{
    Write-Output ('Then on each server: gpupdate /target:computer /force; check with ' +
        "certutil -store -grouppolicy $SourceName")
}}
"""
    return _header(_GPO_HEADER, label, title, what) + body


def import_script(action: ImportCertificates, files: list[str], label: str, title: str) -> str:
    """Import the ``.cer`` files written beside the script, skipping those already present."""
    store = store_name(action.store)
    names = ",\n".join(f"    {ps_string(name)}" for name in files)
    what = (
        f"Imports {len(files)} certificate(s) into Cert:\\LocalMachine\\{store} from the .cer "
        "files beside it."
    )
    body = f"""\
$StoreName = {ps_string(store)}
$Store = Join-Path 'Cert:\\LocalMachine' $StoreName
$Files = @(
{names}
)
foreach ($file in $Files) {{
    $path = Join-Path $PSScriptRoot $file
    $cert = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2($path)
    if (Test-Path -Path (Join-Path $Store $cert.Thumbprint)) {{
        Write-Output "$($cert.Thumbprint) is already in ${{StoreName}}: nothing to do"
    }} elseif ($PSCmdlet.ShouldProcess($Store, "Import $($cert.Subject)")) {{
        Import-Certificate -FilePath $path -CertStoreLocation $Store | Out-Null
        Write-Output "Imported $($cert.Subject) into $StoreName"
    }}
}}
"""
    return _header(_HEADER, label, title, what) + body


def schannel_reg(actions: list[SetSchannelValue]) -> bytes:
    """A .reg file as ``reg export`` writes it (UTF-16LE with BOM, CRLF): the values to set
    and the misspelled ones to delete. Importing it twice gives the same registry."""
    values: list[RegValue] = []
    for action in actions:
        if not 0 <= action.value <= 0xFFFFFFFF:
            raise ValueError(f"{action.value} is not a REG_DWORD value")
        values.append(RegValue(reg_value_name(action.name), RegType.DWORD, action.value, 0))
        values.extend(
            RegValue(reg_value_name(name), RegType.DELETE, None, 0) for name in action.remove
        )
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
    after = action.after
    if action.change.removes_ctl_store:
        commands = [binding_command(after, "delete"), binding_command(after, "add")]
    else:
        commands = [binding_command(after, "update")]
    show = binding_command(after, "show")
    for command in [*commands, show]:
        _check_netsh(command)
    endpoint = show.removeprefix("netsh http show sslcert ")
    shown = "\r\n".join(f"  echo   {c}" for c in commands)
    run = "\r\n".join(f"{c}\r\nif errorlevel 1 exit /b 1" for c in commands)
    return (
        "@echo off\r\n"
        f"rem certgate doctor, fix {cmd_comment(label)}: {cmd_comment(title)}\r\n"
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


def _check_netsh(command: str) -> None:
    """Every value must match netsh's grammar (``formats.netsh_command``) and read back as
    written: no cmd.exe metacharacter, quote or second command can then be in the line."""
    try:
        parsed = parse_netsh_command(command)
    except ValueError as exc:
        raise ValueError(f"a binding value is not valid for netsh ({exc})") from None
    if parsed.verb in ("add", "update"):
        again = binding_command(binding_from_command(parsed), parsed.verb)
        if again != command:
            raise ValueError("a binding value does not read back as written")
    if any(ch in command for ch in "%!^&|<>()\r\n"):
        raise ValueError("a binding value holds a character cmd.exe would interpret")
