"""Shared constants and the .NET time format of the generated samples."""

from __future__ import annotations

from certgate.core.codes import WCF_TRACE_CODES
from certgate.logs.writers import E2E_NS, LEVELS, RECORD_NS, SYSTEM_NS, dotnet_time

__all__ = [
    "CAPI2_CHANNEL",
    "CAPI2_GUID",
    "E2E_NS",
    "EVENT_NS",
    "FWLINK",
    "LEVELS",
    "RECORD_NS",
    "SCHANNEL_GUID",
    "SYSTEM_NS",
    "WCF_CODES",
    "dotnet_time",
]

EVENT_NS = "http://schemas.microsoft.com/win/2004/08/events/event"
SCHANNEL_GUID = "{1f678132-5938-4686-9fdc-c8ff68f15c85}"
CAPI2_GUID = "{5bbca4a8-b209-48dc-a8c7-b23d3e5216fb}"
CAPI2_CHANNEL = "Microsoft-Windows-CAPI2/Operational"
FWLINK = "http://go.microsoft.com/fwlink/?LinkId=187517"

WCF_CODES = WCF_TRACE_CODES  # EventID of the client-certificate traces
