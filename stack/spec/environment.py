"""The variables a load sees, and what Compose's own variables say about the project.

Interpolation looks a name up in the process environment first, then in the env files
(`--env-file`, else `.env` of the project directory), as Compose does; `COMPOSE_PROJECT_NAME`
is set to the project's name for interpolation whatever its source.

The settings Compose reads from variables, each with our own name as an alias:

    -p NAME          STACK_PROJECT_NAME   COMPOSE_PROJECT_NAME
    --profile NAME   STACK_PROFILES       COMPOSE_PROFILES     (comma-separated)
    -f FILE          STACK_FILE           COMPOSE_FILE         (separated by COMPOSE_PATH_SEPARATOR,
                                                                default ':' as in PATH)

The first found wins: the flag, then STACK_X in the process environment, then COMPOSE_X in
the process environment, then STACK_X in the env files, then COMPOSE_X in the env files.
An empty value counts as unset.  Two more are read from the process environment only, as
Compose does (they decide which env files are read): COMPOSE_ENV_FILES (comma-separated,
in place of --env-file) and COMPOSE_DISABLE_ENV_FILE (true: no default `.env`).  So is the
bound on parallel daemon calls, STACK_PARALLEL_LIMIT / COMPOSE_PARALLEL_LIMIT (`--parallel`;
N >= 1, or -1 for no bound), which the daemon facade reads when it opens.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from stack.errors import Location, UsageError
from stack.spec.dotenv import read_env_files
from stack.spec.limits import clip

__all__ = [
    "PROJECT_NAME_VARIABLE",
    "UNLIMITED",
    "Environment",
    "Setting",
    "dotenv_disabled",
    "env_files_from",
    "from_process",
    "parallel_limit",
    "parse_parallel",
    "split_files",
    "split_profiles",
]

Kind = Literal["PROJECT_NAME", "PROFILES", "FILE", "PARALLEL_LIMIT"]

# What interpolation sees as the project's name (Compose sets it whatever the name's source).
PROJECT_NAME_VARIABLE = "COMPOSE_PROJECT_NAME"
_PREFIXES = ("STACK_", "COMPOSE_")
# Go's strconv.ParseBool, which Compose uses for COMPOSE_DISABLE_ENV_FILE.
_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_FALSE = frozenset({"0", "f", "F", "false", "FALSE", "False"})


@dataclass(frozen=True)
class Setting:
    """A setting read from a variable: its value, the variable, and where it was set
    (`origin` is the env file line; None for the process environment)."""

    value: str
    variable: str
    origin: Location | None = None

    def describe(self) -> str:
        return f"{self.variable} (from {self.origin.file})" if self.origin else self.variable


def from_process(kind: Kind, environ: Mapping[str, str]) -> Setting | None:
    """The setting from the process environment alone: STACK_X, else COMPOSE_X."""
    for prefix in _PREFIXES:
        name = prefix + kind
        value = environ.get(name)
        if value:
            return Setting(value, name)
    return None


# `--parallel -1` (Compose's default): no bound on parallel daemon calls.
UNLIMITED = -1


def parse_parallel(value: str, source: str) -> int:
    """A bound on parallel daemon calls as Compose's `--parallel` takes it: a number >= 1, or
    -1 for none.  `source` names where it was given (`--parallel`, `COMPOSE_PARALLEL_LIMIT`).
    Compose also reads 0 and other negatives as "no bound"; we refuse them, since they look
    like a mistake."""
    hint = "give the number of daemon calls that may run at once (1 or more), or -1 for no limit"
    try:
        number = int(value.strip())
    except ValueError:
        raise UsageError(f"{source}: {clip(value)} is not an integer", hint=hint) from None
    if number != UNLIMITED and number < 1:
        raise UsageError(f"{source}: {number} is not a valid parallelism", hint=hint)
    return number


def parallel_limit(environ: Mapping[str, str]) -> int | None:
    """STACK_PARALLEL_LIMIT, else COMPOSE_PARALLEL_LIMIT, from the process environment (None:
    neither is set)."""
    setting = from_process("PARALLEL_LIMIT", environ)
    return None if setting is None else parse_parallel(setting.value, setting.variable)


def split_profiles(value: str) -> list[str]:
    """COMPOSE_PROFILES: comma-separated, blanks around names ignored."""
    return [p.strip() for p in value.split(",") if p.strip()]


def split_files(value: str, separator: str, cwd: str) -> list[str]:
    """COMPOSE_FILE: paths separated by `separator`, relative to the working directory (as in
    Compose, even with --project-directory); empty entries are skipped."""
    return [p if p == "-" else os.path.abspath(os.path.join(cwd, p)) for p in value.split(separator) if p]


def env_files_from(environ: Mapping[str, str]) -> list[str]:
    """COMPOSE_ENV_FILES: the env files to read when no --env-file is given."""
    return [p for p in environ.get("COMPOSE_ENV_FILES", "").split(",") if p]


def dotenv_disabled(environ: Mapping[str, str]) -> bool:
    """COMPOSE_DISABLE_ENV_FILE, read as Go's ParseBool (as Compose does)."""
    value = environ.get("COMPOSE_DISABLE_ENV_FILE")
    if value is None or value in _FALSE:
        return False
    if value in _TRUE:
        return True
    raise UsageError(
        f"COMPOSE_DISABLE_ENV_FILE={clip(value)} is not a boolean",
        hint="use true or false (also 1/0, t/f)",
    )


@dataclass
class Environment:
    """The process environment, the env files under it, and what the loader sets itself."""

    environ: Mapping[str, str]
    dotenv: dict[str, str] = field(default_factory=dict)
    # Where each env-file variable was written (for errors about a setting read from one).
    origins: dict[str, Location] = field(default_factory=dict)
    # Set by the loader, above everything else: COMPOSE_PROJECT_NAME once the name is known.
    overrides: dict[str, str] = field(default_factory=dict)

    def lookup(self, name: str) -> str | None:
        for source in (self.overrides, self.environ, self.dotenv):
            value = source.get(name)
            if value is not None:
                return value
        return None

    def merged(self) -> dict[str, str]:
        return {**self.dotenv, **self.environ, **self.overrides}

    def read(self, paths: list[str], *, required: bool) -> None:
        """Add env files; what is already known (process environment, files read before)
        wins, as Compose reads the project directory's `.env` after the working directory's."""
        origins: dict[str, Location] = {}
        found = read_env_files(paths, self.merged(), required=required, origins=origins)
        for key, value in found.items():
            if key not in self.dotenv:
                self.dotenv[key] = value
                self.origins[key] = origins[key]

    def setting(self, kind: Kind) -> Setting | None:
        """The setting from the variables: process environment first, then env files."""
        found = from_process(kind, self.environ)
        if found is not None:
            return found
        for prefix in _PREFIXES:
            name = prefix + kind
            value = self.dotenv.get(name)
            if value:
                return Setting(value, name, self.origins.get(name))
        return None

    def path_separator(self) -> str:
        return self.lookup("COMPOSE_PATH_SEPARATOR") or os.pathsep

    def child(self) -> Environment:
        """The environment an included project starts from: all of this one's variables,
        which win over the included project's own env files (as in Compose)."""
        return Environment(self.environ, dict(self.dotenv), dict(self.origins), dict(self.overrides))
