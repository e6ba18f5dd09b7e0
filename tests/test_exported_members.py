"""certgate's public Python API is exactly the documented list (after httpx's
tests/test_exported_members.py): ``certgate.__all__``, sorted, nothing else public at the top,
and the README imports only from ``certgate`` and the public helper packages."""

from __future__ import annotations
import __future__

import re
import types
from pathlib import Path

import certgate

DOCUMENTED = [
    "CertgateError",
    "Certificate",
    "ClientCertMiddleware",
    "ClientIdentity",
    "InputError",
    "Judge",
    "LogScan",
    "Machine",
    "SampleClient",
    "SelfSigned",
    "Store",
    "SymptomBuilder",
    "UsageError",
    "Verdict",
    "VerifyRequest",
    "__version__",
    "describe",
    "diagnose",
    "fetch",
    "judge_once",
    "knowledge_base",
    "load_policy",
    "read_events",
    "running_gate",
    "summarise",
    "verify",
    "verify_fast",
]
# Packages for tests and the demo, documented in the README's own sections.
PUBLIC_PACKAGES = ("certgate.testing", "certgate.demo")
README = Path(__file__).parents[1] / "README.md"


def test_all_is_the_documented_list() -> None:
    assert certgate.__all__ == DOCUMENTED == sorted(DOCUMENTED)


def test_every_name_resolves_and_nothing_else_is_public() -> None:
    for name in certgate.__all__:
        assert getattr(certgate, name) is not None, name
    public = {
        name
        for name, value in vars(certgate).items()
        if not name.startswith("_")
        and not isinstance(value, (types.ModuleType, __future__._Feature))
    }
    assert public == set(DOCUMENTED) - {"__version__"}


def test_the_readme_teaches_only_the_public_surface() -> None:
    text = README.read_text(encoding="utf-8")
    imports = re.findall(r"^from (certgate[\w.]*) import ([^\n]+)$", text, re.M)
    assert imports
    deep = sorted(
        module
        for module, _ in imports
        if module != "certgate"
        and not any(module == p or module.startswith(p + ".") for p in PUBLIC_PACKAGES)
    )
    assert deep == []
    taught = {
        name.strip()
        for module, names in imports
        if module == "certgate"
        for name in names.split(",")
    }
    assert taught <= set(certgate.__all__)
    assert "verify" in taught and "diagnose" in taught
