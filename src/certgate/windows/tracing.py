"""How to switch on each trace a client-certificate failure can leave, where it lands, and how to
switch it off again (docs/windows-model.md#schannel-settings, #wcf-svclog, #capi2). Printed by
``certgate collect --tracing NAME``."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RECIPES", "Recipe"]

_KEY = r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL"


@dataclass(frozen=True)
class Recipe:
    name: str
    title: str
    enable: str
    output: str
    disable: str
    notes: str


_WCF = Recipe(
    "wcf",
    "WCF message and activity traces (.svclog)",
    enable=r"""Add this inside <configuration> of the service's config file: the application's
web.config when the service is hosted in IIS, <program>.exe.config beside a self-hosted
service's executable. Create C:\logs first and give the process identity (for IIS:
IIS AppPool\<pool name>) write access to it.

  <system.diagnostics>
    <sources>
      <source name="System.ServiceModel" switchValue="Warning, ActivityTracing"
              propagateActivity="true">
        <listeners>
          <add name="certgate_wcf" type="System.Diagnostics.XmlWriterTraceListener"
               initializeData="C:\logs\wcf.svclog" />
        </listeners>
      </source>
    </sources>
    <trace autoflush="true" />
  </system.diagnostics>

IIS recycles the application when web.config changes; restart a self-hosted service.""",
    output=r"""C:\logs\wcf.svclog: XmlWriterTraceListener records (source System.ServiceModel).
A rejected client certificate is trace HttpsClientCertificateInvalid (EventID 262159):
"Client certificate is invalid with native error code 0x109" on a self-hosted service
(Warning), the plain "Client certificate is invalid." under IIS (Error). "Warning" catches both.
Read it with:  certgate logs C:\logs\wcf.svclog""",
    disable="""Remove the <system.diagnostics> block again (or set switchValue="Off"), then
recycle or restart as above. The file grows for as long as tracing is on.""",
    notes="Trace codes and levels: docs/windows-model.md#wcf-native-error and #wcf-svclog "
    "[confirmed, .NET reference source].",
)

_SYSTEMNET = Recipe(
    "systemnet",
    "System.Net network traces (.NET Framework)",
    enable=r"""Add this inside <configuration> of the config file of the process to trace (the
WCF client's <program>.exe.config to see which issuers the server asked for; a self-hosted
server's config to see the client certificate HttpListener received). Create C:\logs first.

  <system.diagnostics>
    <sources>
      <source name="System.Net">
        <listeners><add name="certgate_net" /></listeners>
      </source>
      <source name="System.Net.HttpListener">
        <listeners><add name="certgate_net" /></listeners>
      </source>
    </sources>
    <switches>
      <add name="System.Net" value="Verbose" />
      <add name="System.Net.HttpListener" value="Verbose" />
    </switches>
    <sharedListeners>
      <add name="certgate_net" type="System.Diagnostics.TextWriterTraceListener"
           initializeData="C:\logs\network.log" traceOutputOptions="ProcessId, DateTime" />
    </sharedListeners>
    <trace autoflush="true" />
  </system.diagnostics>

Restart the process.""",
    output=r"""C:\logs\network.log: lines "System.Net Verbose: 0 : [tid] ...". On the client,
"The server has specified N issuer(s)" followed by "Left with 0 client certificates" is an
issuer-list mismatch (IIS 403.7). On a self-hosted server, GetClientCertificate() shows the
certificate received. Retail builds never print ClientCertificateError itself.
Read it with:  certgate logs C:\logs\network.log""",
    disable="""Remove the block and restart the process. Verbose System.Net tracing is slow and
large: leave it on only while reproducing.""",
    notes="Line layout and messages: docs/windows-model.md#system-net-traces "
    "[confirmed, .NET reference source]. "
    ".NET Core / .NET 5+ do not read these config switches.",
)

_SCHANNEL = Recipe(
    "schannel",
    "Schannel events in the System log",
    enable=rf"""In an elevated prompt, then reboot (Schannel reads it at start):

  reg add "{_KEY}" /v EventLogging /t REG_DWORD /d 7 /f

7 = errors, warnings and informational events (1 errors only is the default, 2 warnings,
4 informational; the bits add up).""",
    output=r"""The System event log, source Schannel: 36877 (client certificate did not validate),
36885 (trusted-issuer list too long, truncated), 36887/36888 (fatal TLS alert received/sent),
36880 (every completed handshake, informational). Export for certgate:

  wevtutil epl System C:\logs\schannel.evtx "/q:*[System[Provider[@Name='Schannel']]]"

Read it with:  certgate logs C:\logs\schannel.evtx""",
    disable=rf"""Set it back to the default and reboot:

  reg add "{_KEY}" /v EventLogging /t REG_DWORD /d 1 /f

Level 7 logs an event per handshake (36880) and can flood the System log on a busy server.""",
    notes="EventLogging values and the reboot: docs/windows-model.md#schannel-settings "
    "[confirmed]; "
    "event ids: §6 [confirmed].",
)

_CAPI2 = Recipe(
    "capi2",
    "CAPI2 operational log (certificate chain building)",
    enable=r"""In an elevated prompt (no reboot needed):

  wevtutil sl Microsoft-Windows-CAPI2/Operational /e:true

Optionally make the log larger first, it fills quickly:
  wevtutil sl Microsoft-Windows-CAPI2/Operational /ms:104857600   (100 MB) [option not in
  certgate's facts file: check `wevtutil sl /?` on the server]""",
    output=r"""Event Viewer > Applications and Services Logs > Microsoft > Windows > CAPI2 >
Operational: event 11 (Build Chain, with each element's TrustStatus), 30 (Verify Chain Policy,
Result value="800B0109" for an untrusted root), 90 (the certificates). Export for certgate:

  wevtutil epl Microsoft-Windows-CAPI2/Operational C:\logs\capi2.evtx

Read it with:  certgate logs C:\logs\capi2.evtx""",
    disable="""  wevtutil sl Microsoft-Windows-CAPI2/Operational /e:false

The Application log's "CAPI2" source (root auto-update) is a different log with reused ids.""",
    notes="Enabling and event ids: docs/windows-model.md#capi2 "
    "[secondary: TechNet CAPI2 diagnostics; "
    "event XML confirmed].",
)

RECIPES: dict[str, Recipe] = {r.name: r for r in (_WCF, _SYSTEMNET, _SCHANNEL, _CAPI2)}
