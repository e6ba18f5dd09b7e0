"""Deprecated alias of ``certgate.testing.listings`` (kept while branches written before the move
land; import ``certgate.testing.listings``)."""

from certgate.testing.listings import *  # noqa: F403
