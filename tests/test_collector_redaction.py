"""Collector redaction on real-shaped IIS configuration: every secret blanked in any quoting,
lines kept (citations still match), what was blanked recorded; and the PowerShell collector
carries the very same patterns."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certgate.cli.collect import powershell_script
from certgate.formats.iisconfig import parse_iis_config
from certgate.windows import redact
from certgate.windows.redact import PLACEHOLDER, redact_config
from iis_secret_configs import APPLICATION_HOST, WEB_CONFIG


@pytest.mark.parametrize("text", [APPLICATION_HOST, WEB_CONFIG], ids=["apphost", "web.config"])
def test_every_secret_is_blanked_and_lines_kept(text: str) -> None:
    data, redactions = redact_config(text.encode(), "x.config")
    out = data.decode()
    assert "S3CRET" not in out, [ln for ln in out.splitlines() if "S3CRET" in ln]
    assert out.count("\n") == text.count("\n")
    assert redactions and PLACEHOLDER in out
    original = text.splitlines()
    for r in redactions:  # each recorded line is where the secret was
        assert "S3CRET" in original[r.line - 1] or "S3CRET" in original[r.line], r
    assert all("S3CRET" not in r.what for r in redactions)
    again, more = redact_config(data, "x.config")
    assert again == data and more == []  # idempotent


def test_recorded_redactions_say_what_and_where() -> None:
    _, redactions = redact_config(WEB_CONFIG.encode(), "iis/sites/Orders/web.config")
    whats = {r.what for r in redactions}
    assert {
        "connectionString attribute",
        "validationKey attribute",
        "decryptionKey attribute",
        "password attribute",
        "sqlConnectionString attribute",
        "value of an <add> element",
        "encrypted section (CipherValue)",
    } <= whats
    lines = WEB_CONFIG.splitlines()
    [stripe] = [r for r in redactions if "sk_live" in lines[r.line - 1]]
    assert stripe.what == "value of an <add> element" and stripe.file.endswith("web.config")


def test_what_certgate_reads_survives_redaction() -> None:
    data, _ = redact_config(APPLICATION_HOST.encode(), "applicationHost.config")
    before = parse_iis_config(APPLICATION_HOST.encode(), "applicationHost.config")
    after = parse_iis_config(data, "applicationHost.config")
    assert after.sites == before.sites
    assert after.locations == before.locations  # mappings (user names, sources) included
    [orders] = [loc for loc in after.locations if loc.iis_mapping]
    assert orders.iis_mapping is not None and len(orders.iis_mapping.one_to_one) == 3


def test_negative_control_plain_text_is_untouched() -> None:
    text = b'<site name="Orders" id="2"><binding bindingInformation="*:443:" /></site>\n'
    assert redact_config(text, "a") == (text, [])


def test_powershell_collector_carries_the_same_patterns() -> None:
    script = powershell_script()
    for name in ("SECRET_ATTRIBUTE", "ENCRYPTED_ATTRIBUTE", "ADD_ELEMENT", "ADD_VALUE"):
        pattern = getattr(redact, name)
        re.compile(pattern)
        assert "'" + pattern.replace("'", "''") + "'" in script, name
    assert "'" + redact.CIPHER_VALUE + "'" in script
    assert re.search(r"redacted\s+= \$script:redacted", script)


_SECRET = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\"'<>&"))


@settings(max_examples=150, deadline=None)
@given(
    name=st.sampled_from(["password", "PassWord", "connectionString", "decryptionKey", "apiToken"]),
    secret=_SECRET,
    quote=st.sampled_from(["'", '"']),
    spacing=st.sampled_from(["=", " = ", "\n  =\n  "]),
    noise=st.text(st.sampled_from(" \n\tab=\"'<>/"), max_size=20),
)
def test_fuzz_any_quoting_of_a_secret_attribute_is_blanked(
    name: str, secret: str, quote: str, spacing: str, noise: str
) -> None:
    before = noise.replace("'", "").replace('"', "")
    text = f"<add {before} {name}{spacing}{quote}S3CRET{secret}{quote} />\n"
    data, found = redact_config(text.encode(), "x")
    assert b"S3CRET" not in data and found
    assert data.count(b"\n") == text.encode().count(b"\n")
