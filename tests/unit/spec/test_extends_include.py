"""extends (same file, other file, chains, cycles) and include (short/long form, conflicts)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from stack.errors import DependencyCycleError, StackFileError
from stack.spec.loader import LoadOptions, load_raw


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def ours(root: Path, **kw: Any) -> dict[str, Any]:
    raw = load_raw(LoadOptions(cwd=str(root), environ={}, **kw))
    result: dict[str, Any] = json.loads(json.dumps(raw))
    return result


def compose(compose_bin: Path, root: Path) -> dict[str, Any]:
    out = subprocess.run(
        [str(compose_bin), "config", "--format", "json"], cwd=root, capture_output=True, text=True, env={}
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout)
    return result


SCENARIO = {
    "sub/compose.yaml": (
        "services:\n"
        "  inc:\n    image: busybox:${IV-none}\n    volumes: [./data:/data]\n"
        "  base:\n    image: base\n    depends_on: [inc]\n    ports: ['81:80']\n"
        "    environment: {A: 1}\n    command: base\n    working_dir: /srv\n"
    ),
    "sub/.env": "IV=fromsubenv\n",
    "common/services.yaml": (
        "services:\n  root:\n    image: root\n    labels: {tier: root}\n    volumes: [./conf:/conf]\n"
        "  middle:\n    extends: root\n    labels: {level: middle}\n"
    ),
    "compose.yaml": (
        "include:\n  - sub/compose.yaml\n"
        "services:\n"
        "  web:\n    extends: {file: sub/compose.yaml, service: base}\n"
        "    ports: ['82:80', '81:80']\n    environment: {B: 2}\n    command: [mine]\n"
        "  local:\n    extends: web\n    environment: {C: 3}\n"
        "  deep:\n    extends: {file: common/services.yaml, service: middle}\n    labels: {me: deep}\n"
    ),
}


def test_extends_and_include_exactly_as_compose(tmp_path: Path, compose_bin: Path) -> None:
    write(tmp_path, SCENARIO)
    assert ours(tmp_path) == compose(compose_bin, tmp_path)


def test_extends_outcomes(tmp_path: Path) -> None:
    write(tmp_path, SCENARIO)
    services = ours(tmp_path)["services"]
    web = services["web"]
    assert web["image"] == "base"
    assert web["command"] == ["mine"]
    assert web["environment"] == {"A": "1", "B": "2"}
    assert [p["published"] for p in web["ports"]] == ["81", "82"]
    assert services["local"]["environment"] == {"A": "1", "B": "2", "C": "3"}  # chain of extends
    deep = services["deep"]
    assert deep["labels"] == {"tier": "root", "level": "middle", "me": "deep"}
    # relative paths of an extended file resolve against that file's directory
    assert deep["volumes"][0]["source"] == str(tmp_path / "common" / "conf")


def test_include_uses_its_own_env_and_directory(tmp_path: Path) -> None:
    write(tmp_path, SCENARIO)
    inc = ours(tmp_path)["services"]["inc"]
    assert inc["image"] == "busybox:fromsubenv"
    assert inc["volumes"][0]["source"] == str(tmp_path / "sub" / "data")


def test_include_long_form(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "parts/db.yaml": "services:\n  db:\n    image: 'pg:${PGV}'\n    volumes: [./x:/x]\n",
            "vars/db.env": "PGV=16\n",
            "compose.yaml": (
                "include:\n  - path: parts/db.yaml\n    project_directory: elsewhere\n    env_file: vars/db.env\n"
                "services:\n  web:\n    image: app\n    depends_on: [db]\n"
            ),
        },
    )
    services = ours(tmp_path)["services"]
    assert services["db"]["image"] == "pg:16"
    assert services["db"]["volumes"][0]["source"] == str(tmp_path / "elsewhere" / "x")


def test_include_conflict(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "db.yaml": "services:\n  db:\n    image: postgres\n",
            "compose.yaml": "include: [db.yaml]\nservices:\n  db:\n    image: postgres\n",
        },
    )
    with pytest.raises(StackFileError, match="conflicts with imported resource") as info:
        ours(tmp_path)
    assert info.value.location is not None
    assert info.value.location.line == 3


def test_include_cycle(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "a.yaml": "include: [b.yaml]\nservices:\n  a:\n    image: a\n",
            "b.yaml": "include: [a.yaml]\nservices:\n  b:\n    image: b\n",
        },
    )
    with pytest.raises(StackFileError, match="include cycle"):
        ours(tmp_path, files=["a.yaml"])


def test_extends_cycle_across_files_names_it(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "other.yaml": "services:\n  b:\n    image: x\n    extends: {file: compose.yaml, service: a}\n",
            "compose.yaml": "services:\n  a:\n    image: x\n    extends: {file: other.yaml, service: b}\n",
        },
    )
    with pytest.raises(DependencyCycleError) as info:
        ours(tmp_path)
    assert "a -> b (other.yaml) -> a" in info.value.message
    assert info.value.path == "services.a.extends"


def test_extends_missing_service_in_other_file(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "other.yaml": "services:\n  b:\n    image: x\n",
            "compose.yaml": "services:\n  a:\n    extends: {file: other.yaml, service: c}\n",
        },
    )
    with pytest.raises(StackFileError) as info:
        ours(tmp_path)
    assert info.value.path == "services.a.extends.service"
    assert "other.yaml" in info.value.message
    assert "defined services: b" in (info.value.hint or "")


def test_extends_with_reset_tag(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "compose.yaml": (
                "services:\n  base:\n    image: x\n    ports: ['80:80']\n    user: root\n"
                "  web:\n    extends: base\n    ports: !reset []\n    user: !reset null\n"
            )
        },
    )
    web = ours(tmp_path)["services"]["web"]
    assert web.get("ports", []) == []
    assert "user" not in web


def test_project_directory_moves_include_and_extends_paths(tmp_path: Path, compose_bin: Path) -> None:
    write(
        tmp_path,
        {
            "a/inc.yaml": "services:\n  inc:\n    image: from-a\n",
            "b/inc.yaml": "services:\n  inc:\n    image: from-b\n",
            "a/base.yaml": "services:\n  base:\n    image: base-a\n",
            "b/base.yaml": "services:\n  base:\n    image: base-b\n",
            "a/compose.yaml": "include: [inc.yaml]\nservices:\n  web:\n    extends: {file: base.yaml, service: base}\n",
        },
    )
    raw = ours(tmp_path, files=["a/compose.yaml"], project_directory="b")
    assert {name: s["image"] for name, s in raw["services"].items()} == {"web": "base-b", "inc": "from-b"}
    out = subprocess.run(
        [str(compose_bin), "-f", "a/compose.yaml", "--project-directory", "b", "config", "--format", "json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={},
    )
    theirs = json.loads(out.stdout)
    assert {name: s["image"] for name, s in theirs["services"].items()} == {"web": "base-b", "inc": "from-b"}
