"""Deprecated alias of ``certgate.testing.hostile`` (kept while branches written before the move
land; import ``certgate.testing.hostile``)."""

from certgate.testing.hostile import *  # noqa: F403
