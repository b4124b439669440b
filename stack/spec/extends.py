"""`extends`: a service built on another one, from the same file or another file.

Runs per file after `canonicalize_file`, so both the base and the extending service are in
canonical form and merge with the same rules as `-f` files (`merge.merge`).

`file:` is relative to the project directory for the project's own files (so
`--project-directory` moves it, as in Compose), and to the directory of the file for a file
reached through `extends`.  Such a file is only read for the services extended: as in
Compose, each of those is checked and canonicalized when reached, the rest is left alone,
and a service written there as null adds nothing (the extending service keeps its `extends`,
as Compose prints it).  Chains are followed recursively; a cycle is an error naming it
(`web -> base -> web`).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stack.errors import DependencyCycleError
from stack.spec.limits import MAX_DEPTH, clip, listing
from stack.spec.merge import deep_copy, merge
from stack.spec.sourcemap import KeyPath, SourceMap, format_path
from stack.spec.yamlpos import Tag

__all__ = ["ExtendsResolver", "LoadedFile"]


@dataclass
class LoadedFile:
    """One stack file, interpolated and canonical, with its own positions and tags."""

    file: str
    data: dict[str, Any]
    smap: SourceMap
    tags: dict[KeyPath, Tag] = field(default_factory=dict)
    # What `extends.file` is relative to: the project directory for the project's own files,
    # the file's directory for a file reached through `extends` ("" means the latter).
    working_dir: str = ""
    # For a file reached through `extends`: checks and canonicalizes one of its services
    # (name, service as written) when it is first extended.  None: the file is canonical.
    canonicalize: Callable[[str, Any], Any] | None = None
    canonical_services: set[str] = field(default_factory=set)

    def service(self, name: str) -> Any:
        """Service `name`, canonical."""
        services: dict[str, Any] = self.data["services"]
        if self.canonicalize is not None and name not in self.canonical_services and services[name] is not None:
            services[name] = self.canonicalize(name, services[name])
            self.canonical_services.add(name)
        return services[name]


FileLoader = Callable[[str], LoadedFile]


class ExtendsResolver:
    """Resolves every `extends` of the files it is given; other files load through `load_file`."""

    def __init__(self, load_file: FileLoader) -> None:
        self._load_file = load_file
        self._files: dict[str, LoadedFile] = {}
        self._done: set[tuple[str, str]] = set()

    def resolve_file(self, loaded: LoadedFile) -> None:
        """Replace each service of `loaded` that extends another by the merged result."""
        self._files.setdefault(loaded.file, loaded)
        services = loaded.data.get("services")
        if not isinstance(services, dict):
            return
        for name in list(services):
            self._resolve(loaded, name, [])

    def _file(self, path: str) -> LoadedFile:
        loaded = self._files.get(path)
        if loaded is None:
            loaded = self._load_file(path)
            self._files[path] = loaded
        return loaded

    def _resolve(self, loaded: LoadedFile, name: str, chain: list[tuple[str, str]]) -> dict[str, Any] | None:
        services: dict[str, Any] = loaded.data["services"]
        service = loaded.service(name)
        key = (loaded.file, name)
        if key in self._done or not isinstance(service, dict) or "extends" not in service:
            return service  # type: ignore[no-any-return]
        if key in chain:
            cycle = [*chain[chain.index(key) :], key]
            names = " -> ".join(self._label(f, n, loaded.file) for f, n in cycle)
            path: KeyPath = ("services", name, "extends")
            raise DependencyCycleError(
                f"extends cycle: {names}",
                location=loaded.smap.locate(path),
                path=format_path(path),
                hint="a service cannot extend itself, directly or through others",
            )
        ext_path: KeyPath = ("services", name, "extends")
        if len(chain) >= MAX_DEPTH:  # each link is a recursive call
            raise loaded.smap.error(
                ext_path, f"a chain of extends is longer than {MAX_DEPTH} services", "extend fewer services in a row"
            )
        spec = service["extends"]
        if isinstance(spec, str):
            spec = {"service": spec}
        if not isinstance(spec, dict) or not isinstance(spec.get("service"), str):
            raise loaded.smap.error(
                ext_path, "extends must name a service", "use `extends: base` or `extends: {service: base}`"
            )
        base_name: str = spec["service"]
        other = spec.get("file")
        if other is not None:
            if not isinstance(other, str):
                raise loaded.smap.error((*ext_path, "file"), "extends.file must be a path")
            base_dir = loaded.working_dir or os.path.dirname(loaded.file)
            base_path = os.path.normpath(os.path.join(base_dir, other))
            if not os.path.isfile(base_path):
                raise loaded.smap.error(
                    (*ext_path, "file"),
                    f"extends.file {clip(other)} not found (looked for {base_path})",
                    "the path is relative to the project directory (or to the file reached through extends)",
                )
            base_file = self._file(base_path)
        else:
            base_file = loaded
        base_services = base_file.data.get("services") or {}
        if not isinstance(base_services, dict) or base_name not in base_services:
            where = "" if base_file is loaded else f" in {base_file.file}"
            hint = f"defined services: {listing(sorted(base_services))}" if base_services else None
            raise loaded.smap.error(
                (*ext_path, "service"), f"cannot extend service {clip(base_name)}: it is not defined{where}", hint
            )
        base = self._resolve(base_file, base_name, [*chain, key])
        if base is None:  # written as null in another file: nothing to add (Compose's rule)
            if other is not None:
                service["extends"] = {"file": base_file.file, "service": base_name}
            self._done.add(key)
            return service
        own = {k: v for k, v in service.items() if k != "extends"}
        merged = merge(deep_copy(base), own, loaded.tags, ("services", name))
        # Errors in inherited keys point into the base service's file.
        loaded.smap.copy_subtree(base_file.smap, ("services", base_name), ("services", name), base, overwrite=False)
        services[name] = merged
        self._done.add(key)
        return merged

    @staticmethod
    def _label(file: str, name: str, first: str) -> str:
        return name if file == first else f"{name} ({os.path.basename(file)})"
