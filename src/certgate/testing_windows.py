"""Deprecated alias of ``certgate.testing.windows`` (kept while branches written before the move
land; import ``certgate.testing.windows``)."""

from certgate.testing.windows import *  # noqa: F403
