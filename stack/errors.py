"""The one exception family of stack.

Every failure a user can cause or meet is a `StackError`. The CLI turns it into one
readable message and its `exit_code`; anything else escaping is a bug.

Exit codes follow ARCHITECTURE.md: 2 for usage or stack-file errors, 1 for runtime failures.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class StackError(Exception):
    """Base class of every error stack reports to its user."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        """The text the CLI prints (without the leading `error:`)."""
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class UsageError(StackError):
    """A bad command line: unknown service name, conflicting flags, ..."""

    exit_code = 2


@dataclass(frozen=True)
class Location:
    """Where in which stack file something was written (1-based line and column)."""

    file: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        if self.line is None:
            return self.file
        if self.column is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"


def unknown_service(name: str, known: Iterable[str], *, context: str = "") -> UsageError:
    """The one "no such service" error, naming the services the stack has (`context`: what was
    being asked, e.g. `--scale api=3: `)."""
    names = sorted(known)
    listed = ", ".join(names[:20]) + (f", ... ({len(names)} in all)" if len(names) > 20 else "")
    return UsageError(f"{context}no such service: {name}", hint=f"services in this stack: {listed or 'none'}")


class StackFileError(StackError):
    """A stack file that cannot be read, interpolated, merged or validated.

    `path` is the key path inside the document, e.g. `services.api.ports[1]`.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        path: str | None = None,
        hint: str | None = None,
        excerpt: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.location = location
        self.path = path
        self.excerpt = excerpt

    def render(self) -> str:
        head = ""
        if self.location is not None:
            head = f"{self.location}: "
        if self.path:
            head += f"{self.path}: "
        text = head + self.message
        if self.excerpt:
            text += "\n" + self.excerpt
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class NoStackFileError(StackFileError):
    """No stack file was named and none was found.  Exit 1, as Compose: nothing is malformed;
    commands that act by labels go on only when -p (or STACK_PROJECT_NAME, COMPOSE_PROJECT_NAME)
    names the project."""

    exit_code = 1


class DependencyCycleError(StackFileError):
    """depends_on (or extends) forms a cycle; the message names it: `a -> b -> a`."""


class DockerUnavailableError(StackError):
    """The Docker daemon cannot be reached."""


class DockerAPIError(StackError):
    """The daemon refused a request; the message names the service and resource.

    `status` is the daemon's HTTP status and `detail` its own words, for code that decides by
    them (a 409 "volume is in use", "already exists in network"); None/"" when not known.
    """

    def __init__(
        self,
        message: str,
        *,
        service: str | None = None,
        resource: str | None = None,
        hint: str | None = None,
        status: int | None = None,
        detail: str = "",
    ) -> None:
        super().__init__(message, hint=hint)
        self.service = service
        self.resource = resource
        self.status = status
        self.detail = detail or message


class DockerNotFoundError(DockerAPIError):
    """The daemon has no such object (HTTP 404): gone meanwhile, or never there."""


class PortInUseError(DockerAPIError):
    """A published host port is already taken."""


class ResourceNotFoundError(StackError):
    """Something the stack needs but must not create is absent: an external network or volume,
    an image with `pull_policy: never`.  The message names it and says what to do."""


class BuildError(StackError):
    """An image build failed; the message names the service and the failing step."""


class ServiceFailedError(StackError):
    """A container exited badly or a dependency condition never held."""


class HealthcheckFailedError(ServiceFailedError):
    """A service_healthy dependency did not become healthy in time."""


class WaitTimeoutError(ServiceFailedError):
    """A wait (healthy, completed, running) did not finish before its timeout."""


class UpdateFailedError(ServiceFailedError):
    """A rolling update's new replicas did not become (or stay) healthy; rolled back or paused."""


class ServiceNotRunningError(StackError):
    """A command needs a running container of a service (exec, port, top) and there is none."""


class FileCopyError(StackError):
    """`cp` or `export` cannot copy: a path that does not exist, a directory onto a file, a local
    file that cannot be read or written.  The message names the path."""


class ProjectLockedError(StackError):
    """Another stack command is changing the project, and this one may not (or did not) wait."""


class ResourceConflictError(StackError):
    """A daemon resource has a name stack needs but stack did not create it: left alone."""


class NothingToWatchError(StackError):
    """`watch` on services none of which has `develop.watch` rules."""


class RegistryError(StackError):
    """A registry refused or could not be reached for a pull or push, or its credentials could
    not be read; the message carries the registry's (or the daemon's) own words."""
