"""The knowledge base: every code a client-certificate failure leaves behind, decoded.

Data, not prose in code: one TOML file per family under ``data/``, checked and indexed when
first used. Ids are ``<family>:<code>`` (``codes.kb_id``)::

    from certgate.core.kb import knowledge_base, describe

    kb = knowledge_base()
    kb.get("hresult:CERT_E_UNTRUSTEDROOT").causes    # ranked, each with how to confirm it
    kb.lookup("native error code 0x109")[0].entry.id  # 'hresult:CERT_E_UNTRUSTEDROOT'
    describe("iis:403.16")                            # one line for a summary
"""

from certgate.core.kb._base import KnowledgeBase, describe, knowledge_base, likely_causes
from certgate.core.kb._model import (
    Confidence,
    Entry,
    LikelyCause,
    Match,
    MatchKind,
    Reference,
    source_url,
)

__all__ = [
    "Confidence",
    "Entry",
    "KnowledgeBase",
    "LikelyCause",
    "Match",
    "MatchKind",
    "Reference",
    "describe",
    "knowledge_base",
    "likely_causes",
    "source_url",
]
