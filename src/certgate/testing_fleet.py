"""Deprecated alias of ``certgate.testing.fleet`` (kept while branches written before the move
land; import ``certgate.testing.fleet``)."""

from certgate.testing.fleet import *  # noqa: F403
