"""Deprecated alias of ``certgate.testing.logs``, the generated log samples (kept while
branches written before the move land). The gate's own writers are ``certgate.logs.writers``."""

from certgate.testing.logs import *  # noqa: F403
