"""What a stack fixture yields: the running project, and typed helpers to reach into it.

Each helper asks the daemon at the time of the call (a test may restart or scale a service),
through the synchronous verbs of `stack.api`; in an async test, call the `*_async` verbs
with `running.name` instead.
"""

from __future__ import annotations

import io
import os
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # stack.api costs ~0.3 s to import: only once a stack is used
    from stack.api import ContainerInfo, LogLine
    from stack.spec.models import Project

_ANY_ADDRESS = ("", "0.0.0.0", "::", "[::]")


def docker_host() -> str:
    """Where the daemon publishes ports: the host of a tcp:// or ssh:// DOCKER_HOST, else this
    machine."""
    url = urllib.parse.urlsplit(os.environ.get("DOCKER_HOST", ""))
    if url.scheme in ("tcp", "http", "https", "ssh") and url.hostname:
        return url.hostname
    return "127.0.0.1"


@dataclass(frozen=True)
class ExecResult:
    """A command run in a container: its exit code and what it printed."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class RunningStack:
    """A project that is up and ready (`up --wait` passed) for the tests that use it."""

    def __init__(self, project: Project, *, fixture: str, reused: bool) -> None:
        self.project = project
        self.fixture = fixture  # the fixture that brought it up
        self.reused = reused  # left running after the session, for the next one

    def __repr__(self) -> str:
        return f"<RunningStack {self.name} services={self.services}>"

    @property
    def name(self) -> str:
        """The project name: pass it to any `stack` verb (`stack.restart(running.name, ["db"])`)."""
        return self.project.name

    @property
    def services(self) -> list[str]:
        return sorted(self.project.services)

    def host_port(self, service: str, port: int, *, protocol: str = "tcp", index: int = 1) -> tuple[str, int]:
        """(host, port) that `port/protocol` of replica `index` of `service` is published on."""
        import stack.api

        address = stack.api.port(self.name, service, port, protocol=protocol, index=index)
        host, _, number = address.rpartition(":")
        host = host.strip("[]") if host not in _ANY_ADDRESS else docker_host()
        return host, int(number)

    def port(self, service: str, port: int, *, protocol: str = "tcp", index: int = 1) -> int:
        """The host port that `port/protocol` of `service` is published on."""
        return self.host_port(service, port, protocol=protocol, index=index)[1]

    def url(self, service: str, port: int, path: str = "/", *, scheme: str = "http", index: int = 1) -> str:
        """`http://HOST:PORT/path` of a container port of `service`."""
        host, number = self.host_port(service, port, index=index)
        if ":" in host:
            host = f"[{host}]"
        return f"{scheme}://{host}:{number}/{path.lstrip('/')}"

    def exec(
        self,
        service: str,
        command: str | Sequence[str],
        *,
        index: int = 1,
        env: Mapping[str, str] | None = None,
        user: str | None = None,
        workdir: str | None = None,
    ) -> ExecResult:
        """Run `command` in replica `index` of `service` (a string runs with `sh -c`); its exit
        code and output. A failing command is a result, not an exception."""
        import stack.api

        argv = ["sh", "-c", command] if isinstance(command, str) else list(command)
        request = stack.api.ExecRequest(command=argv, env=dict(env or {}), user=user, workdir=workdir)
        out, err = io.BytesIO(), io.BytesIO()
        terminal = stack.api.Terminal(stdin_fd=None, stdout=out, stderr=err)
        code = stack.api.exec(self.name, service, request, index=index, terminal=terminal)
        return ExecResult(code, out.getvalue().decode(errors="replace"), err.getvalue().decode(errors="replace"))

    def log_lines(self, *services: str, tail: int | None = None, index: int | None = None) -> list[LogLine]:
        """The log lines of `services` (all when none), the last `tail` per container."""
        import stack.api

        lines: list[LogLine] = []
        options = stack.api.LogOptions(tail=tail)
        stack.api.logs(self.name, lines.append, list(services) or None, options, index=index)
        return lines

    def logs(self, service: str, *, tail: int | None = None, index: int | None = None) -> str:
        """What `service` printed (stdout and stderr), one line per line."""
        return "\n".join(line.text for line in self.log_lines(service, tail=tail, index=index))

    def containers(self, service: str | None = None, *, all: bool = False) -> list[ContainerInfo]:
        """The project's containers (of `service`), running ones unless `all`: id, name, state,
        health, published ports, ..."""
        import stack.api

        return stack.api.ps(self.name, all=all, services=[service] if service else None)
