"""Which stack files to read, the project directory, and the project name.

Files: `-f` (repeatable), else STACK_FILE / COMPOSE_FILE (read by `stack.spec.environment`),
else the first of DEFAULT_FILENAMES in the project directory (`--project-directory`, else the
working directory), or else in the nearest parent directory that has one, plus an override
file beside it, as Compose does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

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
    "docker-compose.yml",
    "docker-compose.yaml",
)
# Compose's override names (its order), whichever of its names was found; ours for stack.*.
_COMPOSE_OVERRIDES = (
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
)
_STACK_OVERRIDES = ("stack.override.yaml", "stack.override.yml")

_VALID_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_INVALID_CHARS = re.compile(r"[^a-z0-9_-]")


def find_stack_files(
    files: list[str],
    cwd: str,
    warn: Callable[[str], None] | None = None,
    *,
    search_dir: str | None = None,
) -> list[str]:
    """Absolute paths of the stack files to load, in merge order (`-` stays `-`: stdin).

    `files`: those named (-f, or the FILE setting), relative to `cwd`; when there are none,
    the default names are looked for from `search_dir` (default `cwd`) upwards.
    """
    if files:
        return [p if p == STDIN else os.path.abspath(os.path.join(cwd, p)) for p in files]
    start = os.path.abspath(os.path.join(cwd, search_dir or ""))
    directory = start
    while True:
        found = _default_files_in(directory, warn)
        if found:
            return found
        parent = os.path.dirname(directory)
        if parent == directory:
            break
        directory = parent
    raise NoStackFileError(
        f"no configuration file provided: not found in {start} or any parent directory"
        f" (looked for {', '.join(DEFAULT_FILENAMES)})",
        hint="create stack.yaml there, or name files with -f FILE or COMPOSE_FILE; commands that act on what"
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
    for candidate in _STACK_OVERRIDES if names[0].startswith("stack.") else _COMPOSE_OVERRIDES:
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
