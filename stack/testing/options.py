"""The plugin's options, and what a stack fixture is asked to bring up.

Every option has an ini form (`[tool.pytest.ini_options]` in pyproject.toml, or pytest.ini);
the ones people change from run to run also have a command-line form, which wins.  Reading
them costs nothing: the plugin is loaded by every pytest run, used or not.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

import pytest

Scope = Literal["session", "package", "module", "class", "function"]
SCOPES: tuple[Scope, ...] = ("session", "package", "module", "class", "function")
DEFAULT_PREFIX = "pytest"
DEFAULT_LOG_LINES = 50
# A prefix starts every project name this plugin makes: short, and valid as a project name.
_PREFIX = re.compile(r"^[a-z0-9][a-z0-9_-]{0,19}$")


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("stack", "stack: multi-container stacks for tests (stack.testing)")
    group.addoption(
        "--stack-file",
        action="append",
        dest="stack_files",
        default=None,
        metavar="FILE",
        help="stack file of the `stack` fixture (repeatable; replaces the stack_files ini option)",
    )
    group.addoption(
        "--stack-scope",
        choices=SCOPES,
        default=None,
        help="how long the `stack` fixture's stack lives (default: the stack_scope ini option, else session)",
    )
    group.addoption(
        "--stack-reuse",
        action="store_true",
        default=None,
        help="leave stacks running after the session and reuse them next time (stable project names)",
    )
    parser.addini("stack_files", type="args", default=[], help="stack file(s) of the `stack` fixture")
    parser.addini("stack_env_files", type="args", default=[], help="env files of the `stack` fixture")
    parser.addini("stack_profiles", type="args", default=[], help="profiles the `stack` fixture enables")
    parser.addini("stack_scope", default="session", help="scope of the `stack` fixture (default session)")
    parser.addini("stack_reuse", type="bool", default=False, help="as --stack-reuse")
    parser.addini("stack_project_prefix", default=DEFAULT_PREFIX, help="first part of every project name")
    parser.addini("stack_wait_timeout", default="", help="seconds `up --wait` may take (default: stack's, 300)")
    parser.addini("stack_stop_timeout", default="", help="seconds a container has to stop at teardown")
    parser.addini("stack_log_lines", default=str(DEFAULT_LOG_LINES), help="log lines per container on a failure")
    parser.addini("stack_state_dir", default="", help="where live stacks are recorded (default ~/.cache/stack)")


def _seconds(config: pytest.Config, name: str) -> float | None:
    text = str(config.getini(name)).strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise pytest.UsageError(f"{name} = {text!r}: not a number of seconds") from None
    if value < 0:
        raise pytest.UsageError(f"{name} = {text!r}: must not be negative")
    return value


def _ini_dir(config: pytest.Config) -> Path:
    """Where relative paths of the ini options start: the ini file's directory."""
    return config.inipath.parent if config.inipath is not None else config.rootpath


def default_state_dir() -> Path:
    """~/.cache/stack/pytest (XDG_CACHE_HOME honoured): kept across reboots, as containers are."""
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "stack" / "pytest"


@dataclass(frozen=True)
class Settings:
    """What every stack of this run shares."""

    prefix: str
    reuse: bool
    wait_timeout: float | None
    stop_timeout: float | None
    log_lines: int
    state_dir: Path

    @classmethod
    def of(cls, config: pytest.Config) -> Settings:
        prefix = str(config.getini("stack_project_prefix")).strip()
        if not _PREFIX.match(prefix):
            raise pytest.UsageError(
                f"stack_project_prefix = {prefix!r}: use 1 to 20 of [a-z0-9_-], starting with a letter or digit"
            )
        reuse = config.getoption("stack_reuse")
        lines = str(config.getini("stack_log_lines")).strip()
        if not lines.isdigit():
            raise pytest.UsageError(f"stack_log_lines = {lines!r}: not a number of lines")
        state = str(config.getini("stack_state_dir")).strip()
        return cls(
            prefix=prefix,
            reuse=bool(config.getini("stack_reuse") if reuse is None else reuse),
            wait_timeout=_seconds(config, "stack_wait_timeout"),
            stop_timeout=_seconds(config, "stack_stop_timeout"),
            log_lines=int(lines),
            state_dir=_ini_dir(config) / state if state else default_state_dir(),
        )


@dataclass(frozen=True)
class StackSpec:
    """One stack a fixture brings up: its files (none: found as `stack` finds them in `cwd`),
    the services to start (none: all), profiles and env files."""

    cwd: Path
    files: tuple[Path, ...] = ()
    services: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    env_files: tuple[Path, ...] = ()

    @classmethod
    def make(
        cls,
        base: Path,
        files: Sequence[str | os.PathLike[str]],
        *,
        services: Sequence[str] = (),
        profiles: Sequence[str] = (),
        env_files: Sequence[str | os.PathLike[str]] = (),
    ) -> StackSpec:
        """Relative paths start at `base`."""
        return cls(
            cwd=base,
            files=tuple(base / Path(f) for f in files),
            services=tuple(services),
            profiles=tuple(profiles),
            env_files=tuple(base / Path(f) for f in env_files),
        )


def default_spec(config: pytest.Config) -> StackSpec:
    """The `stack` fixture's stack: --stack-file (from the invocation directory), else the
    stack_files ini option (from the ini file's directory), else found in the rootdir."""
    ini = _ini_dir(config)
    cli: list[str] | None = config.getoption("stack_files")
    files: list[str] = list(cli) if cli else list(config.getini("stack_files"))
    base = config.invocation_params.dir if cli else ini
    return StackSpec.make(
        base if files else config.rootpath,
        files,
        profiles=list(config.getini("stack_profiles")),
        env_files=[str(ini / f) for f in config.getini("stack_env_files")],
    )


def default_scope(fixture_name: str, config: pytest.Config) -> Scope:
    """The `stack` fixture's scope: --stack-scope, else the stack_scope ini option."""
    scope = config.getoption("stack_scope") or str(config.getini("stack_scope")).strip() or "session"
    if scope not in SCOPES:
        raise pytest.UsageError(f"stack_scope = {scope!r}: use one of {', '.join(SCOPES)}")
    return cast(Scope, scope)
