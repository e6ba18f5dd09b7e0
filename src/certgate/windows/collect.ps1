<#
.SYNOPSIS
    certgate machine-bundle collector for servers without Python.

.DESCRIPTION
    Run in an elevated PowerShell (3.0 or later, .NET Framework 4.5 or later) on the IIS or
    HTTP.sys server. Writes one zip that `certgate machine show`, `certgate audit --machine` and
    `certgate verify --machine` read:

        stores\<StoreName>.sst      every LocalMachine store, custom CTL stores included
                                    (public certificates and friendly names only)
        schannel.reg                reg export of ...\SecurityProviders\SCHANNEL
        registry\*.reg              reg export of HTTP\Parameters\SslBindingInfo (and SNI, CCS)
        netsh-sslcert.txt           netsh http show sslcert
        applicationHost.config      IIS configuration, secrets redacted (see manifest.json)
        iis\sites\<site>\...\web.config
        logs\iis, logs\httperr      IIS and HTTP.sys logs of the last -LogDays days
        logs\events\*.evtx          Schannel events (System log) and CAPI2 operational events
        physical-stores.json        physical store(s) of each certificate in Root, CA and
                                    ClientAuthIssuer (registry, group-policy, enterprise, ...)
        manifest.json               what each step did

    No private key is read or exported: certificates are copied from their raw bytes, which
    carry no key and no link to one. Secrets in IIS configuration (passwords in any quoting,
    connection strings, machineKey keys, <add> values, encrypted sections) are blanked.
    A step that fails is recorded in manifest.json and the others still run.

.PARAMETER OutFile
    The zip to write. Default: certgate-bundle-<COMPUTERNAME>-<time>.zip in the current folder.

.PARAMETER LogDays
    Copy IIS and HTTPERR log files changed in the last LogDays days (default 7).

.PARAMETER MaxLogBytes
    Stop copying logs past this many bytes (default 200 MB).

.EXAMPLE
    powershell -ExecutionPolicy Bypass -File collect.ps1 -OutFile C:\temp\bundle.zip
#>
[CmdletBinding()]
param(
    [string]$OutFile = '',
    [int]$LogDays = 7,
    [long]$MaxLogBytes = 209715200  # 200 MB
)

Set-StrictMode -Version 2
$ErrorActionPreference = 'Stop'

if (-not $OutFile) {
    $stamp = Get-Date -Format 'yyyyMMdd-HHmmss'
    $OutFile = Join-Path (Get-Location) ("certgate-bundle-{0}-{1}.zip" -f $env:COMPUTERNAME, $stamp)
}
$OutFile = [System.IO.Path]::GetFullPath($OutFile)
$work = Join-Path ([System.IO.Path]::GetTempPath()) ('certgate-' + [guid]::NewGuid().ToString('N'))
$steps = New-Object System.Collections.ArrayList
$utf8 = New-Object System.Text.UTF8Encoding($false)

function New-Folder([string]$Path) {
    New-Item -ItemType Directory -Path $Path -Force | Out-Null
    return $Path
}

function Add-Step([string]$Name, [scriptblock]$Action) {
    try {
        $detail = & $Action
        [void]$steps.Add([ordered]@{ name = $Name; status = 'ok'; detail = "$detail" })
    } catch {
        [void]$steps.Add([ordered]@{ name = $Name; status = 'failed'; detail = $_.Exception.Message })
        Write-Warning "$Name failed: $($_.Exception.Message)"
    }
}

# Secrets out of IIS configuration (the same patterns as certgate.windows.redact, which a test
# keeps identical): the value is blanked, names, quotes and line breaks stay, so line numbers
# still match; what was blanked (file, line, which value; never the value) goes to manifest.json.
$Placeholder = '[redacted by certgate]'
$SecretAttribute = '(?is)(?<![\w.:-])([\w.:-]*(?:password|passwd|pwd|secret|token|apikey|api-key|api_key|connectionstring|validationkey|decryptionkey|privatekey|accesskey|sharedkey|credential)[\w.:-]*)(\s*=\s*)([\"''])(.*?)\3'
$EncryptedAttribute = '(?is)(?<![\w.:-])([\w.:-]+)(\s*=\s*)([\"''])(\[enc:[^\"'']*)\3'
$CipherValue = '(?is)(<(?:[\w.-]+:)?CipherValue\b[^>]*>)(.*?)(</(?:[\w.-]+:)?CipherValue\s*>)'
$AddElement = '(?is)<add\b(?:[^>\"'']|\"[^\"]*\"|''[^'']*'')*>'
$AddValue = '(?is)(?<![\w.:-])(value)(\s*=\s*)([\"''])(.*?)\3'
$script:redacted = New-Object System.Collections.ArrayList

function Get-LineNumber([string]$Text, [int]$Index) {
    return $Text.Substring(0, $Index).Split("`n").Count
}

function Hide-Group([string]$Text, [string]$Pattern, [int]$Group, [string]$What, [string]$File, [int]$FirstLine) {
    $evaluator = {
        param($m)
        $g = $m.Groups[$Group]
        if ($g.Value.Trim("`n") -eq $Placeholder) { return $m.Value }
        $label = $What -replace '\{1\}', $m.Groups[1].Value
        $line = $FirstLine + (Get-LineNumber $Text $g.Index) - 1
        [void]$script:redacted.Add([ordered]@{ file = $File; line = $line; what = $label })
        $kept = $Placeholder + ("`n" * ($g.Value.Split("`n").Count - 1))
        $start = $g.Index - $m.Index
        return $m.Value.Substring(0, $start) + $kept + $m.Value.Substring($start + $g.Length)
    }
    return [regex]::Replace($Text, $Pattern, [System.Text.RegularExpressions.MatchEvaluator]$evaluator)
}

function Hide-Secrets([string]$Text, [string]$File) {
    $t = Hide-Group $Text $SecretAttribute 4 '{1} attribute' $File 1
    $t = Hide-Group $t $EncryptedAttribute 4 '{1} (encrypted)' $File 1
    $t = Hide-Group $t $CipherValue 2 'encrypted section (CipherValue)' $File 1
    $outer = {
        param($e)
        Hide-Group $e.Value $AddValue 4 'value of an <add> element' $File (Get-LineNumber $t $e.Index)
    }
    return [regex]::Replace($t, $AddElement, [System.Text.RegularExpressions.MatchEvaluator]$outer)
}

function Export-Stores {
    $folder = New-Folder (Join-Path $work 'stores')
    $report = New-Object System.Collections.ArrayList
    $empty = [byte[]](@(0, 0, 0, 0, 0x43, 0x45, 0x52, 0x54) + @(0) * 12)
    foreach ($name in (Get-ChildItem Cert:\LocalMachine | ForEach-Object { $_.Name })) {
        if ($name -notmatch '^[A-Za-z0-9][A-Za-z0-9 _.\-]*$') {
            [void]$report.Add("${name}: skipped (name not usable as a file name)")
            continue
        }
        $store = New-Object System.Security.Cryptography.X509Certificates.X509Store($name, 'LocalMachine')
        try {
            $store.Open('ReadOnly, OpenExistingOnly')
            $copy = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2Collection
            foreach ($cert in $store.Certificates) {
                # A new object from the raw bytes: no key and no key-provider link come along.
                $public = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList (, $cert.RawData)
                if ($cert.FriendlyName) { $public.FriendlyName = $cert.FriendlyName }
                [void]$copy.Add($public)
            }
            $bytes = $null
            if ($copy.Count -gt 0) { $bytes = $copy.Export('SerializedStore') }
            if ($null -eq $bytes) { $bytes = $empty }
            [System.IO.File]::WriteAllBytes((Join-Path $folder "$name.sst"), $bytes)
            [void]$report.Add("${name}: $($copy.Count)")
        } catch {
            [void]$report.Add("${name}: $($_.Exception.Message)")
        } finally {
            $store.Close()
        }
    }
    return ($report -join '; ')
}

function Export-PhysicalStores {
    # Each physical store is a registry key with one sub-key per certificate, named by its
    # SHA-1 thumbprint ("System Store Locations", learn.microsoft.com). Registry, not certutil:
    # certutil's output is localized.
    $sw = 'HKLM:\SOFTWARE'
    $entries = New-Object System.Collections.ArrayList
    foreach ($store in @('Root', 'CA', 'ClientAuthIssuer')) {
        $keys = [ordered]@{
            'registry'     = "$sw\Microsoft\SystemCertificates\$store\Certificates"
            'group-policy' = "$sw\Policies\Microsoft\SystemCertificates\$store\Certificates"
            'enterprise'   = "$sw\Microsoft\EnterpriseCertificates\$store\Certificates"
        }
        if ($store -eq 'Root') {
            $keys['auth-root'] = "$sw\Microsoft\SystemCertificates\AuthRoot\Certificates"
            $keys['smart-card'] = "$sw\Microsoft\SystemCertificates\SmartCardRoot\Certificates"
        }
        foreach ($physical in $keys.Keys) {
            if (-not (Test-Path -LiteralPath $keys[$physical])) { continue }
            foreach ($sub in (Get-ChildItem -LiteralPath $keys[$physical])) {
                if ($sub.PSChildName -notmatch '^[0-9A-Fa-f]{40}$') { continue }
                [void]$entries.Add([ordered]@{
                    store = $store; thumbprint = $sub.PSChildName.ToUpperInvariant()
                    physical = @($physical)
                })
            }
        }
    }
    $document = [ordered]@{
        schema       = 'certgate.physical-stores/1'
        stores       = @('Root', 'CA', 'ClientAuthIssuer')
        certificates = @($entries)
    }
    $json = ConvertTo-Json -InputObject $document -Depth 5
    [System.IO.File]::WriteAllText((Join-Path $work 'physical-stores.json'), $json, $utf8)
    return "$($entries.Count) certificate placement(s)"
}

function Export-RegistryKey([string]$Key, [string]$Target) {
    $null = New-Folder (Split-Path -Parent $Target)
    & reg.exe export $Key $Target /y 2>&1 | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "$Key does not exist or cannot be read (reg export exit $LASTEXITCODE)" }
    return "$Key"
}

function Export-Netsh {
    $text = (& netsh.exe http show sslcert) -join "`r`n"
    if ($LASTEXITCODE -ne 0) { throw "netsh http show sslcert exited $LASTEXITCODE" }
    [System.IO.File]::WriteAllText((Join-Path $work 'netsh-sslcert.txt'), $text, $utf8)
    return "$($text.Length) characters"
}

$iisConfigPath = Join-Path $env:windir 'System32\inetsrv\config\applicationHost.config'
$script:iisConfig = $null

function Export-IisConfig {
    $before = $script:redacted.Count
    $text = Hide-Secrets ([System.IO.File]::ReadAllText($iisConfigPath)) 'applicationHost.config'
    [System.IO.File]::WriteAllText((Join-Path $work 'applicationHost.config'), $text, $utf8)
    $script:iisConfig = [xml]$text
    return "$($script:redacted.Count - $before) secret(s) redacted"
}

function Export-WebConfigs {
    if ($null -eq $script:iisConfig) { throw 'no applicationHost.config' }
    $count = 0
    foreach ($site in $script:iisConfig.SelectNodes('/configuration/system.applicationHost/sites/site')) {
        foreach ($app in $site.SelectNodes('application')) {
            $root = $app.SelectSingleNode("virtualDirectory[@path='/']")
            if ($null -eq $root) { continue }
            $physical = [Environment]::ExpandEnvironmentVariables($root.GetAttribute('physicalPath'))
            $source = Join-Path $physical 'web.config'
            if (-not (Test-Path -LiteralPath $source -PathType Leaf)) { continue }
            $relative = $app.GetAttribute('path').Trim('/')
            $target = Join-Path (Join-Path (Join-Path $work 'iis\sites') $site.GetAttribute('name')) $relative
            $null = New-Folder $target
            $name = (@('iis/sites', $site.GetAttribute('name'), $relative, 'web.config') | Where-Object { $_ }) -join '/'
            $text = Hide-Secrets ([System.IO.File]::ReadAllText($source)) $name
            [System.IO.File]::WriteAllText((Join-Path $target 'web.config'), $text, $utf8)
            $count++
        }
    }
    return "$count web.config file(s)"
}

function Copy-RecentLogs {
    $since = (Get-Date).AddDays(-$LogDays)
    $iisLogs = '%SystemDrive%\inetpub\logs\LogFiles'
    if ($null -ne $script:iisConfig) {
        $node = $script:iisConfig.SelectSingleNode('/configuration/system.applicationHost/sites/siteDefaults/logFile')
        if ($null -ne $node -and $node.GetAttribute('directory')) { $iisLogs = $node.GetAttribute('directory') }
    }
    $sources = @(
        @{ prefix = 'logs\iis'; root = [Environment]::ExpandEnvironmentVariables($iisLogs) },
        @{ prefix = 'logs\httperr'; root = (Join-Path $env:windir 'System32\LogFiles\HTTPERR') }
    )
    $budget = $MaxLogBytes
    $copied = 0
    foreach ($source in $sources) {
        if (-not (Test-Path -LiteralPath $source.root -PathType Container)) { continue }
        $rootPath = (Resolve-Path -LiteralPath $source.root).ProviderPath.TrimEnd('\')
        $files = Get-ChildItem -LiteralPath $rootPath -Recurse -File | Where-Object { $_.LastWriteTime -ge $since }
        foreach ($file in $files) {
            if ($file.Length -gt $budget) { return "$copied file(s); stopped at the log budget" }
            $relative = $file.FullName.Substring($rootPath.Length).TrimStart('\')
            $target = Join-Path (Join-Path $work $source.prefix) $relative
            $null = New-Folder (Split-Path -Parent $target)
            Copy-Item -LiteralPath $file.FullName -Destination $target
            $budget -= $file.Length
            $copied++
        }
    }
    return "$copied file(s) changed since $($since.ToString('yyyy-MM-dd'))"
}

function Export-Events {
    $folder = New-Folder (Join-Path $work 'logs\events')
    & wevtutil.exe epl System (Join-Path $folder 'schannel-system.evtx') "/q:*[System[Provider[@Name='Schannel']]]"
    $schannel = $LASTEXITCODE
    & wevtutil.exe epl 'Microsoft-Windows-CAPI2/Operational' (Join-Path $folder 'capi2-operational.evtx')
    $capi2 = $LASTEXITCODE
    return "Schannel export exit $schannel; CAPI2 export exit $capi2"
}

$null = New-Folder $work
try {
    $schannelKey = 'HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL'
    $httpKey = 'HKLM\SYSTEM\CurrentControlSet\Services\HTTP\Parameters'
    Add-Step 'stores' { Export-Stores }
    Add-Step 'physical-stores.json' { Export-PhysicalStores }
    Add-Step 'schannel.reg' { Export-RegistryKey $schannelKey (Join-Path $work 'schannel.reg') }
    foreach ($name in @('SslBindingInfo', 'SslSniBindingInfo', 'SslCcsBindingInfo')) {
        $target = Join-Path $work ("registry\http-{0}.reg" -f $name.ToLowerInvariant())
        Add-Step "registry\$name" { Export-RegistryKey "$httpKey\$name" $target }
    }
    Add-Step 'netsh-sslcert.txt' { Export-Netsh }
    Add-Step 'applicationHost.config' { Export-IisConfig }
    Add-Step 'web.config' { Export-WebConfigs }
    Add-Step 'logs' { Copy-RecentLogs }
    Add-Step 'events' { Export-Events }

    $manifest = [ordered]@{
        collector    = 'certgate collect.ps1 (powershell)'
        host         = $env:COMPUTERNAME
        os           = [System.Environment]::OSVersion.VersionString
        collected_at = (Get-Date).ToUniversalTime().ToString('o')
        bundle_format = 2
        steps        = $steps
        redacted     = $script:redacted
    }
    [System.IO.File]::WriteAllText((Join-Path $work 'manifest.json'), ($manifest | ConvertTo-Json -Depth 4), $utf8)

    Add-Type -AssemblyName System.IO.Compression.FileSystem
    $partial = "$OutFile.partial"
    if (Test-Path -LiteralPath $partial) { Remove-Item -LiteralPath $partial -Force }
    [System.IO.Compression.ZipFile]::CreateFromDirectory($work, $partial)
    Move-Item -LiteralPath $partial -Destination $OutFile -Force
    Write-Host "certgate bundle written: $OutFile"
    Write-Host "Next, on any machine with certgate:  certgate machine show `"$OutFile`""
} finally {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}
