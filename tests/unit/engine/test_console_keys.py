"""`stack attach`'s detach keys: Docker's syntax, and finding them in what is typed."""

from __future__ import annotations

import pytest

from stack.engine.console import DetachDetector, configured_detach_keys, parse_detach_keys
from stack.errors import UsageError


@pytest.mark.parametrize(
    ("spec", "codes"),
    [
        ("ctrl-p,ctrl-q", b"\x10\x11"),
        ("ctrl-@", b"\x00"),
        ("ctrl-a,ctrl-z", b"\x01\x1a"),
        ("ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", b"\x1b\x1c\x1d\x1e\x1f"),
        ("ctrl-X", b"\x18"),
        ("a,b,DEL", b"ab\x7f"),
    ],
)
def test_parse_detach_keys(spec: str, codes: bytes) -> None:
    assert parse_detach_keys(spec) == codes


@pytest.mark.parametrize("spec", ["", "ctrl-1", "ctrl-p,,ctrl-q", "shift-a", "é"])
def test_bad_detach_keys_are_usage_errors(spec: str) -> None:
    with pytest.raises(UsageError, match="invalid detach keys"):
        parse_detach_keys(spec)


def test_detector_holds_a_partial_match_back_and_releases_it_on_a_mismatch() -> None:
    detector = DetachDetector(b"\x10\x11")
    assert detector.feed(b"ab\x10") == (b"ab", False)  # ctrl-p held back
    assert detector.feed(b"c") == (b"\x10c", False)  # not the sequence: it goes on
    assert detector.feed(b"x\x10") == (b"x", False)
    assert detector.feed(b"\x11rest") == (b"", True)  # split across reads: still found
    assert DetachDetector(b"\x10\x11").feed(b"\x10\x10\x11") == (b"\x10", True)
    assert DetachDetector(b"\x18").feed(b"ok\x18more") == (b"ok", True)


def test_configured_detach_keys(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    assert configured_detach_keys({"DOCKER_CONFIG": str(tmp_path)}) == "ctrl-p,ctrl-q"
    (tmp_path / "config.json").write_text('{"detachKeys": "ctrl-x,x"}')
    assert configured_detach_keys({"DOCKER_CONFIG": str(tmp_path)}) == "ctrl-x,x"
