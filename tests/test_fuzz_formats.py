"""Fuzzing the loaders: whatever the bytes, the outcome is certificates or an InputError."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certgate.core.audit import audit
from certgate.core.stores import Machine, Store
from certgate.errors import InputError
from certgate.formats import Loaded, load_bytes
from certgate.testing import PKI, KeyType, pem_bundle, pkcs7_bundle, sst_bundle

_PKI = PKI(now=datetime(2026, 6, 1, tzinfo=UTC))
_ROOT = _PKI.root("Fuzz Root")
_ITEMS = [_ROOT, _ROOT.intermediate("Fuzz Issuing", key=KeyType.P256), _PKI.root("Other")]
SAMPLES = [
    pem_bundle(_ITEMS),
    pkcs7_bundle(_ITEMS),
    pkcs7_bundle(_ITEMS, pem=True),
    sst_bundle([(_ITEMS[0], "Fuzz"), *_ITEMS[1:]]),
    _ROOT.der,
    _ITEMS[1].pfx(None),
]
FUZZ = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def load_or_reject(data: bytes) -> Loaded | None:
    try:
        loaded = load_bytes(data, "fuzz.bin")
    except InputError as exc:
        assert exc.path == "fuzz.bin"
        assert "\n" not in exc.diagnostics()
        return None
    # Whatever loaded must also be auditable without crashing.
    audit(Machine((Store("Root", loaded.certificates),)), datetime(2026, 6, 1, tzinfo=UTC))
    return loaded


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(data: bytes) -> None:
    load_or_reject(data)


@FUZZ
@given(
    st.sampled_from(SAMPLES),
    st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), max_size=8),
)
def test_mutated_samples(sample: bytes, flips: list[tuple[int, int]]) -> None:
    data = bytearray(sample)
    for position, value in flips:
        data[position % len(data)] = value
    load_or_reject(bytes(data))


@FUZZ
@given(st.sampled_from(SAMPLES), st.data())
def test_truncated_samples(sample: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(0, len(sample)))
    load_or_reject(sample[:cut])


@FUZZ
@given(st.sampled_from(SAMPLES[:1]), st.text(max_size=200))
def test_pem_with_injected_text(sample: bytes, junk: str) -> None:
    middle = sample.index(b"-----END CERTIFICATE-----") + len(b"-----END CERTIFICATE-----\n")
    load_or_reject(sample[:middle] + junk.encode("utf-8", "replace") + sample[middle:])
