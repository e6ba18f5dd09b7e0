"""``applicationHost.config`` and ``web.config``: sites, bindings, ``<location>`` access sslFlags,
anonymous authentication and both certificate-mapping sections
(docs/windows-model.md#iis-access-sslflags, #iis-cert-mapping).

Parsed with lxml, entities and network off; a file with a DOCTYPE is refused (IIS configuration
never has one). Passwords of mappings are never kept, only whether one was set.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree
from lxml.etree import _Element

from certgate._xml import safe_parser
from certgate.core.iis import (
    ACCESS_FLAG_NAMES,
    Application,
    IisCertificateMapping,
    IisConfig,
    LocationConfig,
    ManyToOneMapping,
    ManyToOneRule,
    OneToOneMapping,
    Site,
    SiteBinding,
)
from certgate.core.settings import Setting
from certgate.errors import InputError

__all__ = ["looks_like_application_host", "merge_iis", "parse_iis_config"]

_SECURITY = ("system.webServer", "security")
_AUTH = (*_SECURITY, "authentication")


_PROLOGUE = re.compile(
    rb"^(?:\xef\xbb\xbf)?\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<configuration[\s>]", re.DOTALL
)


def looks_like_application_host(data: bytes) -> bool:
    """applicationHost.config by content, whatever the file is called: a ``<configuration>``
    root (after an optional XML declaration and comments) holding ``<system.applicationHost``."""
    head = data[: 1 << 20]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        head = head.decode("utf-16", errors="replace").encode("utf-8")
    return _PROLOGUE.match(head) is not None and b"<system.applicationHost" in head


def parse_iis_config(data: bytes, path: str, base_path: str = "") -> IisConfig:
    """Read one configuration file. ``base_path`` is where a web.config sits ("Site/app")."""
    root = _parse_xml(data, path)
    if _local(root) != "configuration":
        raise InputError(path, f"root element is <{_local(root)}>, not <configuration>", "line 1")
    reader = _Reader(path, base_path)
    locations = list(reader.locations(root))
    return IisConfig(
        sites=tuple(reader.sites(root)),
        locations=tuple(locations),
        files=(path,),
        section_override_defaults=tuple(reader.section_defaults(root)),
    )


def merge_iis(first: IisConfig | None, second: IisConfig) -> IisConfig:
    """applicationHost.config first, then web.config files: later locations are more specific."""
    if first is None:
        return second
    return IisConfig(
        first.sites + second.sites,
        first.locations + second.locations,
        first.files + second.files,
        first.section_override_defaults + second.section_override_defaults,
    )


def _parse_xml(data: bytes, path: str) -> _Element:
    try:
        root = etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or 0
        raise InputError(path, f"not well-formed XML: {exc.msg}", f"line {line}") from exc
    doctype = root.getroottree().docinfo.doctype
    if doctype:
        raise InputError(
            path, "has a DOCTYPE (IIS configuration never does): refused, entities not expanded"
        )
    return root


def _local(element: _Element) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _children(element: _Element, name: str) -> Iterator[_Element]:
    for child in element:
        if _local(child) == name:
            yield child


def _find(element: _Element, *names: str) -> _Element | None:
    current: _Element | None = element
    for name in names:
        if current is None:
            return None
        current = next(_children(current, name), None)
    return current


class _Reader:
    def __init__(self, path: str, base_path: str) -> None:
        self.path = path
        self.base = base_path.strip("/")

    def where(self, element: _Element) -> str:
        return f"{self.path}:{element.sourceline or 0}"

    def fail(self, element: _Element, message: str) -> InputError:
        return InputError(self.path, message, f"line {element.sourceline or 0}")

    # -- sites -----------------------------------------------------------------------------

    def sites(self, root: _Element) -> Iterator[Site]:
        sites = _find(root, "system.applicationHost", "sites")
        if sites is None:
            return
        for site in _children(sites, "site"):
            name = site.get("name")
            if not name:
                raise self.fail(site, "<site> without a name")
            bindings = _find(site, "bindings")
            yield Site(
                name,
                site.get("id"),
                tuple(self.binding(b) for b in _children(bindings, "binding"))
                if bindings is not None
                else (),
                tuple(self.application(a) for a in _children(site, "application")),
                self.where(site),
            )

    def binding(self, element: _Element) -> SiteBinding:
        flags = element.get("sslFlags")
        ssl_flags: Setting[int] = Setting(0)
        if flags is not None:
            if not flags.strip().isdigit():
                raise self.fail(element, f"binding sslFlags must be a number, not {flags[:30]!r}")
            ssl_flags = Setting(int(flags), self.where(element))
        return SiteBinding(
            element.get("protocol", ""),
            element.get("bindingInformation", ""),
            ssl_flags,
            self.where(element),
        )

    def application(self, element: _Element) -> Application:
        root_dir = next(
            (v for v in _children(element, "virtualDirectory") if v.get("path") == "/"), None
        )
        physical = root_dir.get("physicalPath") if root_dir is not None else None
        return Application(element.get("path", "/"), physical, self.where(element))

    # -- configSections ----------------------------------------------------------------------

    def section_defaults(self, root: _Element) -> Iterator[tuple[str, str, str]]:
        sections = _find(root, "configSections")
        if sections is not None:
            yield from self._sections(sections, "")

    def _sections(self, group: _Element, prefix: str) -> Iterator[tuple[str, str, str]]:
        for child in group:
            name = child.get("name", "") if isinstance(child.tag, str) else ""
            full = f"{prefix}/{name}" if prefix else name
            if _local(child) == "sectionGroup":
                yield from self._sections(child, full)
            elif _local(child) == "section" and child.get("overrideModeDefault"):
                yield full, child.get("overrideModeDefault", ""), self.where(child)

    # -- locations ---------------------------------------------------------------------------

    def locations(self, root: _Element) -> Iterator[LocationConfig]:
        top = self.location(root, self.base, root, None)
        if top is not None:
            yield top
        for location in _children(root, "location"):
            path = location.get("path", "").strip("/")
            full = "/".join(p for p in (self.base, path) if p and p != ".")
            found = self.location(location, full, location, location.get("overrideMode"))
            if found is not None:
                yield found

    def location(
        self, holder: _Element, path: str, anchor: _Element, override: str | None
    ) -> LocationConfig | None:
        access = _find(holder, *_SECURITY, "access")
        anonymous = _find(holder, *_AUTH, "anonymousAuthentication")
        iis_map = _find(holder, *_AUTH, "iisClientCertificateMappingAuthentication")
        ad_map = _find(holder, *_AUTH, "clientCertificateMappingAuthentication")
        if all(e is None for e in (access, anonymous, iis_map, ad_map)):
            return None
        return LocationConfig(
            path=path,
            file=self.path,
            source=self.where(anchor),
            access_ssl_flags=self.access_flags(access),
            anonymous_enabled=self.flag(anonymous, "enabled"),
            iis_mapping=self.iis_mapping(iis_map) if iis_map is not None else None,
            ad_mapping_enabled=self.flag(ad_map, "enabled"),
            override_mode=override,
        )

    def access_flags(self, element: _Element | None) -> Setting[int] | None:
        if element is None or element.get("sslFlags") is None:
            return None
        text = element.get("sslFlags", "")
        value = 0
        for name in (p.strip() for p in text.split(",")):
            if name.isdigit():
                value |= int(name)
            elif name.casefold() in ACCESS_FLAG_NAMES:
                value |= int(ACCESS_FLAG_NAMES[name.casefold()])
            elif name:
                raise self.fail(element, f"unknown access sslFlags value {name[:40]!r}")
        return Setting(value, self.where(element))

    def flag(self, element: _Element | None, attribute: str) -> Setting[bool] | None:
        if element is None or element.get(attribute) is None:
            return None
        return Setting(self.boolean(element, attribute, False), self.where(element))

    def boolean(self, element: _Element, attribute: str, default: bool) -> bool:
        text = element.get(attribute)
        if text is None:
            return default
        if text.strip().casefold() not in ("true", "false"):
            raise self.fail(element, f"{attribute} must be true or false, not {text[:20]!r}")
        return text.strip().casefold() == "true"

    def setting(self, element: _Element, attribute: str, default: bool) -> Setting[bool]:
        if element.get(attribute) is None:
            return Setting(default)
        return Setting(self.boolean(element, attribute, default), self.where(element))

    def iis_mapping(self, element: _Element) -> IisCertificateMapping:
        method = element.get("logonMethod")
        one = _find(element, "oneToOneMappings")
        many = _find(element, "manyToOneMappings")
        return IisCertificateMapping(
            enabled=self.setting(element, "enabled", False),
            one_to_one_enabled=self.setting(element, "oneToOneCertificateMappingsEnabled", True),
            many_to_one_enabled=self.setting(element, "manyToOneCertificateMappingsEnabled", True),
            logon_method=Setting(method, self.where(element)) if method else Setting("ClearText"),
            default_logon_domain=element.get("defaultLogonDomain"),
            one_to_one=tuple(self.one(a) for a in _children(one, "add")) if one is not None else (),
            many_to_one=tuple(self.many(a) for a in _children(many, "add"))
            if many is not None
            else (),
            source=self.where(element),
        )

    def one(self, element: _Element) -> OneToOneMapping:
        return OneToOneMapping(
            certificate=element.get("certificate", ""),
            user_name=element.get("userName", ""),
            enabled=self.boolean(element, "enabled", True),
            has_password=bool(element.get("password")),
            source=self.where(element),
        )

    def many(self, element: _Element) -> ManyToOneMapping:
        rules = _find(element, "rules")
        return ManyToOneMapping(
            name=element.get("name", ""),
            user_name=element.get("userName", ""),
            enabled=self.boolean(element, "enabled", True),
            permission_mode=element.get("permissionMode", "Allow"),
            description=element.get("description", ""),
            rules=tuple(self.rule(r) for r in _children(rules, "add")) if rules is not None else (),
            has_password=bool(element.get("password")),
            source=self.where(element),
        )

    def rule(self, element: _Element) -> ManyToOneRule:
        return ManyToOneRule(
            certificate_field=element.get("certificateField", ""),
            certificate_sub_field=element.get("certificateSubField", ""),
            match_criteria=element.get("matchCriteria", ""),
            compare_case_sensitive=self.boolean(element, "compareCaseSensitive", True),
            source=self.where(element),
        )
