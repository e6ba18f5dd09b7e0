from __future__ import annotations

import certgate
from certgate.cli import main


def test_public_api_is_exact() -> None:
    assert certgate.__all__ == sorted(certgate.__all__)
    for name in certgate.__all__:
        assert hasattr(certgate, name)


def test_version(capsys: object) -> None:
    assert main(["--version"]) == 0
