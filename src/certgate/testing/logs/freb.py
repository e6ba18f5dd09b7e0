"""IIS Failed Request Tracing files (``fr000001.xml``), in the layout IIS writes: a
``<failedRequest>`` root (with the ``freb`` namespace declared), then the request's events in
the Windows event schema, each with its ``RenderingInfo`` and ``freb:Description``s."""

from __future__ import annotations

from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from certgate.testing.logs._common import dotnet_time

_WWW_SERVER = "{3A2A4E84-4C21-4981-AE10-3FDA0D9B0F83}"


def _event(when: datetime, opcode: int, name: str, data: dict[str, str], extra: str = "") -> str:
    fields = "".join(f'<Data Name="{k}">{escape(v)}</Data>' for k, v in data.items())
    return (
        '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">'
        f'<System><Provider Name="WWW Server" Guid="{_WWW_SERVER}"/><EventID>0</EventID>'
        f"<Version>1</Version><Level>3</Level><Opcode>{opcode}</Opcode>"
        "<Keywords>0x100</Keywords>"
        f'<TimeCreated SystemTime="{dotnet_time(when)}"/>'
        '<Correlation ActivityID="{80000A2B-0000-F600-B63F-84710C7967BB}"/>'
        '<Execution ProcessID="4212" ThreadID="3088"/><Computer>WEB01</Computer></System>'
        f'<EventData>{fields}</EventData><RenderingInfo Culture="en-US"><Opcode>{name}</Opcode>'
        f"{extra}</RenderingInfo></Event>\n"
    )


def freb_file(
    when: datetime,
    *,
    status: int = 403,
    substatus: int = 16,
    error: int = 2148204809,
    text: str = "A certificate chain processed, but terminated in a root certificate which is "
    "not trusted by the trust provider.",
    url: str = "https://web01.contoso.test:443/Orders/Service.svc",
) -> str:
    """One failed request: GENERAL_REQUEST_START, then MODULE_SET_RESPONSE_ERROR_STATUS."""
    start = _event(
        when,
        1,
        "GENERAL_REQUEST_START",
        {"SiteId": "1", "AppPoolId": "Orders", "RequestURL": url, "RequestVerb": "POST"},
    )
    error_event = _event(
        when,
        16,
        "MODULE_SET_RESPONSE_ERROR_STATUS",
        {
            "ModuleName": "IIS Web Core",
            "Notification": "1",
            "HttpStatus": str(status),
            "HttpReason": "Forbidden",
            "HttpSubStatus": str(substatus),
            "ErrorCode": str(error),
            "ConfigExceptionInfo": "",
        },
        '<freb:Description Data="Notification">BEGIN_REQUEST</freb:Description>'
        f'<freb:Description Data="ErrorCode">{escape(text)} (0x{error:x})</freb:Description>',
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<?xml-stylesheet type="text/xsl" href="freb.xsl"?>\n'
        "<!-- saved from url=(0014)about:internet -->\n"
        f'<failedRequest url={quoteattr(url)} siteId="1" appPoolId="Orders" '
        'processId="4212" verb="POST" remoteUserName="" userName="" '
        'tokenUserName="NT AUTHORITY\\IUSR" authenticationType="anonymous" '
        'activityId="{80000A2B-0000-F600-B63F-84710C7967BB}" failureReason="STATUS_CODE" '
        f'statusCode="{status}.{substatus}" triggerStatusCode="{status}.{substatus}" '
        'timeTaken="15" xmlns:freb="http://schemas.microsoft.com/win/2006/06/iis/freb">\n'
        f"{start}{error_event}</failedRequest>\n"
    )
