"""`stack cp`'s decisions (Docker's copy rules) and its guarded extraction, on the local
filesystem only: no daemon."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest

from stack.engine.copy import PathInfo, Placement, local_destination, local_source, pack, place, split_entry, unpack
from stack.errors import FileCopyError


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/a/b", ("/a", "b")),
        ("/a/b/", ("/a", "b")),
        ("/a/b/.", ("/a/b", ".")),
        ("a", (".", "a")),
        ("/", ("/", "/")),
        ("/.", ("/", ".")),
    ],
)
def test_split_entry(path: str, expected: tuple[str, str]) -> None:
    assert split_entry(path) == expected


DIR = PathInfo("/src/site", exists=True, is_dir=True)
FILE = PathInfo("/src/index.html", exists=True, is_dir=False)


@pytest.mark.parametrize(
    ("source", "destination", "expected"),
    [
        (DIR, PathInfo("/srv/www", exists=True, is_dir=True), Placement("/srv/www", None)),  # inside it
        (DIR, PathInfo("/srv/new"), Placement("/srv", "new")),  # created with the contents
        (FILE, PathInfo("/srv/www", exists=True, is_dir=True), Placement("/srv/www", None)),
        (FILE, PathInfo("/srv/a.html", exists=True), Placement("/srv", "a.html")),  # replaces it
        (FILE, PathInfo("/srv/b.html"), Placement("/srv", "b.html")),
        (PathInfo("/etc", True, True, rebase="link"), PathInfo("/out", True, True), Placement("/out", "link")),
    ],
)
def test_place(source: PathInfo, destination: PathInfo, expected: Placement) -> None:
    assert place(source, destination) == expected


def test_place_refusals() -> None:
    with pytest.raises(FileCopyError, match="directory onto the file"):
        place(DIR, PathInfo("/srv/a.html", exists=True))
    with pytest.raises(FileCopyError, match="no such directory"):
        place(FILE, PathInfo("/srv/missing/"))


def tree(root: Path) -> None:
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    (root / "sub" / "x.sh").write_text("x")
    (root / "abs").symlink_to("/etc/hostname")  # kept as a link: it is not followed here
    os.chmod(root / "a.txt", 0o640)
    os.chmod(root / "sub", 0o711)
    os.chmod(root / "sub" / "x.sh", 0o755)


def modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.lstat().st_mode) for p in sorted(root.rglob("*"))}


def test_pack_then_unpack_renamed_keeps_modes_and_links(tmp_path: Path) -> None:
    tree(tmp_path / "src")
    archive = pack(local_source(str(tmp_path / "src"), follow_link=False), "src")
    (tmp_path / "out").mkdir()
    unpack(archive, str(tmp_path / "out"), ("src", "copy"), keep_owner=False)
    copy = tmp_path / "out" / "copy"
    assert modes(copy) == modes(tmp_path / "src")
    assert os.readlink(copy / "abs") == "/etc/hostname"
    assert (copy / "sub" / "x.sh").read_text() == "x"


def test_local_source_follows_links_only_when_asked(tmp_path: Path) -> None:
    tree(tmp_path / "src")
    (tmp_path / "alias").symlink_to(tmp_path / "src")
    assert local_source(str(tmp_path / "alias"), follow_link=False) == PathInfo(str(tmp_path / "alias"), True, False)
    followed = local_source(str(tmp_path / "alias"), follow_link=True)
    assert followed == PathInfo(str(tmp_path / "src"), True, True, rebase="alias")
    with pytest.raises(FileCopyError, match="cannot read"):
        local_source(str(tmp_path / "missing"), follow_link=False)


def test_local_destination(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "to-dir").symlink_to("dir")
    assert local_destination(str(tmp_path / "to-dir")) == PathInfo(str(tmp_path / "dir"), True, True)
    assert local_destination(str(tmp_path / "new")) == PathInfo(str(tmp_path / "new"), False, False)
    with pytest.raises(FileCopyError, match="no such directory"):
        local_destination(str(tmp_path / "missing" / "new"))


def tar_of(*members: tuple[tarfile.TarInfo, bytes]) -> io.BytesIO:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as archive:
        for info, content in members:
            info.size = len(content) if info.isreg() else 0
            archive.addfile(info, io.BytesIO(content) if info.isreg() else None)
    data.seek(0)
    return data


def entry(name: str, *, kind: bytes = tarfile.REGTYPE, link: str = "", mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, link, mode
    return info


@pytest.mark.parametrize(
    "members",
    [
        [(entry("../escape"), b"x")],
        [(entry("d/../../escape"), b"x")],
        [(entry("up", kind=tarfile.SYMTYPE, link="../../outside"), b"")],
        # A link planted first, then a file written through it.
        [(entry("via", kind=tarfile.SYMTYPE, link="/"), b""), (entry("via/etc/evil"), b"x")],
    ],
)
def test_unpack_never_writes_outside(tmp_path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> None:
    (tmp_path / "dest").mkdir()
    with pytest.raises(FileCopyError, match="refusing"):
        unpack(tar_of(*members), str(tmp_path / "dest"), None, keep_owner=False)
    assert not (tmp_path / "escape").exists() and not (tmp_path / "outside").exists()


def test_unpack_replaces_a_link_in_the_way_instead_of_writing_through_it(tmp_path: Path) -> None:
    (tmp_path / "dest").mkdir()
    victim = tmp_path / "victim"
    victim.write_text("untouched")
    (tmp_path / "dest" / "file").symlink_to(victim)
    unpack(tar_of((entry("file"), b"new")), str(tmp_path / "dest"), None, keep_owner=False)
    assert victim.read_text() == "untouched"
    assert not (tmp_path / "dest" / "file").is_symlink() and (tmp_path / "dest" / "file").read_text() == "new"


def test_unpack_keeps_absolute_links_and_refuses_dir_file_swaps(tmp_path: Path) -> None:
    (tmp_path / "dest" / "taken").mkdir(parents=True)
    unpack(
        tar_of((entry("abs", kind=tarfile.SYMTYPE, link="/etc"), b"")), str(tmp_path / "dest"), None, keep_owner=False
    )
    assert os.readlink(tmp_path / "dest" / "abs") == "/etc"
    with pytest.raises(FileCopyError, match="cannot overwrite the directory"):
        unpack(tar_of((entry("taken"), b"x")), str(tmp_path / "dest"), None, keep_owner=False)
