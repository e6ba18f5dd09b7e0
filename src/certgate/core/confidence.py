"""How sure certgate is of a fact: the marks of docs/windows-model.md, shared by every module."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Confidence"]


class Confidence(StrEnum):
    CONFIRMED = "confirmed"  # a primary source: vendor docs, headers, the product's own source
    SECONDARY = "secondary"  # a reputable secondary source: vendor support blogs, reimplementations
    INFERRED = "inferred"  # derived by certgate from confirmed facts
    UNCONFIRMED = "unconfirmed"  # reported, not verified
