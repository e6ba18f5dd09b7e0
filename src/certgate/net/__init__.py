"""Network adapters: used only when the user asks for them (``--online``), always with timeouts."""
