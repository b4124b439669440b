"""`stack cp`: files between a container and the local filesystem, as `docker cp` copies them.

The daemon moves tars: GET /containers/{id}/archive?path=P answers a tar whose top entry is
P's base name (`.` for `P/.`) with P's stat in a header, HEAD answers the stat alone, PUT
extracts a tar into an existing directory.  What `docker cp` (and Compose) make of that is
decided here from the stat of both ends, as the Docker CLI's pkg/archive/copy.go decides it:

- a directory onto a missing path creates that path with the directory's contents; onto an
  existing directory it goes inside it (`SRC/.`: its contents do);
- a file onto a missing path or onto a file takes the destination's name; onto an existing
  directory it goes inside it; onto `DEST/` that does not exist, it fails;
- a directory onto an existing file fails; a destination whose parent is missing fails;
- a destination that is a symbolic link is followed; a source that is one is copied as a
  link unless `-L` (follow_link), which follows that one link (not those inside a directory).

Modes and times travel in the tar both ways.  Owners: into a container, root unless
`archive` (`-a`: the daemon's copyUIDGID); out of one, the user running stack unless
`archive`, which keeps the container's numeric uid/gid (the Docker CLI ignores -a that way).

Extraction on our side is guarded as the daemon guards its own: no entry is written outside
the destination (`..`, absolute names, through a symbolic link), an existing file or link in
the way is replaced rather than written through, a directory is never replaced by a file,
and device nodes are skipped.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import anyio.to_thread

from stack.engine.docker_api import DockerAPI
from stack.engine.errors import translate
from stack.errors import DockerAPIError, DockerNotFoundError, FileCopyError

# Go's os.FileMode bits, in which the daemon reports a path's mode.
GO_DIR = 1 << 31
GO_SYMLINK = 1 << 27
GO_TYPE = GO_DIR | GO_SYMLINK | (1 << 26) | (1 << 25) | (1 << 24) | (1 << 21) | (1 << 19)
# A local tar larger than this goes to a temporary file while it is uploaded.
_SPOOL_BYTES = 32 << 20
_MAX_LINKS = 10  # symbolic links followed in a destination path, as Docker


@dataclass(frozen=True)
class PathInfo:
    """One end of a copy: its path, whether it exists and is a directory; `rebase`, for a
    source reached through a followed link, is the name its top entry must keep (the link's)."""

    path: str
    exists: bool = False
    is_dir: bool = False
    rebase: str = ""


@dataclass(frozen=True)
class Placement:
    """Where a tar is extracted, and the name its top entry takes there (None: its own)."""

    directory: str
    top: str | None


def specifies_current_dir(path: str) -> bool:
    """`a/.` or `.`: the contents of a directory, not the directory."""
    return posixpath.basename(path.rstrip("/") or "/") == "."


def asserts_directory(path: str) -> bool:
    """`a/` or `a/.`: the path must be a directory."""
    return path.endswith("/") or specifies_current_dir(path)


def split_entry(path: str) -> tuple[str, str]:
    """(directory, entry) as Docker splits a copy path: `a/b/` -> (a, b), `a/b/.` -> (a/b, .)."""
    cleaned = posixpath.normpath(path) if path else "."
    if specifies_current_dir(path):
        cleaned = posixpath.join(cleaned, ".")
    return posixpath.dirname(cleaned) or ".", posixpath.basename(cleaned) or "/"


def place(source: PathInfo, destination: PathInfo) -> Placement:
    """Where a tar of `source` goes for `destination` (Docker's PrepareArchiveCopy)."""
    directory, base = split_entry(destination.path)
    if destination.exists and destination.is_dir:
        return Placement(destination.path, source.rebase or None)
    if destination.exists and source.is_dir:
        raise FileCopyError(f"cannot copy a directory onto the file {destination.path}")
    if not destination.exists and not source.is_dir and asserts_directory(destination.path):
        raise FileCopyError(
            f"no such directory: {destination.path}", hint="create it first, or name a file without the trailing /"
        )
    return Placement(directory, base)


def container_path(path: str) -> str:
    """A path in a container: from its root (`tmp/x` is `/tmp/x`, as `docker cp` reads it)."""
    return path if path.startswith("/") else "/" + path


def go_mode_info(path: str, stat: dict[str, Any], *, rebase: str = "") -> PathInfo:
    mode = int(stat.get("mode") or 0)
    return PathInfo(path, exists=True, is_dir=bool(mode & GO_DIR), rebase=rebase)


# -- the local side ---------------------------------------------------------------------


def _local_error(action: str, path: str, exc: OSError) -> FileCopyError:
    return FileCopyError(f"cannot {action} {path}: {exc.strerror or exc}")


def local_source(path: str, *, follow_link: bool) -> PathInfo:
    """The local source as Docker resolves it: a link is copied as a link, unless `follow_link`
    or the path ends in `/` or `/.`, which follow it (its name is kept: `rebase`)."""
    probe = path.rstrip("/") or "/"
    follow = follow_link or path.endswith("/") or specifies_current_dir(path)
    try:
        if follow and os.path.islink(probe):
            resolved = os.path.realpath(probe, strict=True)
            if specifies_current_dir(path):
                resolved = os.path.join(resolved, ".")
            name, resolved_name = split_entry(path)[1], split_entry(resolved)[1]
            return PathInfo(resolved, True, os.path.isdir(resolved), name if name != resolved_name else "")
        return PathInfo(path, True, stat.S_ISDIR(os.lstat(probe).st_mode))
    except OSError as exc:
        raise _local_error("read", path, exc) from exc


def local_destination(path: str) -> PathInfo:
    """The local destination as Docker resolves it: links followed; when it does not exist,
    its parent directory must."""
    original = path
    for _ in range(_MAX_LINKS + 1):
        if not os.path.islink(path.rstrip("/") or "/"):
            break
        target = os.readlink(path.rstrip("/"))
        path = target if target.startswith("/") else os.path.join(split_entry(path)[0], target)
    else:
        raise FileCopyError(f"too many symbolic links in {original}")
    if os.path.lexists(path.rstrip("/") or "/"):
        return PathInfo(path, True, os.path.isdir(path))
    parent = split_entry(path)[0]
    if not os.path.isdir(parent):
        raise FileCopyError(f"no such directory: {parent}", hint=f"create it first, to copy into {original}")
    return PathInfo(path, False, False)


def pack(source: PathInfo, top: str) -> IO[bytes]:
    """A tar of the local `source` whose top entry is named `top` (modes, owners, times as they
    are; links inside are kept as links), rewound for reading."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 (returned open)
    try:
        with tarfile.open(fileobj=spool, mode="w", format=tarfile.PAX_FORMAT) as archive:
            archive.add(source.path.rstrip("/") or "/", arcname=top, recursive=True)
    except OSError as exc:
        spool.close()
        raise _local_error("read", source.path, exc) from exc
    spool.seek(0)
    return spool


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _renamed(name: str, old: str, new: str) -> str:
    """`name` with its top component `old` renamed `new` (Docker's RebaseArchiveEntries)."""
    if name == old:
        return new
    if name.startswith(old + "/"):
        return new + name[len(old) :]
    return name


def _extractable(
    archive: tarfile.TarFile, root: str, rename: tuple[str, str] | None, keep_owner: bool
) -> Iterator[tarfile.TarInfo]:
    """The archive's entries, renamed and checked one by one as they are extracted."""
    root = os.path.abspath(root)
    real_root = os.path.realpath(root)
    for member in archive:
        if rename is not None:
            member.name = _renamed(member.name, *rename)
            if member.islnk():
                member.linkname = _renamed(member.linkname, *rename)
        name = member.name.lstrip("/")
        if member.ischr() or member.isblk() or not name:
            continue
        if ".." in name.split("/"):
            raise FileCopyError(f"refusing the archive entry {member.name!r}: it leaves the destination")
        target = os.path.join(root, name)
        # A directory of the path may be a link planted by an earlier entry (or already there).
        if not _within(os.path.realpath(os.path.dirname(target)), real_root):
            raise FileCopyError(f"refusing the archive entry {member.name!r}: it would be written outside {root}")
        if member.issym():
            joined = os.path.normpath(os.path.join(os.path.dirname(target), member.linkname.lstrip("/")))
            if not _within(joined, root):
                raise FileCopyError(f"refusing the link {member.name!r} -> {member.linkname!r}: it leaves {root}")
        if member.islnk() and ".." in member.linkname.lstrip("/").split("/"):
            raise FileCopyError(f"refusing the hard link {member.name!r} -> {member.linkname!r}: it leaves {root}")
        if name != "." and os.path.lexists(target):
            existing_dir = stat.S_ISDIR(os.lstat(target).st_mode)
            if existing_dir != member.isdir():
                what = (
                    "the directory {} with a non-directory" if existing_dir else "the non-directory {} with a directory"
                )
                raise FileCopyError("cannot overwrite " + what.format(target))
            if not existing_dir:
                os.unlink(target)  # replaced, never written through
        member.name = name
        if not keep_owner:
            member.uid, member.gid, member.uname, member.gname = os.getuid(), os.getgid(), "", ""
        yield member


def unpack(stream: IO[bytes], directory: str, rename: tuple[str, str] | None, *, keep_owner: bool) -> None:
    """Extract a tar stream (the daemon's) into the local `directory`, entry by entry."""
    trusted: dict[str, Any] = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}
    try:
        with tarfile.open(fileobj=stream, mode="r|") as archive:
            members = _extractable(archive, directory, rename, keep_owner)
            archive.extractall(directory, members=members, numeric_owner=keep_owner, **trusted)
    except tarfile.TarError as exc:
        raise FileCopyError(f"the archive from the container is unreadable: {exc}") from exc
    except OSError as exc:
        raise _local_error("write into", directory, exc) from exc


# -- the two directions ------------------------------------------------------------------


@dataclass(frozen=True)
class CopyFlags:
    archive: bool = False  # -a
    follow_link: bool = False  # -L


async def _container_destination(api: DockerAPI, container: str, path: str) -> PathInfo:
    """The destination in the container: a link followed (the daemon gives its target)."""
    try:
        stat = await api.stat_path(container, path)
        if int(stat.get("mode") or 0) & GO_SYMLINK and stat.get("linkTarget"):
            path = str(stat["linkTarget"])
            stat = await api.stat_path(container, path)
    except DockerNotFoundError:
        return PathInfo(path)
    mode = int(stat.get("mode") or 0)
    if mode & GO_TYPE and not mode & GO_DIR:
        raise FileCopyError(f"the destination {path} must be a directory or a regular file")
    return PathInfo(path, True, bool(mode & GO_DIR))


async def copy_into(
    api: DockerAPI, container: str, name: str, source: str | IO[bytes], destination: str, flags: CopyFlags
) -> None:
    """Copy the local `source` (a path, or a tar stream to extract) to `destination` in the
    container (`name` is for messages)."""
    destination = container_path(destination)
    try:
        dest = await _container_destination(api, container, destination)
        if not isinstance(source, str):
            if not dest.is_dir:
                raise FileCopyError(f"the destination {name}:{destination} must be an existing directory")
            await api.write_archive(container, dest.path, source, copy_uid_gid=flags.archive)
            return
        src = local_source(source, follow_link=flags.follow_link)
        placement = place(src, dest)
        top = placement.top or src.rebase or split_entry(source)[1]
        tar = await anyio.to_thread.run_sync(pack, src, top)
        try:
            await api.write_archive(container, placement.directory, tar, copy_uid_gid=flags.archive)
        finally:
            tar.close()
    except DockerAPIError as exc:
        raise translate(
            exc, action=f"copy {source if isinstance(source, str) else '-'} to {name}:{destination}"
        ) from exc


async def copy_out(
    api: DockerAPI, container: str, name: str, source: str, destination: str | IO[bytes], flags: CopyFlags
) -> None:
    """Copy `source` in the container to the local `destination` (a path, or a stream that
    receives the tar as the daemon sends it)."""
    source = container_path(source)
    try:
        try:
            stat = await api.stat_path(container, source)
        except DockerNotFoundError:
            raise FileCopyError(f"no such file or directory in {name}: {source}") from None
        requested, rebase = source, ""
        if flags.follow_link and int(stat.get("mode") or 0) & GO_SYMLINK and stat.get("linkTarget"):
            requested = str(stat["linkTarget"])
            if specifies_current_dir(source):
                requested = posixpath.join(requested, ".")
            if split_entry(requested)[1] != split_entry(source)[1]:
                rebase = split_entry(source)[1]
        if not isinstance(destination, str):
            sink = destination

            def forward(stream: IO[bytes], _: dict[str, Any]) -> None:
                try:
                    shutil.copyfileobj(stream, sink)
                except OSError as exc:
                    raise _local_error("write", "the archive", exc) from exc

            await api.read_archive(container, requested, forward)
            return
        dest = local_destination(destination)

        def extract(stream: IO[bytes], served: dict[str, Any]) -> None:
            src = go_mode_info(requested, served, rebase=rebase)
            placement = place(src, dest)
            top = placement.top
            served_top = str(served.get("name") or split_entry(requested)[1])
            unpack(stream, placement.directory, (served_top, top) if top else None, keep_owner=flags.archive)

        await api.read_archive(container, requested, extract)
    except DockerAPIError as exc:
        raise translate(
            exc, action=f"copy {name}:{source} to {destination if isinstance(destination, str) else '-'}"
        ) from exc
