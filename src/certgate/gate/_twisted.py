"""Twisted's global reactor, typed loosely: it provides its interfaces through zope
declarations, which mypy cannot follow (``reactor.callLater`` is "not an attribute")."""

from typing import Any

from twisted.internet import reactor as _reactor

reactor: Any = _reactor
