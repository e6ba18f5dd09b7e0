"""Shared fixtures: a fresh test PKI per test, anchored at a fixed time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from certgate.testing import PKI

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def pki() -> PKI:
    return PKI(now=NOW)
