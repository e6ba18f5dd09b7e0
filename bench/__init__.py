"""Benchmarks: each module has ``main() -> None`` and compares certgate with a named baseline."""
