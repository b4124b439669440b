"""Which stack files to read, the project directory, and the project name.

Files: `-f` (repeatable), else `STACK_FILE` (a list separated like PATH), else the first of
DEFAULT_FILENAMES in the working directory, or else in the nearest parent directory that has
one, plus its `.override` sibling, as Compose does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping

from stack.errors import NoStackFileError, UsageError
from stack.spec.limits import clip

__all__ = [
    "DEFAULT_FILENAMES",
    "STDIN",
    "find_stack_files",
    "normalize_project_name",
    "project_directory",
    "validate_project_name",
]

STDIN = "-"

DEFAULT_FILENAMES = (
    "stack.yaml",
    "stack.yml",
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
)

_VALID_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_INVALID_CHARS = re.compile(r"[^a-z0-9_-]")


def _override_candidates(filename: str) -> list[str]:
    stem, ext = os.path.splitext(filename)
    other = ".yml" if ext == ".yaml" else ".yaml"
    return [f"{stem}.override{ext}", f"{stem}.override{other}"]


def find_stack_files(
    files: list[str],
    environ: Mapping[str, str],
    cwd: str,
    warn: Callable[[str], None] | None = None,
) -> list[str]:
    """Absolute paths of the stack files to load, in merge order (`-` stays `-`: stdin)."""
    chosen = list(files)
    if not chosen:
        chosen = [p for p in environ.get("STACK_FILE", "").split(os.pathsep) if p]
    if chosen:
        return [p if p == STDIN else os.path.abspath(os.path.join(cwd, p)) for p in chosen]
    directory = os.path.abspath(cwd)
    while True:
        found = _default_files_in(directory, warn)
        if found:
            return found
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    raise NoStackFileError(
        f"no configuration file provided: not found in {cwd} or any parent directory"
        f" (looked for {', '.join(DEFAULT_FILENAMES)})",
        hint="create stack.yaml there, or name files with -f FILE or STACK_FILE; commands that act on what"
        " exists (ps, logs, down, ...) also work with -p PROJECT",
    )


def _default_files_in(directory: str, warn: Callable[[str], None] | None) -> list[str]:
    """The first default-named file in `directory` and its override sibling, if any."""
    names = [name for name in DEFAULT_FILENAMES if os.path.isfile(os.path.join(directory, name))]
    if not names:
        return []
    if len(names) > 1 and warn is not None:
        listed = ", ".join(os.path.join(directory, n) for n in names)
        warn(f"Found multiple stack files with supported names: {listed}; using {names[0]}")
    found = [os.path.join(directory, names[0])]
    for candidate in _override_candidates(names[0]):
        override = os.path.join(directory, candidate)
        if os.path.isfile(override):
            found.append(override)
            break
    return found


def project_directory(explicit: str | None, files: list[str], cwd: str) -> str:
    """`--project-directory`, else the directory of the first file (stdin: the working dir)."""
    if explicit:
        return os.path.abspath(os.path.join(cwd, explicit))
    if files and files[0] != STDIN:
        return os.path.dirname(os.path.abspath(files[0]))
    return os.path.abspath(cwd)


def normalize_project_name(name: str) -> str:
    """Compose's normalisation: lowercase, keep [a-z0-9_-], no leading `_` or `-`."""
    return _INVALID_CHARS.sub("", name.lower()).lstrip("_-")


def validate_project_name(name: str) -> str:
    """An explicit `-p` name must already be valid; it is never silently changed."""
    if not _VALID_NAME.fullmatch(name):
        raise UsageError(
            f"invalid project name {clip(name)}: use only lowercase letters, digits, '-' and '_', "
            "starting with a letter or digit",
            hint=f"try -p {normalize_project_name(name) or 'myproject'}",
        )
    return name
