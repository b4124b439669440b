"""The loader pipeline: stack file(s) on disk -> one canonical dict -> a `Project`.

Per file:  read (stdin for `-`) -> load_yaml (positions) -> interpolate -> canonicalize_file
           -> extends -> include
Then:      merge the files in order (honouring !reset/!override) -> profiles -> finalize
           -> Project.model_validate -> fill in where the project came from.

Every failure is a StackFileError (or UsageError) naming the file, line, column and key path.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stack.errors import Location, StackFileError, unknown_service
from stack.spec.discovery import (
    STDIN,
    find_stack_files,
    normalize_project_name,
    project_directory,
    validate_project_name,
)
from stack.spec.dotenv import read_env_files
from stack.spec.extends import ExtendsResolver, LoadedFile
from stack.spec.include import IncludeSpec, add_included, parse_includes
from stack.spec.interpolation import Lookup, interpolate, unset_warning
from stack.spec.limits import MAX_DEPTH, clip, listing
from stack.spec.merge import drop_reset_nulls, merge
from stack.spec.profiles import active_profiles, select_services
from stack.spec.sourcemap import SourceMap
from stack.spec.transform import TransformContext, canonicalize_file, finalize
from stack.spec.yamlpos import load_yaml

if TYPE_CHECKING:
    from pydantic import ValidationError

    from stack.spec.models import Project, Service

__all__ = ["LoadOptions", "load_project", "load_raw"]

STDIN_NAME = "<stdin>"


def _print_warning(message: str) -> None:
    print(f"WARN: {message}", file=sys.stderr)


@dataclass
class LoadOptions:
    """Everything that decides what a load produces (the CLI fills it from its flags).

    `on_warning` receives each warning once, without a prefix (e.g. `The "X" variable is
    not set. Defaulting to a blank string.`); the default prints `WARN: <message>` to stderr.
    """

    files: list[str] = field(default_factory=list)
    project_name: str | None = None
    project_directory: str | None = None
    env_files: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    services: list[str] = field(default_factory=list)
    interpolate: bool = True
    environ: Mapping[str, str] | None = None
    cwd: str | None = None
    on_warning: Callable[[str], None] | None = None


@dataclass
class _Env:
    """The variables a (sub-)project interpolates with: process environment, then env files."""

    environ: Mapping[str, str]
    dotenv: dict[str, str]

    def lookup(self, name: str) -> str | None:
        value = self.environ.get(name)
        return value if value is not None else self.dotenv.get(name)

    def merged(self) -> dict[str, str]:
        return {**self.dotenv, **self.environ}


@dataclass
class _Result:
    raw: dict[str, Any]
    name: str
    working_dir: str
    files: list[str]
    env: _Env
    profiles: list[str]
    disabled: dict[str, Any]
    smap: SourceMap


class _Session:
    """One load: caches file texts, dedupes warnings, knows the options."""

    def __init__(self, options: LoadOptions) -> None:
        self.options = options
        self.environ: Mapping[str, str] = options.environ if options.environ is not None else os.environ
        self.cwd = os.path.abspath(options.cwd or os.getcwd())
        self._warned: set[str] = set()
        self._on_warning = options.on_warning or _print_warning
        self._stdin: str | None = None

    def warn_unset(self, name: str) -> None:
        self.warn(unset_warning(name))

    def warn(self, message: str) -> None:
        if message not in self._warned:
            self._warned.add(message)
            self._on_warning(message)

    def read(self, path: str) -> str:
        if path == STDIN:
            if self._stdin is None:
                self._stdin = sys.stdin.read()
            return self._stdin
        try:
            with open(path, encoding="utf-8") as fh:
                return fh.read()
        except FileNotFoundError:
            raise StackFileError(
                f"stack file {path} not found",
                location=Location(path),
                hint="check the -f / STACK_FILE paths",
            ) from None
        except IsADirectoryError:
            raise StackFileError(f"{path} is a directory, not a stack file", location=Location(path)) from None
        except UnicodeDecodeError as e:
            raise StackFileError(f"stack file is not UTF-8 text: {e.reason}", location=Location(path)) from None
        except OSError as e:
            raise StackFileError(f"cannot read stack file: {e.strerror}", location=Location(path)) from None

    def parse(self, path: str, lookup: Lookup, *, extended: bool = False) -> LoadedFile:
        """read -> YAML -> interpolate: one file's top-level mapping, before canonicalization.

        `extended`: the file is read for `extends`, where Compose does not warn about `version`.
        """
        name = STDIN_NAME if path == STDIN else path
        smap = SourceMap()
        smap.default_file = name
        doc = load_yaml(self.read(path), name, smap)
        data = doc.data
        if data is None:
            raise StackFileError("the stack file is empty", location=Location(name), hint="define at least `services:`")
        if not isinstance(data, dict):
            raise StackFileError(
                f"the top level of a stack file must be a mapping, not {_kind(data)}",
                location=doc.start or Location(name),
                hint="start with `services:`",
            )
        if "version" in data and not extended:
            self.warn(obsolete_version_warning(name))
        if self.options.interpolate:
            interpolate(data, lookup, smap, self.warn_unset)
        drop_reset_nulls(data, doc.tags)
        return LoadedFile(file=name, data=data, smap=smap, tags=doc.tags)

    def canonical(self, loaded: LoadedFile, ctx: TransformContext) -> None:
        loaded.data = canonicalize_file(loaded.data, ctx)

    def load_files(
        self,
        parsed: list[LoadedFile],
        project_name: str,
        working_dir: str,
        env: _Env,
        smap: SourceMap,
        include_chain: tuple[str, ...],
    ) -> dict[str, Any]:
        """Canonicalize, resolve extends and includes, and merge already parsed files."""
        lookup = env.lookup

        def load_other(path: str) -> LoadedFile:
            # A file named by `extends.file`: its relative paths resolve against its own directory.
            other = self.parse(path, lookup, extended=True)
            ctx = TransformContext(
                project_name, os.path.dirname(path), path, other.smap, lookup, interpolated=self.options.interpolate
            )
            self.canonical(other, ctx)
            return other

        resolver = ExtendsResolver(load_other)
        project: dict[str, Any] = {}
        for loaded in parsed:
            loaded.working_dir = working_dir
            ctx = TransformContext(
                project_name, working_dir, loaded.file, loaded.smap, lookup, interpolated=self.options.interpolate
            )
            includes = parse_includes(loaded.data.get("include"), working_dir, loaded.smap)
            self.canonical(loaded, ctx)
            loaded.data.pop("include", None)
            resolver.resolve_file(loaded)
            for spec in includes:
                self.include(loaded, spec, project_name, include_chain)
            smap.update(loaded.smap)
            merge(project, loaded.data, loaded.tags)
        return project

    def include(self, loaded: LoadedFile, spec: IncludeSpec, project_name: str, chain: tuple[str, ...]) -> None:
        for path in spec.paths:
            if path in chain:
                cycle = listing([*chain[chain.index(path) :], path], " -> ")
                raise loaded.smap.error(spec.key_path, f"include cycle: {cycle}")
        if len(chain) >= MAX_DEPTH:  # each file included is a recursive call
            raise loaded.smap.error(
                spec.key_path, f"a chain of includes is longer than {MAX_DEPTH} files", "include fewer files in a row"
            )
        env_files = spec.env_files or [os.path.join(spec.project_directory, ".env")]
        dotenv = read_env_files(env_files, self.environ, required=bool(spec.env_files))
        env = _Env(self.environ, dotenv)
        sub_smap = SourceMap()
        parsed = [self.parse(p, env.lookup) for p in spec.paths]
        included = self.load_files(parsed, project_name, spec.project_directory, env, sub_smap, (*chain, *spec.paths))
        add_included(loaded.data, loaded.smap, included, sub_smap, spec)


def obsolete_version_warning(file: str) -> str:
    """Compose v2's warning for a top-level `version:` (it ignores the key, and so do we)."""
    return (
        f"{file}: the attribute `version` is obsolete, it will be ignored, "
        "please remove it to avoid potential confusion"
    )


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"a string ({value[:40]!r})"
    return f"a {type(value).__name__}"


def _project_name(options: LoadOptions, environ: Mapping[str, str], parsed: list[LoadedFile], cwd: str) -> str:
    explicit = options.project_name or environ.get("STACK_PROJECT_NAME")
    if explicit:
        return validate_project_name(explicit)
    for loaded in reversed(parsed):
        name = loaded.data.get("name")
        if name is not None and name != "":
            if not isinstance(name, str):
                raise loaded.smap.error(("name",), "name must be a string")
            normalized = normalize_project_name(name)
            if not normalized:
                raise loaded.smap.error(
                    ("name",),
                    f"invalid project name {clip(name)}: use lowercase letters, digits, '-' and '_'",
                )
            return normalized
    base = normalize_project_name(os.path.basename(cwd.rstrip(os.sep)))
    if not base:
        raise StackFileError(
            f"cannot derive a project name from the directory {cwd}",
            hint="set `name:` in the stack file or pass -p NAME",
        )
    return base


def _load(options: LoadOptions) -> _Result:
    session = _Session(options)
    environ, cwd = session.environ, session.cwd
    files = find_stack_files(options.files, environ, cwd, warn=session.warn)
    working_dir = project_directory(options.project_directory, files, cwd)
    if options.env_files:
        env_paths = [os.path.join(cwd, p) for p in options.env_files]
        dotenv = read_env_files(env_paths, environ, required=True)
    else:
        dotenv = read_env_files([os.path.join(working_dir, ".env")], environ, required=False)
    env = _Env(environ, dotenv)
    parsed = [session.parse(path, env.lookup) for path in files]
    name = _project_name(options, environ, parsed, working_dir)
    smap = SourceMap()
    smap.default_file = parsed[0].file
    chain = tuple(p for p in files if p != STDIN)
    project = session.load_files(parsed, name, working_dir, env, smap, chain)
    profiles = active_profiles(options.profiles, environ.get("STACK_PROFILES"))
    unknown = [s for s in options.services if s not in (project.get("services") or {})]
    if unknown:
        raise unknown_service(unknown[0], project.get("services") or {})
    disabled = select_services(project, profiles, options.services, smap)
    ctx = TransformContext(name, working_dir, parsed[0].file, smap, env.lookup, interpolated=options.interpolate)
    raw = finalize(project, ctx, disabled=list(disabled))
    return _Result(
        raw=raw,
        name=name,
        working_dir=working_dir,
        files=[STDIN_NAME if f == STDIN else f for f in files],
        env=env,
        profiles=profiles,
        disabled=disabled,
        smap=smap,
    )


def load_raw(options: LoadOptions) -> dict[str, Any]:
    """The finalized canonical project as plain data: what `stack config` prints."""
    return _load(options).raw


def _located_validation_error(error: ValidationError, smap: SourceMap) -> StackFileError:
    first = error.errors()[0]
    path = tuple(p for p in first["loc"] if isinstance(p, str | int))
    return smap.error(path, f"{first['msg']} (got {clip(first.get('input'))})")


def load_project(options: LoadOptions) -> Project:
    """Load, merge, validate: the typed Project, with where it came from filled in."""
    # pydantic and the models are imported here, not at module level: `config` never needs them.
    from pydantic import ValidationError

    from stack.spec.models import Project, Service

    result = _load(options)
    try:
        project = Project.model_validate(result.raw)
    except ValidationError as e:
        raise _located_validation_error(e, result.smap) from None
    from stack.spec.digest import spec_digest

    raw_services = result.raw.get("services") or {}
    for service_name, service in project.services.items():
        service.name = service_name
        service.spec_digest = spec_digest(raw_services[service_name])
    raw_networks = result.raw.get("networks") or {}
    for key, network in project.networks.items():
        network.spec_digest = spec_digest(raw_networks.get(key) or {})
    disabled: dict[str, Service] = {}
    for service_name, raw_service in result.disabled.items():
        try:
            service = Service.model_validate(raw_service)
        except ValidationError:
            continue  # never started unless enabled, and then it is validated with the rest
        service.name = service_name
        disabled[service_name] = service
    project.working_dir = result.working_dir
    project.config_files = result.files
    project.environment = result.env.merged()
    project.active_profiles = result.profiles
    project.disabled_services = disabled
    project.source_map = result.smap
    return project
