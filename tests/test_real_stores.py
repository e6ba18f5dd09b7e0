"""Real-world stores that cannot be shipped in the repository.

A real Windows root store export (``certutil -generateSSTFromWU roots.sst`` on a Windows
machine) is not redistributable here, so this test runs when ``CERTGATE_REAL_SST`` points at
one; docs/benchmarks.md records the run on a 434-certificate export. certifi (Mozilla's roots)
is tested unconditionally in test_audit_rules.py.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from certgate.core.audit import audit
from certgate.core.stores import Machine, Store
from certgate.formats import load_file

REAL_SST = os.environ.get("CERTGATE_REAL_SST")


@pytest.mark.skipif(not REAL_SST, reason="set CERTGATE_REAL_SST to a real Windows .sst export")
def test_real_windows_sst_loads_completely_with_friendly_names() -> None:
    path = Path(str(REAL_SST))
    data = path.read_bytes()
    elements = data.count(b"\x20\x00\x00\x00\x01\x00\x00\x00")  # upper bound on 0x20 elements
    loaded = load_file(path)
    assert loaded.certificates
    assert len(loaded.certificates) <= elements
    assert all(c.friendly_name for c in loaded.certificates)
    report = audit(Machine((Store("Root", loaded.certificates),)), datetime.now(UTC))
    assert not [f for f in report.findings if f.rule == "root::not-self-signed"]
