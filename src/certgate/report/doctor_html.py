"""``certgate doctor --html``: one self-contained page (inline CSS, JS and SVG, no external
asset) with the verdict, the evidence, the chains and stores drawn, the fixes with copy
buttons, and the log timeline.

Opened as ``report.html#selftest`` the page clicks its first copy button itself and records
the outcome in ``<body data-selftest=...>``: how the browser test checks the button works.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape
from typing import Any

from certgate.core.doctor import Cause, Diagnosis, Evidence
from certgate.core.kb import source_url
from certgate.core.logsummary import LogSummary
from certgate.core.model import Certificate, SelfSigned
from certgate.core.stores import CA, CLIENT_AUTH_ISSUER, ROOT, Machine
from certgate.remedy import fix_files, fix_folder
from certgate.report.doctor import what_if_text

__all__ = ["doctor_html"]

_CSS = """
body{font:15px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#1b1f24;
background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 8px} h2{font-size:18px;margin:28px 0 8px} h3{font-size:16px;
margin:16px 0 6px}
.verdict{background:#fff;border-left:6px solid #c62828;padding:16px 20px;border-radius:6px;
box-shadow:0 1px 3px #0002}
.verdict.ok{border-color:#2e7d32}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;color:#fff;
background:#607d8b}
.high{background:#c62828}.medium{background:#ef6c00}.low{background:#0277bd}
.card{background:#fff;border-radius:6px;padding:12px 16px;margin:12px 0;
box-shadow:0 1px 3px #0002}
.mark{color:#ef6c00;font-weight:600} .src{color:#57606a;font-size:13px}
pre{background:#0d1117;color:#e6edf3;padding:12px;border-radius:6px;overflow:auto;
font-size:12.5px;max-height:360px}
button.copy{float:right;margin:4px 0;padding:4px 10px;border:1px solid #888;border-radius:4px;
background:#fff;cursor:pointer}
table{border-collapse:collapse;width:100%;background:#fff} td,th{border-bottom:1px solid #ddd;
padding:6px;text-align:left;font-size:13.5px;vertical-align:top}
svg text{font-family:system-ui,sans-serif}
svg{max-width:100%;height:auto} td,li,p{overflow-wrap:anywhere}
.axis{stroke:#57606a;stroke-width:1} .count{font-size:10px;fill:#1b1f24}
"""

_JS = """
function copyText(button){
  var text=document.getElementById(button.getAttribute('data-target')).textContent;
  function done(how){button.setAttribute('data-copied',how);button.textContent='Copied';
    document.body.setAttribute('data-last-copy',how);return how;}
  function fallback(){var area=document.createElement('textarea');area.value=text;
    document.body.appendChild(area);area.select();var ok=false;
    try{ok=document.execCommand('copy');}catch(e){ok=false;}
    document.body.removeChild(area);return done(ok?'execCommand':'selected');}
  if(navigator.clipboard&&window.isSecureContext){
    return navigator.clipboard.writeText(text).then(function(){return done('clipboard');}
,fallback);}
  return Promise.resolve(fallback());
}
document.addEventListener('click',function(e){var b=e.target.closest('button.copy');
if(b){copyText(b);}});
window.addEventListener('load',function(){
  if(location.hash!=='#selftest'){return;}
  var b=document.querySelector('button.copy');
  if(!b){document.body.setAttribute('data-selftest','no-button');return;}
  Promise.resolve(copyText(b)).then(function(how){
    var target=document.getElementById(b.getAttribute('data-target'));
    document.body.setAttribute('data-selftest','copied:'+how+':'+target.textContent.length);});
});
"""


def doctor_html(diagnosis: Diagnosis, title: str = "certgate doctor") -> str:
    body = [
        _verdict(diagnosis),
        *(_cause(i, c, diagnosis) for i, c in enumerate(diagnosis.causes, 1)),
        _chains(diagnosis),
        _stores(diagnosis.machine),
        _timeline(diagnosis),
        _unknowns(diagnosis),
    ]
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body><main>"
        + _scalable("".join(body))
        + f"</main><script>{_JS}</script></body></html>\n"
    )


def _scalable(html: str) -> str:
    """Give every drawing a viewBox, so CSS can shrink it to a narrow window (no sideways
    scroll at 700 px) without cutting it."""
    return re.sub(
        r"<svg ([^>]*?)width='(\d+)' height='(\d+)'",
        lambda m: f"<svg {m[1]}viewBox='0 0 {m[2]} {m[3]}' width='{m[2]}' height='{m[3]}'",
        html,
    )


def _verdict(diagnosis: Diagnosis) -> str:
    top = diagnosis.top
    unread = "".join(f"<li>not read: {escape(u)}</li>" for u in diagnosis.unread)
    if top is None and diagnosis.unexplained:
        items = "".join(
            f"<li><b>{s.count:,} {escape(s.label)}</b>"
            + (
                "<ol>" + "".join(f"<li>{escape(t)}</li>" for t in s.likely) + "</ol>"
                if s.likely
                else ""
            )
            + "</li>"
            for s in diagnosis.unexplained[:5]
        )
        return (
            "<section class='verdict'><h1>Client-certificate failures, no cause proven</h1>"
            "<p>Nothing in the configuration given explains them; their likely causes, most "
            f"likely first:</p><ul>{items}{unread}</ul></section>"
        )
    if top is None and diagnosis.unread:
        return (
            "<section class='verdict'><h1>No cause found in what could be read</h1><p>Some "
            f"evidence could not be read, so this is no all-clear.</p><ul>{unread}</ul></section>"
        )
    if top is None:
        return (
            "<section class='verdict ok'><h1>No cause found</h1><p>Nothing in the configuration, "
            "the sample client certificates or the logs points to a client-certificate "
            "problem.</p></section>"
        )
    return (
        f"<section class='verdict'><h1>Root cause: {escape(top.title)}</h1>"
        f"<p><span class='badge {top.confidence.value}'>{top.confidence.value} confidence</span> "
        f"<code>{escape(top.id)}</code></p><p id='answer'>{escape(top.summary)}</p></section>"
    )


def _cause(index: int, cause: Cause, diagnosis: Diagnosis) -> str:
    files = _scripts_of(index, cause, diagnosis)
    fixes = []
    for fix, check in zip(cause.fixes, cause.what_if, strict=True):
        folder = fix_folder(index, cause, fix)
        scripts = "".join(
            _script_block(f"s{index}-{fix.label}-{n}", name, text)
            for n, (name, text) in enumerate(files.get(folder, []))
        )
        preferred = " (preferred)" if fix.preferred else ""
        reboot = " <span class='badge medium'>reboot</span>" if fix.reboot else ""
        fixes.append(
            f"<div class='card'><h3>Fix {fix.label}{preferred}: {escape(fix.title)}{reboot}</h3>"
            f"<p>What-if: {escape(what_if_text(check))}</p>{scripts}</div>"
        )
    evidence = "".join(f"<li>{_evidence(e)}</li>" for e in cause.evidence)
    # The top cause's summary is the verdict's answer, shown once.
    summary = "" if cause is diagnosis.top else f"<p>{escape(cause.summary)}</p>"
    return (
        f"<section><h2>{index}. {escape(cause.title)} "
        f"<span class='badge {cause.confidence.value}'>{cause.confidence.value}</span></h2>"
        f"{summary}<h3>Evidence</h3><ul>{evidence}</ul>"
        f"{_sources(cause.references)}"
        f"<h3>Fixes</h3>{''.join(fixes)}</section>"
    )


def _sources(references: tuple[str, ...]) -> str:
    """The cause's public sources with the address a reader opens (KB, RFC, URL). Printed, not
    linked: the report is self-contained and loads or links nothing outside itself."""
    if not references:
        return ""
    items = []
    for text in references:
        url = source_url(text)
        items.append(f"{escape(text)} ({escape(url)})" if url else escape(text))
    return f"<p class='src'>Sources: {', '.join(items)}</p>"


def _evidence(evidence: Evidence) -> str:
    mark = evidence.confidence.value
    tag = "" if mark == "confirmed" else f" <span class='mark'>[{mark}]</span>"
    source = f" <span class='src'>({escape(evidence.source)})</span>" if evidence.source else ""
    return f"{escape(evidence.text)}{source}{tag}"


def _scripts_of(index: int, cause: Cause, diagnosis: Diagnosis) -> dict[str, list[tuple[str, str]]]:
    prefix = f"{index}-{cause.id.split('::')[-1]}/"
    out: dict[str, list[tuple[str, str]]] = {}
    for name, data in fix_files(diagnosis).items():
        if not name.startswith(prefix) or not name.endswith((".ps1", ".reg", ".cmd")):
            continue
        folder, _, leaf = name.rpartition("/")
        out.setdefault(folder, []).append((leaf, _text(data)))
    return out


def _text(data: bytes) -> str:
    if data.startswith(b"\xff\xfe"):
        return data[2:].decode("utf-16-le")
    return data.decode("utf-8-sig")


def _script_block(ident: str, name: str, text: str) -> str:
    return (
        f"<div><button class='copy' type='button' data-target='{ident}'>Copy</button>"
        f"<strong>{escape(name)}</strong><pre id='{ident}'>{escape(text)}</pre></div>"
    )


# -- drawings ---------------------------------------------------------------------------------


def _box(x: int, y: int, w: int, label: str, sub: str, bad: bool) -> str:
    stroke, fill = ("#c62828", "#ffebee") if bad else ("#546e7a", "#eceff1")
    return (
        f"<rect x='{x}' y='{y}' width='{w}' height='44' rx='6' fill='{fill}' stroke='{stroke}' "
        f"stroke-width='{2 if bad else 1}'/><text x='{x + 8}' y='{y + 18}' font-size='13'>"
        f"{escape(label[:48])}</text><text x='{x + 8}' y='{y + 36}' font-size='11' "
        f"fill='#57606a'>{escape(sub[:56])}</text>"
    )


def _chains(diagnosis: Diagnosis) -> str:
    if not diagnosis.clients:
        return ""
    parts = []
    for client, verdict in diagnosis.clients:
        path = verdict.path or (client.leaf,)
        width, height = 360, 30 + 64 * len(path)
        shapes = [
            f"<text x='8' y='18' font-size='13' font-weight='600'>{escape(verdict.code)} "
            f"({escape(verdict.windows.iis_status if verdict.windows else verdict.verdict)})</text>"
        ]
        for depth, cert in enumerate(reversed(path)):
            y = 28 + depth * 64
            bad = not verdict.accepted and cert is path[0]
            shapes.append(_box(8, y, width - 16, _name(cert), cert.sha1[:16], bad))
            if depth:
                shapes.append(
                    f"<line x1='40' y1='{y - 20}' x2='40' y2='{y}' stroke='#546e7a' "
                    "stroke-width='2' marker-end='url(#arrow)'/>"
                )
        parts.append(
            f"<svg role='img' aria-label='chain' width='{width}' height='{height}' "
            f"xmlns='http://www.w3.org/2000/svg'>{_ARROW}{''.join(shapes)}</svg>"
        )
    return "<section><h2>Client chains (windows engine)</h2>" + "".join(parts) + "</section>"


_ARROW = (
    "<defs><marker id='arrow' markerWidth='8' markerHeight='8' refX='4' refY='4' orient='auto'>"
    "<path d='M0,0 L8,4 L0,8 z' fill='#546e7a'/></marker></defs>"
)


def _name(cert: Certificate) -> str:
    return cert.subject.common_name or str(cert.subject)


def _stores(machine: Machine) -> str:
    names = [n for n in (ROOT, CA, CLIENT_AUTH_ISSUER) if machine.knows(n)]
    if not names:
        return ""
    columns = []
    for column, name in enumerate(names):
        certs = machine.store(name).certificates[:12]
        x = 8 + column * 300
        shapes = [
            f"<text x='{x}' y='18' font-size='14' font-weight='600'>LocalMachine\\"
            f"{escape(name)} ({len(machine.store(name))})</text>"
        ]
        for row, cert in enumerate(certs):
            bad = name == ROOT and cert.self_signed is not SelfSigned.YES
            sub = "not self-signed: breaks client auth" if bad else cert.sha1[:16]
            shapes.append(_box(x, 28 + row * 52, 284, _name(cert), sub, bad))
        columns.append("".join(shapes))
    rows = max(min(len(machine.store(n)), 12) for n in names)
    return (
        "<section><h2>Stores</h2><svg role='img' aria-label='stores' "
        f"width='{8 + 300 * len(names)}' height='{40 + 52 * rows}' "
        f"xmlns='http://www.w3.org/2000/svg'>{''.join(columns)}</svg></section>"
    )


def _timeline(diagnosis: Diagnosis) -> str:
    summary: LogSummary | None = diagnosis.timeline
    if summary is None or not summary.histogram:
        return ""
    buckets = summary.histogram
    peak = max(b.count for b in buckets) or 1
    left, base, height = 56, 160, 130  # the y axis at x=left, the x axis at y=base
    bar = max(4, 920 // len(buckets))
    bars = []
    for i, b in enumerate(buckets):
        tall = int(height * b.count / peak)
        x = left + 4 + i * bar
        bars.append(
            f"<rect x='{x}' y='{base - tall}' width='{bar - 2}' height='{tall}' fill='#c62828'>"
            f"<title>{b.start:%Y-%m-%d %H:%M} UTC: {b.count:,}</title></rect>"
        )
        if bar >= 24 and b.count:
            bars.append(
                f"<text class='count' x='{x + (bar - 2) // 2}' y='{base - tall - 3}' "
                f"text-anchor='middle'>{b.count:,}</text>"
            )
    right = left + 4 + len(buckets) * bar
    ticks = [0, len(buckets) // 2, len(buckets) - 1]
    labels = "".join(
        f"<line class='axis' x1='{left + 4 + i * bar}' y1='{base}' x2='{left + 4 + i * bar}' "
        f"y2='{base + 4}'/><text x='{left + 4 + i * bar}' y='{base + 16}' font-size='11'>"
        f"{buckets[i].start.strftime('%Y-%m-%d %H:%M' if i == 0 else '%H:%M')}</text>"
        for i in dict.fromkeys(ticks)
    )
    axes = (
        f"<line class='axis' x1='{left}' y1='{base - height}' x2='{left}' y2='{base}'/>"
        f"<line class='axis' x1='{left}' y1='{base}' x2='{right}' y2='{base}'/>"
        f"<text x='{left - 6}' y='{base - height + 4}' font-size='11' text-anchor='end'>"
        f"{peak:,}</text><text x='{left - 6}' y='{base + 4}' font-size='11' "
        f"text-anchor='end'>0</text>"
        f"<text x='{right}' y='{base + 30}' font-size='11' text-anchor='end'>UTC; events "
        f"per {_bucket_label(buckets)}, {sum(b.count for b in buckets):,} in all</text>"
    )
    explained = {key: c.id for c in diagnosis.causes for key in c.explains}
    rows = "".join(
        f"<tr><td>{s.count:,}</td><td>{escape(s.label)}</td><td>{escape(_when(s.first))}</td>"
        f"<td>{escape(_when(s.last))}</td>"
        f"<td>{escape(explained.get(s.key, 'unexplained'))}</td></tr>"
        for s in diagnosis.symptoms
    )
    return (
        "<section><h2>Log timeline</h2><svg role='img' aria-label='timeline' "
        f"width='{right + 20}' height='200' xmlns='http://www.w3.org/2000/svg'>{axes}"
        f"{''.join(bars)}{labels}</svg>"
        "<table><tr><th>Count</th><th>Symptom</th><th>First</th><th>Last</th>"
        f"<th>Explained by</th></tr>{rows}</table></section>"
    )


def _bucket_label(buckets: Sequence[Any]) -> str:
    if len(buckets) < 2:
        return "bucket"
    minutes = int((buckets[1].start - buckets[0].start).total_seconds() // 60)
    return f"{minutes} minutes" if minutes < 120 else f"{minutes // 60} hours"


def _when(where: Any) -> str:
    stamp = f"{where.time:%Y-%m-%d %H:%M:%S} UTC " if where.time else ""
    return f"{stamp}{where.location}"


def _unknowns(diagnosis: Diagnosis) -> str:
    parts = []
    if diagnosis.notes:
        parts.append(
            "<h3>Unknown, or Windows default assumed</h3><ul>"
            + "".join(f"<li>{escape(n)}</li>" for n in diagnosis.notes)
            + "</ul>"
        )
    if diagnosis.unexplained:
        parts.append(
            "<h3>Unexplained symptoms</h3><ul>"
            + "".join(f"<li>{s.count:,} {escape(s.label)}</li>" for s in diagnosis.unexplained)
            + "</ul>"
        )
    if not parts:
        return ""
    return "<section><h2>Unknowns</h2>" + "".join(parts) + "</section>"
