"""What the group-level flags (-f, -p, --project-directory, --env-file, --profile) say.

Click-free on purpose: `stack.cli.quick` answers a no-op `up -d` before click is imported,
from the same options and with the same environment defaults as the click group.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


def to_stderr(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


@dataclass
class GlobalOptions:
    """What the group-level flags said; sub-commands turn it into LoadOptions."""

    files: list[str] = field(default_factory=list)
    project_name: str | None = None
    project_directory: str | None = None
    env_files: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    no_ansi: bool = False
    # Another command changing the project: wait for it (up to lock_timeout s), or fail at once.
    lock_wait: bool = True
    lock_timeout: float | None = None
    # --parallel: daemon calls at once (-1: no bound); None: STACK_/COMPOSE_PARALLEL_LIMIT, else 16.
    parallel: int | None = None
    # The entry point (stack.cli.quick) already asked "is this `up -d` a no-op?" and heard no.
    noop_checked: bool = False
    # Where warnings go (stderr; the quick path holds them until it knows it answers).
    echo: Callable[[str], None] = to_stderr
    # Warnings already printed (a command may load the project twice: fast path, then full).
    warned: set[str] = field(default_factory=set)
    # Which of project_name and profiles came from the process environment, not from a flag:
    # the loader reads those variables itself (with the env files, and names them in errors).
    from_environ: frozenset[str] = frozenset()

    @classmethod
    def from_flags(
        cls,
        *,
        files: list[str],
        project_name: str | None,
        project_directory: str | None,
        env_files: list[str],
        profiles: list[str],
        no_ansi: bool = False,
        lock_wait: bool = True,
        lock_timeout: float | None = None,
        parallel: int | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> GlobalOptions:
        """The flags, with the process environment's STACK_/COMPOSE_PROJECT_NAME and
        STACK_/COMPOSE_PROFILES where a flag is absent (`stack.spec.environment`; a name in an
        env file is the loader's to find, since only it knows which env files are read)."""
        from stack.spec.environment import from_process, parallel_limit, parse_parallel, split_profiles

        env = os.environ if environ is None else environ
        if parallel is not None:
            parse_parallel(str(parallel), "--parallel")
        else:
            parallel_limit(env)  # a bad STACK_/COMPOSE_PARALLEL_LIMIT fails every command, as in Compose
        from_environ: set[str] = set()
        if not project_name:
            name = from_process("PROJECT_NAME", env)
            project_name = name.value if name else None
            from_environ.add("project_name")
        if not profiles:
            setting = from_process("PROFILES", env)
            profiles = split_profiles(setting.value) if setting else []
            from_environ.add("profiles")
        return cls(
            files=list(files),
            project_name=project_name,
            project_directory=project_directory,
            env_files=list(env_files),
            profiles=list(profiles),
            no_ansi=no_ansi,
            lock_wait=lock_wait,
            lock_timeout=lock_timeout,
            parallel=parallel,
            from_environ=frozenset(from_environ),
        )

    def lock_policy(self) -> Any:
        """How this command meets another one changing the project (a stack.engine.lock.LockPolicy)."""
        from stack.engine.lock import DEFAULT_LOCK_TIMEOUT, LockPolicy
        from stack.errors import UsageError

        timeout = self.lock_timeout
        if timeout is None:
            text = os.environ.get("STACK_LOCK_TIMEOUT", "")
            try:
                timeout = float(text) if text else DEFAULT_LOCK_TIMEOUT
            except ValueError:
                raise UsageError(f"STACK_LOCK_TIMEOUT={text!r} is not a number of seconds") from None
        return LockPolicy(wait=self.lock_wait, timeout=timeout, on_wait=self.echo)

    def export_parallel(self) -> Callable[[], None]:
        """Make --parallel the bound of every daemon facade this process opens: they read
        STACK_PARALLEL_LIMIT (`DockerAPI.from_env`), so it reaches every verb without being
        passed through each.  Returns how to put the environment back."""
        if self.parallel is None:
            return lambda: None
        name = "STACK_PARALLEL_LIMIT"
        before = os.environ.get(name)
        os.environ[name] = str(self.parallel)

        def restore() -> None:
            if before is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = before

        return restore

    def warn_once(self, message: str) -> None:
        if message not in self.warned:
            self.warned.add(message)
            self.echo(f"WARN: {message}")

    def load_options(self, services: list[str] | None = None, *, interpolate: bool = True) -> Any:
        """LoadOptions for the loader (imported lazily: spec pulls in pydantic)."""
        from stack.spec.loader import LoadOptions

        return LoadOptions(
            files=list(self.files),
            project_name=None if "project_name" in self.from_environ else self.project_name,
            project_directory=self.project_directory,
            env_files=list(self.env_files),
            profiles=[] if "profiles" in self.from_environ else list(self.profiles),
            services=list(services or []),
            interpolate=interpolate,
            on_warning=self.warn_once,
        )
