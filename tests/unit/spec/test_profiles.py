"""Profiles: which services are on."""

from __future__ import annotations

from pathlib import Path

import pytest

from stack.errors import StackFileError
from stack.spec.loader import LoadOptions, load_project
from stack.spec.profiles import active_profiles

STACK = (
    "services:\n"
    "  web:\n    image: a\n    depends_on:\n      db: {condition: service_started, required: false}\n"
    "  db:\n    image: b\n    profiles: [dbp]\n"
    "  debug:\n    image: c\n    profiles: [debug, dev]\n"
)


def project(tmp_path: Path, environ: dict[str, str] | None = None, **kw: object):
    (tmp_path / "stack.yaml").write_text(STACK)
    return load_project(LoadOptions(cwd=str(tmp_path), environ=environ or {}, **kw))  # type: ignore[arg-type]


def test_services_without_profiles_always_on(tmp_path: Path) -> None:
    p = project(tmp_path)
    assert sorted(p.services) == ["web"]
    assert sorted(p.disabled_services) == ["db", "debug"]
    assert p.disabled_services["db"].name == "db"
    # an optional dependency on a disabled service is kept, as Compose prints it
    assert p.services["web"].depends_on["db"].required is False


def test_profile_flag_env_and_star(tmp_path: Path) -> None:
    assert sorted(project(tmp_path, profiles=["dev"]).services) == ["debug", "web"]
    assert sorted(project(tmp_path, {"STACK_PROFILES": "dbp,dev"}).services) == ["db", "debug", "web"]
    assert sorted(project(tmp_path, profiles=["*"]).services) == ["db", "debug", "web"]
    assert project(tmp_path, {"STACK_PROFILES": "dbp"}, profiles=["dev"]).active_profiles == ["dev"]


def test_naming_a_service_enables_it(tmp_path: Path) -> None:
    p = project(tmp_path, services=["db"])
    assert sorted(p.services) == ["db", "web"]


def test_required_dependency_on_disabled_service_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(
        "services:\n  web:\n    image: a\n    depends_on: [db]\n  db:\n    image: b\n    profiles: [dbp]\n"
    )
    with pytest.raises(StackFileError) as info:
        load_project(LoadOptions(cwd=str(tmp_path), environ={}))
    assert info.value.path == "services.web.depends_on.db"
    assert "--profile dbp" in (info.value.hint or "")
    assert sorted(load_project(LoadOptions(cwd=str(tmp_path), environ={}, profiles=["dbp"])).services) == [
        "db",
        "web",
    ]


def test_active_profiles_parsing() -> None:
    assert active_profiles([], "a, b,,a") == ["a", "b"]
    assert active_profiles(["x", "y,z"], "a") == ["x", "y", "z"]
    assert active_profiles([], None) == []
