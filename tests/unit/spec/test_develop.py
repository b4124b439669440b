"""`develop.watch`: the typed model, and a rule that cannot work is a stack-file error with its
file, line, key path and a hint (exit 2), before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from stack.errors import StackFileError
from stack.spec.loader import LoadOptions, load_project
from stack.spec.models import Project

HEAD = "services:\n  api:\n    image: x\n    develop:\n      watch:\n"


def load(tmp_path: Path, rules: str) -> Project:
    (tmp_path / "stack.yaml").write_text(HEAD + rules)
    return load_project(LoadOptions(cwd=str(tmp_path), environ={}))


def error(tmp_path: Path, rules: str) -> StackFileError:
    with pytest.raises(StackFileError) as info:
        load(tmp_path, rules)
    err = info.value
    assert err.exit_code == 2
    assert err.location is not None and err.location.file == str(tmp_path / "stack.yaml")
    return err


def test_the_rules_are_typed(tmp_path: Path) -> None:
    project = load(
        tmp_path,
        "        - action: sync+exec\n"
        "          path: ./src\n"
        "          target: /app\n"
        "          ignore: '*.tmp'\n"
        "          exec:\n"
        "            command: sh -c 'touch /tmp/x'\n"
        "            environment: [A=1]\n"
        "        - action: rebuild\n"
        "          path: requirements.txt\n",
    )
    develop = project.services["api"].develop
    assert develop is not None and develop.watch is not None
    sync, rebuild = develop.watch
    assert (sync.action, sync.path, sync.target, sync.ignore) == ("sync+exec", str(tmp_path / "src"), "/app", ["*.tmp"])
    assert sync.exec is not None and sync.exec.command == ["sh", "-c", "touch /tmp/x"]
    assert sync.exec.environment == {"A": "1"}
    assert rebuild.path == str(tmp_path / "requirements.txt") and rebuild.exec is not None
    assert rebuild.exec.command is None


def test_an_unknown_action(tmp_path: Path) -> None:
    err = error(tmp_path, "        - action: copy\n          path: ./src\n          target: /app\n")
    assert err.path == "services.api.develop.watch[0].action"
    assert err.location is not None and err.location.line == 6
    assert err.hint is not None and "sync+restart" in err.hint


def test_a_rule_without_path(tmp_path: Path) -> None:
    err = error(tmp_path, "        - action: sync\n          target: /app\n")
    assert err.path == "services.api.develop.watch[0]"
    assert "missing required key 'path'" in err.message


@pytest.mark.parametrize("action", ["sync", "sync+restart", "sync+exec"])
def test_a_copying_rule_without_target(tmp_path: Path, action: str) -> None:
    first = "        - action: restart\n          path: ./conf\n"
    err = error(tmp_path, f"{first}        - action: {action}\n          path: ./src\n")
    assert err.path == "services.api.develop.watch[1]"
    assert err.location is not None and err.location.line == 8
    assert f"a `{action}` watch rule needs a `target`" in err.message
    assert err.hint is not None and "target:" in err.hint


def test_restart_and_rebuild_need_no_target(tmp_path: Path) -> None:
    restart = "        - action: restart\n          path: ./conf\n"
    rebuild = "        - action: rebuild\n          path: ./x\n"
    load(tmp_path, restart + rebuild)


def test_sync_exec_without_a_command(tmp_path: Path) -> None:
    err = error(tmp_path, "        - action: sync+exec\n          path: ./src\n          target: /app\n")
    assert err.path == "services.api.develop.watch[0].exec"
    assert "needs `exec.command`" in err.message
    assert err.hint is not None and "exec:" in err.hint
