"""The loader pipeline: stack file(s) on disk -> one canonical dict -> a `Project`.

First:     env files and Compose's variables (`environment`) -> which files -> project name
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

from stack.errors import Location, StackFileError, UsageError, unknown_service
from stack.spec.discovery import (
    STDIN,
    find_stack_files,
    normalize_project_name,
    project_directory,
    validate_project_name,
)
from stack.spec.environment import (
    PROJECT_NAME_VARIABLE,
    Environment,
    Setting,
    dotenv_disabled,
    env_files_from,
    split_files,
)
from stack.spec.extends import ExtendsResolver, LoadedFile
from stack.spec.include import IncludeSpec, add_included, parse_includes
from stack.spec.interpolation import Lookup, interpolate, unset_warning
from stack.spec.limits import MAX_DEPTH, clip, listing
from stack.spec.merge import drop_resets, merge
from stack.spec.profiles import active_profiles, select_services
from stack.spec.sourcemap import SourceMap
from stack.spec.transform import TransformContext, canonical_service, canonicalize_file, finalize
from stack.spec.validation import check_schema
from stack.spec.yamlpos import load_yaml, load_yaml_stream

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
class _Result:
    raw: dict[str, Any]
    name: str
    working_dir: str
    files: list[str]
    env: Environment
    profiles: list[str]
    disabled: dict[str, Any]
    smap: SourceMap
    # Every file the project was read from: stack files (extended and included ones too), env
    # files, whether they exist or not (`watch` reloads when one of them changes or appears).
    sources: list[str] = field(default_factory=list)


class _Session:
    """One load: caches file texts, dedupes warnings, knows the options."""

    def __init__(self, options: LoadOptions) -> None:
        self.options = options
        self.environ: Mapping[str, str] = options.environ if options.environ is not None else os.environ
        self.cwd = os.path.abspath(options.cwd or os.getcwd())
        self._warned: set[str] = set()
        self._on_warning = options.on_warning or _print_warning
        self._stdin: str | None = None
        self.files_read: list[str] = []

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
        self.files_read.append(path)
        try:
            with open(path, encoding="utf-8") as fh:
                return fh.read()
        except FileNotFoundError:
            raise StackFileError(
                f"stack file {path} not found",
                location=Location(path),
                hint="check the -f / COMPOSE_FILE paths",
            ) from None
        except IsADirectoryError:
            raise StackFileError(f"{path} is a directory, not a stack file", location=Location(path)) from None
        except UnicodeDecodeError as e:
            raise StackFileError(f"stack file is not UTF-8 text: {e.reason}", location=Location(path)) from None
        except OSError as e:
            raise StackFileError(f"cannot read stack file: {e.strerror}", location=Location(path)) from None

    def read_file(self, path: str, *, extended: bool = False, alone: bool = True) -> list[LoadedFile]:
        """read -> YAML: one file's top-level mapping per document, not yet interpolated.

        A file may hold several documents (`---`), merged in order as Compose does, except one
        reached through `extends` (`extended`, where Compose does not warn about `version`).
        `alone`: no other file is loaded with it; otherwise a file without any document (only
        comments) adds nothing, as in Compose, instead of being an error.
        """
        name = STDIN_NAME if path == STDIN else path
        text = self.read(path)
        if extended:
            smap = SourceMap()
            documents = [(load_yaml(text, name, smap), smap)]
        else:
            documents = load_yaml_stream(text, name)
        loaded: list[LoadedFile] = []
        for doc, smap in documents:
            data = doc.data
            if data is None and doc.start is None and not alone:
                data = {}
            if data is None:
                raise StackFileError(
                    "the stack file is empty", location=Location(name), hint="define at least `services:`"
                )
            if not isinstance(data, dict):
                raise StackFileError(
                    f"the top level of a stack file must be a mapping, not {_kind(data)}",
                    location=doc.start or Location(name),
                    hint="start with `services:`",
                )
            if "version" in data and not extended:
                self.warn(obsolete_version_warning(name))
            loaded.append(LoadedFile(file=name, data=data, smap=smap, tags=doc.tags))
        return loaded

    def interpolate(self, loaded: LoadedFile, lookup: Lookup) -> LoadedFile:
        if self.options.interpolate:
            interpolate(loaded.data, lookup, loaded.smap, self.warn_unset)
        drop_resets(loaded.data, loaded.tags)
        return loaded

    def parse(self, path: str, lookup: Lookup, *, extended: bool = False) -> LoadedFile:
        """read -> YAML -> interpolate: one file's top-level mapping, before canonicalization."""
        return self.interpolate(self.read_file(path, extended=extended)[0], lookup)

    def canonical(self, loaded: LoadedFile, ctx: TransformContext) -> None:
        loaded.data = canonicalize_file(loaded.data, ctx)

    def load_files(
        self,
        parsed: list[LoadedFile],
        project_name: str,
        working_dir: str,
        env: Environment,
        smap: SourceMap,
        include_chain: tuple[str, ...],
    ) -> dict[str, Any]:
        """Canonicalize, resolve extends and includes, and merge already parsed files."""
        lookup = env.lookup

        def load_other(path: str) -> LoadedFile:
            # A file named by `extends.file`: its relative paths resolve against its own directory;
            # only the services extended are checked and canonicalized, when reached (as Compose).
            other = self.parse(path, lookup, extended=True)
            ctx = TransformContext(
                project_name, os.path.dirname(path), path, other.smap, lookup, interpolated=self.options.interpolate
            )

            def canonicalize(name: str, service: Any) -> Any:
                check_schema({"services": {name: service}}, other.smap)
                return canonical_service(name, service, ctx)

            other.canonicalize = canonicalize
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
                self.include(loaded, spec, project_name, env, include_chain)
            smap.update(loaded.smap)
            merge(project, loaded.data, loaded.tags)
        return project

    def include(
        self,
        loaded: LoadedFile,
        spec: IncludeSpec,
        project_name: str,
        parent_env: Environment,
        chain: tuple[str, ...],
    ) -> None:
        for path in spec.paths:
            if path in chain:
                cycle = listing([*chain[chain.index(path) :], path], " -> ")
                raise loaded.smap.error(spec.key_path, f"include cycle: {cycle}")
        if len(chain) >= MAX_DEPTH:  # each file included is a recursive call
            raise loaded.smap.error(
                spec.key_path, f"a chain of includes is longer than {MAX_DEPTH} files", "include fewer files in a row"
            )
        env = parent_env.child()
        env.read(spec.env_files or [os.path.join(spec.project_directory, ".env")], required=bool(spec.env_files))
        sub_smap = SourceMap()
        parsed = [self.interpolate(doc, env.lookup) for p in spec.paths for doc in self.read_file(p)]
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


def _project_name(
    options: LoadOptions, env: Environment, documents: list[LoadedFile], directory: str, session: _Session
) -> str:
    """-p, else STACK_PROJECT_NAME / COMPOSE_PROJECT_NAME, else the last `name:` (interpolated,
    normalised), else the project directory's name (normalised)."""
    if options.project_name:
        return validate_project_name(options.project_name)
    setting = env.setting("PROJECT_NAME")
    if setting is not None:
        return _setting_name(setting)
    for loaded in reversed(documents):
        name = loaded.data.get("name")
        if name is None or name == "":
            continue
        if not isinstance(name, str):
            raise loaded.smap.error(("name",), "name must be a string")
        if options.interpolate:
            # Only `name` is read here: the rest of the files is interpolated with the result.
            name = interpolate(name, env.lookup, loaded.smap, session.warn_unset, ("name",))
            if name == "":
                continue
        normalized = normalize_project_name(name)
        if not normalized:
            raise loaded.smap.error(
                ("name",),
                f"invalid project name {clip(name)}: use lowercase letters, digits, '-' and '_'",
            )
        return normalized
    base = normalize_project_name(os.path.basename(directory.rstrip(os.sep)))
    if not base:
        raise StackFileError(
            f"cannot derive a project name from the directory {directory}",
            hint="set `name:` in the stack file or pass -p NAME",
        )
    return base


def _setting_name(setting: Setting) -> str:
    """A project name from a variable must already be valid, as one given with -p."""
    if normalize_project_name(setting.value) == setting.value:
        return setting.value
    message = (
        f"{setting.variable}: invalid project name {clip(setting.value)}: use only lowercase letters, "
        "digits, '-' and '_', starting with a letter or digit"
    )
    hint = f"try {setting.variable}={normalize_project_name(setting.value) or 'myproject'}"
    if setting.origin is not None:
        raise StackFileError(message, location=setting.origin, hint=hint)
    raise UsageError(message, hint=hint)


def _environment(options: LoadOptions, session: _Session) -> tuple[Environment, list[str], str, list[str]]:
    """The variables, the stack files, the project directory and the env files looked for, in
    Compose's order: env files first (they may name the files), then the files, then the
    project directory's `.env`."""
    environ, cwd = session.environ, session.cwd
    env = Environment(environ)
    explicit = [os.path.join(cwd, p) for p in options.env_files or env_files_from(environ)]
    default = not explicit and not dotenv_disabled(environ)
    if explicit:
        env.read(explicit, required=True)
    named = [p if p == STDIN else os.path.join(cwd, p) for p in options.files]
    first_dir = project_directory(options.project_directory, named, cwd)
    if default:
        env.read([os.path.join(first_dir, ".env")], required=False)
    if not named:
        setting = env.setting("FILE")
        named = split_files(setting.value, env.path_separator(), cwd) if setting else []
    files = find_stack_files(named, cwd, warn=session.warn, search_dir=options.project_directory)
    working_dir = project_directory(options.project_directory, files, cwd)
    if default and working_dir != first_dir:
        env.read([os.path.join(working_dir, ".env")], required=False)
    looked_for = explicit or (
        [os.path.join(d, ".env") for d in dict.fromkeys((first_dir, working_dir))] if default else []
    )
    return env, files, working_dir, looked_for


def _load(options: LoadOptions) -> _Result:
    session = _Session(options)
    env, files, working_dir, env_paths = _environment(options, session)
    alone = len(files) == 1
    documents = [doc for path in files for doc in session.read_file(path, alone=alone)]
    if all(not loaded.data for loaded in documents) and not alone:
        raise StackFileError(
            "the stack files are empty", location=Location(documents[0].file), hint="define at least `services:`"
        )
    # The name first: the files are interpolated with it (`${COMPOSE_PROJECT_NAME}`), as in Compose.
    name = _project_name(options, env, documents, working_dir, session)
    env.overrides[PROJECT_NAME_VARIABLE] = name
    parsed = [session.interpolate(loaded, env.lookup) for loaded in documents]
    smap = SourceMap()
    smap.default_file = parsed[0].file
    chain = tuple(p for p in files if p != STDIN)
    project = session.load_files(parsed, name, working_dir, env, smap, chain)
    setting = env.setting("PROFILES")
    profiles = active_profiles(options.profiles, setting.value if setting else None)
    unknown = [s for s in options.services if s not in (project.get("services") or {})]
    if unknown:
        raise unknown_service(unknown[0], project.get("services") or {})
    disabled = select_services(project, profiles, options.services, smap)
    ctx = TransformContext(name, working_dir, parsed[0].file, smap, env.lookup, interpolated=options.interpolate)
    service_env_files = [
        entry["path"]
        for service in [*(project.get("services") or {}).values(), *disabled.values()]
        if isinstance(service, dict)
        for entry in service.get("env_file") or []
        if isinstance(entry, dict) and isinstance(entry.get("path"), str)
    ]
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
        sources=list(dict.fromkeys([*session.files_read, *env_paths, *service_env_files])),
    )


def load_raw(options: LoadOptions) -> dict[str, Any]:
    """The finalized canonical project as plain data: what `stack config` prints."""
    return _load(options).raw


def _located_validation_error(error: ValidationError, smap: SourceMap) -> StackFileError:
    first = error.errors()[0]
    path = tuple(p for p in first["loc"] if isinstance(p, str | int))
    return smap.error(path, f"{first['msg']} (got {clip(first.get('input'))})")


def load_project(options: LoadOptions, *, sources: list[str] | None = None) -> Project:
    """Load, merge, validate: the typed Project, with where it came from filled in.

    `sources`, when given, receives every file the project was read from (stack files, env
    files; `watch` reloads when one changes)."""
    # pydantic and the models are imported here, not at module level: `config` never needs them.
    from pydantic import ValidationError

    from stack.spec.models import Project, Service

    result = _load(options)
    if sources is not None:
        sources.extend(result.sources)
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
