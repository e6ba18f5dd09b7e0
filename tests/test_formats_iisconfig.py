"""applicationHost.config / web.config: sites, access sslFlags per location, mappings."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certgate.core.iis import (
    AccessSslFlags,
    Application,
    BindingSslFlags,
    IisCertificateMapping,
    Level,
    LocationConfig,
    ManyToOneMapping,
    ManyToOneRule,
    OneToOneMapping,
    Site,
    SiteBinding,
)
from certgate.core.settings import Setting
from certgate.errors import InputError
from certgate.formats.iisconfig import merge_iis, parse_iis_config
from certgate.testing import PKI
from certgate.testing.windows import application_host_config, one_to_one_certificate

SITE = Site(
    "Default Web Site",
    "1",
    (
        SiteBinding("https", "*:443:", Setting(0, "x")),
        SiteBinding("https", "*:443:api.contoso.test", Setting(int(BindingSslFlags.SNI), "x")),
    ),
    (Application("/"), Application("/api", r"C:\sites\api")),
)
REQUIRE = int(
    AccessSslFlags.SSL | AccessSslFlags.SSL_NEGOTIATE_CERT | AccessSslFlags.SSL_REQUIRE_CERT
)


ALICE: dict[int, str] = {}


def _locations(pki: PKI) -> list[LocationConfig]:
    alice = pki.root("Mapping Root").client("alice").certificate
    ALICE[id(pki)] = alice.sha1
    mapping = IisCertificateMapping(
        enabled=Setting(True, "x"),
        one_to_one=(OneToOneMapping(one_to_one_certificate(alice), "CONTOSO\\alice", True, True),),
        many_to_one=(
            ManyToOneMapping(
                "Contoso users",
                "CONTOSO\\svc",
                rules=(ManyToOneRule("Issuer", "CN", "Contoso Issuing CA", False),),
            ),
        ),
    )
    return [
        LocationConfig("", "", "", anonymous_enabled=Setting(True, "x")),
        LocationConfig("Default Web Site", "", "", access_ssl_flags=Setting(8, "x")),
        LocationConfig(
            "Default Web Site/api",
            "",
            "",
            access_ssl_flags=Setting(REQUIRE, "x"),
            anonymous_enabled=Setting(False, "x"),
            iis_mapping=mapping,
        ),
    ]


def test_sites_bindings_and_locations(pki: PKI) -> None:
    text = application_host_config([SITE], _locations(pki))
    config = parse_iis_config(text.encode(), "applicationHost.config")
    (site,) = config.sites
    assert site.name == "Default Web Site" and site.id == "1"
    assert [b.ssl_flags.value for b in site.bindings] == [0, 1]
    assert site.bindings[1].host == "api.contoso.test" and site.bindings[1].port == 443
    assert site.applications[1].physical_path == r"C:\sites\api"
    assert [loc.path for loc in config.locations] == [
        "",
        "Default Web Site",
        "Default Web Site/api",
    ]
    assert config.override_default("system.webServer/security/access") == "Deny"
    api = config.locations[2]
    assert api.access_ssl_flags is not None and api.access_ssl_flags.value == REQUIRE
    line = _line(text, 'access sslFlags="Ssl, SslNegotiateCert, SslRequireCert"')
    assert api.access_ssl_flags.source == f"applicationHost.config:{line}"


def _line(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


def test_effective_settings_inherit_most_specific_wins(pki: PKI) -> None:
    config = parse_iis_config(application_host_config([SITE], _locations(pki)).encode(), "a.config")
    root = config.effective("Default Web Site/")
    assert root.access_ssl_flags.value == 8 and not root.negotiates_cert
    assert root.anonymous_enabled.value is True
    api = config.effective("default web site/API/orders")  # IIS paths are case-insensitive
    assert api.requires_cert and api.negotiates_cert
    assert api.anonymous_enabled.value is False
    assert api.iis_mapping is not None and api.iis_mapping_path == "Default Web Site/api"
    assert api.ad_mapping_enabled == Setting(False, None)
    other = config.effective("Other Site")
    assert other.access_ssl_flags == Setting(0, None) and other.iis_mapping is None


def test_mappings_are_read_and_passwords_dropped(pki: PKI) -> None:
    text = application_host_config([SITE], _locations(pki))
    assert "[enc:AesProvider" in text
    config = parse_iis_config(text.encode(), "a.config")
    mapping = config.locations[2].iis_mapping
    assert mapping is not None and mapping.enabled.value is True
    one = mapping.one_to_one[0]
    assert one.sha1 == ALICE[id(pki)] and one.has_password and one.user_name == "CONTOSO\\alice"
    assert "enc:" not in repr(mapping)
    (many,) = mapping.many_to_one
    assert many.rules[0] == ManyToOneRule(
        "Issuer", "CN", "Contoso Issuing CA", False, many.rules[0].source
    )


def test_mapping_below_site_level_is_flagged(pki: PKI) -> None:
    config = parse_iis_config(application_host_config([SITE], _locations(pki)).encode(), "a.config")
    assert config.level("") is Level.SERVER
    assert config.level("Default Web Site") is Level.SITE
    assert [loc.path for loc in config.mappings_below_site()] == ["Default Web Site/api"]
    site_level = [
        LocationConfig(
            "Default Web Site", "", "", iis_mapping=IisCertificateMapping(Setting(True, "x"))
        )
    ]
    clean = parse_iis_config(application_host_config([SITE], site_level).encode(), "a.config")
    assert clean.mappings_below_site() == []


def test_web_config_paths_are_relative_to_where_it_sits() -> None:
    web = b"""<?xml version="1.0"?>
<configuration xmlns="http://schemas.microsoft.com/.NetConfiguration/v2.0">
  <system.webServer><security><access sslFlags="Ssl,SslNegotiateCert" />
  </security></system.webServer>
  <location path="admin">
    <system.webServer><security><access sslFlags="32,64,8" /></security></system.webServer>
  </location>
</configuration>"""
    config = parse_iis_config(web, "iis/sites/Shop/web.config", "Shop")
    assert [
        (loc.path, loc.access_ssl_flags.value if loc.access_ssl_flags else None)
        for loc in config.locations
    ] == [
        ("Shop", 40),
        ("Shop/admin", REQUIRE),
    ]
    merged = merge_iis(
        parse_iis_config(application_host_config([SITE]).encode(), "a.config"), config
    )
    assert merged.files == ("a.config", "iis/sites/Shop/web.config")
    assert merged.effective("Shop/admin/x").requires_cert


@pytest.mark.parametrize(
    ("xml", "message", "where"),
    [
        (b"<configuration><system.webServer>", "not well-formed XML", "line 1"),
        (b"<root/>", "not <configuration>", "line 1"),
        (
            b'<configuration>\n<system.webServer><security><access sslFlags="Ssl, SslEverything"/>'
            b"</security></system.webServer></configuration>",
            "unknown access sslFlags value 'SslEverything'",
            "line 2",
        ),
        (
            b"<configuration>\n\n<system.webServer><security><authentication>"
            b'<anonymousAuthentication enabled="yes"/></authentication></security>'
            b"</system.webServer></configuration>",
            "enabled must be true or false",
            "line 3",
        ),
        (
            b'<configuration><system.applicationHost><sites><site name="a"><bindings>'
            b'<binding protocol="https" bindingInformation="*:443:" sslFlags="SNI"/>'
            b"</bindings></site></sites></system.applicationHost></configuration>",
            "binding sslFlags must be a number",
            "line 1",
        ),
    ],
)
def test_malformed_configuration_names_the_line(xml: bytes, message: str, where: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_iis_config(xml, "applicationHost.config")
    assert message in caught.value.message
    assert caught.value.where == where


def test_entities_are_never_expanded() -> None:
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE configuration [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>
<configuration><location path="&b;"/></configuration>"""
    with pytest.raises(InputError, match="DOCTYPE"):
        parse_iis_config(bomb, "evil.config")
    external = b"""<?xml version="1.0"?>
<!DOCTYPE configuration [<!ENTITY x SYSTEM "file:///etc/passwd">]><configuration>&x;</configuration>"""
    with pytest.raises(InputError, match="DOCTYPE"):
        parse_iis_config(external, "evil.config")


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_fuzz_iis_bytes(data: bytes) -> None:
    with contextlib.suppress(InputError):
        parse_iis_config(data, "fuzz.config")


_ELEMENTS = st.sampled_from(
    [
        "<location path='a/b'>",
        "</location>",
        "<system.webServer>",
        "</system.webServer>",
        "<security>",
        "</security>",
        "<access sslFlags='Ssl,SslRequireCert'/>",
        "<authentication>",
        "</authentication>",
        "<iisClientCertificateMappingAuthentication enabled='true'>",
        "</iisClientCertificateMappingAuthentication>",
        "<oneToOneMappings><add certificate='!!' userName='u'/></oneToOneMappings>",
        "<system.applicationHost><sites><site name='s'><bindings>",
        "<binding protocol='https' bindingInformation='x'/>",
        "</bindings></site></sites></system.applicationHost>",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_ELEMENTS, max_size=25))
def test_fuzz_iis_structure(parts: list[str]) -> None:
    xml = ("<configuration>" + "".join(parts) + "</configuration>").encode()
    try:
        config = parse_iis_config(xml, "fuzz.config")
    except InputError:
        return
    for loc in config.locations:
        config.effective(loc.path)
        if loc.iis_mapping:
            [m.sha1 for m in loc.iis_mapping.one_to_one]
