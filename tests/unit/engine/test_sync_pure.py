"""stack.engine.sync without a daemon: the archive a sync uploads, and whom its files belong to."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from stack.engine.sync import build_archive, container_owner, rule_tree
from stack.plan.watch_rules import CompiledRule, PathMapping, compile_rules
from stack.spec.models import Project

PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1001::/home/app:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"
GROUP = "root:x:0:\nstaff:x:50:app\napp:x:1001:\n"


@pytest.mark.parametrize(
    ("user", "owner"),
    [
        ("", (0, 0)),
        ("app", (1000, 1001)),  # the primary group from /etc/passwd
        ("1000", (1000, 1001)),
        ("4242", (4242, 0)),  # a uid the image does not know: group root, as the runtime does
        ("app:staff", (1000, 50)),
        ("app:77", (1000, 77)),
        ("65534:65534", (65534, 65534)),
        ("ghost", (0, 0)),
    ],
)
def test_the_container_user_owns_the_files(user: str, owner: tuple[int, int]) -> None:
    assert container_owner(user, PASSWD, GROUP) == owner


def sync_rule(tmp_path: Path, **rule: object) -> CompiledRule:
    project = Project.model_validate(
        {
            "name": "demo",
            "working_dir": str(tmp_path),
            "services": {
                "app": {
                    "image": "x",
                    "develop": {"watch": [{"action": "sync", "path": str(tmp_path / "src"), "target": "/app", **rule}]},
                }
            },
        }
    )
    (compiled,) = compile_rules(project, ["app"], lambda path: None)
    return compiled


def members(archive: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return {m.name: m for m in tar.getmembers()}


def test_a_file_in_new_directories_comes_with_them(tmp_path: Path) -> None:
    rule = sync_rule(tmp_path)
    deep = tmp_path / "src" / "a" / "b"
    deep.mkdir(parents=True)
    (deep / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(deep / "run.sh", 0o755)
    archive, count = build_archive([PathMapping(str(deep / "run.sh"), "/app/a/b/run.sh", rule)], owner=(1000, 1001))
    found = members(archive)
    assert list(found) == ["app/a", "app/a/b", "app/a/b/run.sh"]
    assert count == 3
    script = found["app/a/b/run.sh"]
    assert (script.uid, script.gid, script.mode & 0o777) == (1000, 1001, 0o755)
    assert found["app/a"].isdir()


def test_a_directory_is_copied_with_what_its_rule_does_not_ignore(tmp_path: Path) -> None:
    rule = sync_rule(tmp_path, ignore=["*.log", "cache"])
    src = tmp_path / "src"
    (src / "cache").mkdir(parents=True)
    (src / "cache" / "big.bin").write_text("x")
    (src / "keep.txt").write_text("keep")
    (src / "debug.log").write_text("noise")
    (src / ".keep.txt.swp").write_text("vim")
    (src / "link").symlink_to("keep.txt")
    archive, _ = build_archive(rule_tree(rule))
    found = members(archive)
    assert sorted(found) == ["app", "app/keep.txt", "app/link"]
    assert found["app/link"].issym() and found["app/link"].linkname == "keep.txt"


def test_a_path_gone_by_now_is_left_out(tmp_path: Path) -> None:
    rule = sync_rule(tmp_path)
    archive, count = build_archive([PathMapping(str(tmp_path / "src" / "gone.txt"), "/app/gone.txt", rule)])
    assert count == 0 and members(archive) == {}
