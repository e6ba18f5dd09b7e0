"""Shared constants and the .NET time format of the generated samples."""

from __future__ import annotations

from datetime import UTC, datetime

from certgate.core.codes import WCF_TRACE_CODES

E2E_NS = "http://schemas.microsoft.com/2004/06/E2ETraceEvent"
SYSTEM_NS = "http://schemas.microsoft.com/2004/06/windows/eventlog/system"
RECORD_NS = "http://schemas.microsoft.com/2004/10/E2ETraceEvent/TraceRecord"
EVENT_NS = "http://schemas.microsoft.com/win/2004/08/events/event"
SCHANNEL_GUID = "{1f678132-5938-4686-9fdc-c8ff68f15c85}"
CAPI2_GUID = "{5bbca4a8-b209-48dc-a8c7-b23d3e5216fb}"
CAPI2_CHANNEL = "Microsoft-Windows-CAPI2/Operational"
FWLINK = "http://go.microsoft.com/fwlink/?LinkId=187517"

LEVELS = {"Critical": 1, "Error": 2, "Warning": 4, "Information": 8, "Verbose": 16}
WCF_CODES = WCF_TRACE_CODES  # EventID of the client-certificate traces


def dotnet_time(when: datetime) -> str:
    """.NET DateTime 'o' format in UTC: 7 fractional digits and Z."""
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond:06d}0Z"
