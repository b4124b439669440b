"""`stack swarm deploy --dry-run` and `--strict` need no daemon: the file is refused before one is asked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

STACK = """services:
  web:
    image: busybox
    privileged: true
"""


def _stack(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "stack.yaml").write_text(STACK)
    env = {"PATH": "/usr/bin:/bin", "DOCKER_HOST": "unix:///nonexistent.sock"}
    return subprocess.run(
        [sys.executable, "-m", "stack", "-p", "demo", *args], cwd=tmp_path, capture_output=True, text=True, env=env
    )


def test_dry_run_prints_the_objects_and_the_unsupported_keys(tmp_path: Path) -> None:
    done = _stack(tmp_path, "swarm", "deploy", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "service web -> demo_web" in done.stdout
    assert f"unsupported {tmp_path / 'stack.yaml'}:4:5: services.web.privileged" in done.stdout


def test_strict_refuses_with_exit_2_before_asking_the_daemon(tmp_path: Path) -> None:
    done = _stack(tmp_path, "swarm", "deploy", "--strict")
    assert done.returncode == 2, done.stderr
    assert (
        f"{tmp_path / 'stack.yaml'}:4:5: services.web.privileged: Swarm cannot run privileged containers" in done.stderr
    )
    assert "Traceback" not in done.stderr
