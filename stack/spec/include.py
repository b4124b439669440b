"""`include`: other stack files loaded as their own sub-projects and added to this one.

Each entry is a path (short form) or `{path, project_directory, env_file}` (long form);
paths are relative to the including project's directory.  The included project is
loaded on its own (its `.env`, its `extends`, its own `include`s), then its services,
networks, volumes, secrets and configs are added; a name defined on both sides is an error,
as in Compose ("services.web conflicts with imported resource").
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from stack.spec.limits import clip
from stack.spec.sourcemap import KeyPath, SourceMap

__all__ = ["RESOURCE_KINDS", "IncludeSpec", "add_included", "parse_includes"]

RESOURCE_KINDS = ("services", "networks", "volumes", "secrets", "configs")


@dataclass
class IncludeSpec:
    """One `include` entry, with absolute paths."""

    paths: list[str]
    project_directory: str
    env_files: list[str]
    key_path: KeyPath  # where the entry is written, for errors


def _str_list(value: Any, path: KeyPath, smap: SourceMap, what: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(i, str) and i for i in items):
        raise smap.error(path, f"{what} must be a path or a list of paths")
    return list(items)


def parse_includes(value: Any, base_dir: str, smap: SourceMap) -> list[IncludeSpec]:
    """The `include` entries of one file, checked, with paths made absolute.

    Relative paths resolve against `base_dir`, the including project's directory (as in
    Compose, where `--project-directory` moves them).
    """
    if value is None:
        return []
    if not isinstance(value, list):
        raise smap.error(("include",), "include must be a list", "include:\n  - path/to/other.yaml")
    specs = []
    for index, entry in enumerate(value):
        path: KeyPath = ("include", index)
        if isinstance(entry, str):
            entry = {"path": entry}
        if not isinstance(entry, dict):
            raise smap.error(path, "an include entry is a path or a mapping with `path:`")
        unknown = sorted(set(entry) - {"path", "project_directory", "env_file"})
        if unknown:
            raise smap.error(
                (*path, unknown[0]),
                f"unknown include key {clip(unknown[0])}",
                "accepted keys: path, project_directory, env_file",
            )
        if "path" not in entry:
            raise smap.error(path, "an include entry needs `path:`")
        paths = [
            os.path.normpath(os.path.join(base_dir, p))
            for p in _str_list(entry["path"], (*path, "path"), smap, "include path")
        ]
        for i, p in enumerate(paths):
            if not os.path.isfile(p):
                where: KeyPath = (*path, "path") if isinstance(entry["path"], str) else (*path, "path", i)
                raise smap.error(
                    where,
                    f"included file {p} not found",
                    "include paths are relative to the project directory",
                )
        project_dir = entry.get("project_directory")
        if project_dir is not None and not isinstance(project_dir, str):
            raise smap.error((*path, "project_directory"), "project_directory must be a path")
        directory = os.path.normpath(os.path.join(base_dir, project_dir)) if project_dir else os.path.dirname(paths[0])
        if "env_file" in entry:
            env_files = [
                os.path.normpath(os.path.join(base_dir, p))
                for p in _str_list(entry["env_file"], (*path, "env_file"), smap, "include env_file")
            ]
        else:
            env_files = []
        specs.append(IncludeSpec(paths, directory, env_files, path))
    return specs


def add_included(
    target: dict[str, Any],
    target_smap: SourceMap,
    included: dict[str, Any],
    included_smap: SourceMap,
    spec: IncludeSpec,
) -> None:
    """Add an included project's resources to `target`; a name on both sides is an error."""
    for kind in RESOURCE_KINDS:
        theirs = included.get(kind)
        if not theirs:
            continue
        ours = target.get(kind)
        if not isinstance(ours, dict):
            ours = {}
            target[kind] = ours
        for name, value in theirs.items():
            if name in ours:
                raise target_smap.error(
                    (kind, name),
                    f"{kind}.{name} conflicts with imported resource from {spec.paths[0]}",
                    "rename one of them: an included file cannot be overridden by redefining its resources",
                )
            ours[name] = value
            target_smap.copy_subtree(included_smap, (kind, name), (kind, name), value)
