"""The one XML parser configuration certgate uses for files users hand over.

No entity expansion, no DTD loading, no network, no huge trees: a billion-laughs or
external-entity (XXE) document is refused or left unexpanded, never resolved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lxml import etree

__all__ = ["DTD_MARKERS", "safe_parser"]

DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY", b"<!doctype")


def safe_parser() -> etree.XMLParser:
    from lxml import etree  # imported when XML is read: log scans of text files skip it

    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
