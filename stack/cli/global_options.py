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
    # The entry point (stack.cli.quick) already asked "is this `up -d` a no-op?" and heard no.
    noop_checked: bool = False
    # Where warnings go (stderr; the quick path holds them until it knows it answers).
    echo: Callable[[str], None] = to_stderr
    # Warnings already printed (a command may load the project twice: fast path, then full).
    warned: set[str] = field(default_factory=set)

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
        environ: Mapping[str, str] | None = None,
    ) -> GlobalOptions:
        """The flags, with STACK_PROJECT_NAME and STACK_PROFILES where a flag is absent."""
        env = os.environ if environ is None else environ
        env_profiles = [p for p in env.get("STACK_PROFILES", "").split(",") if p]
        return cls(
            files=list(files),
            project_name=project_name or env.get("STACK_PROJECT_NAME") or None,
            project_directory=project_directory,
            env_files=list(env_files),
            profiles=list(profiles) or env_profiles,
            no_ansi=no_ansi,
            lock_wait=lock_wait,
            lock_timeout=lock_timeout,
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

    def warn_once(self, message: str) -> None:
        if message not in self.warned:
            self.warned.add(message)
            self.echo(f"WARN: {message}")

    def load_options(self, services: list[str] | None = None, *, interpolate: bool = True) -> Any:
        """LoadOptions for the loader (imported lazily: spec pulls in pydantic)."""
        from stack.spec.loader import LoadOptions

        return LoadOptions(
            files=list(self.files),
            project_name=self.project_name,
            project_directory=self.project_directory,
            env_files=list(self.env_files),
            profiles=list(self.profiles),
            services=list(services or []),
            interpolate=interpolate,
            on_warning=self.warn_once,
        )
