"""`stack attach`: the caller's terminal on a running service container's console."""

from __future__ import annotations

from dataclasses import dataclass

from stack.api.session import blocking, session
from stack.engine.console import AttachRequest, attach_console, parse_detach_keys
from stack.engine.containers import pick_container
from stack.engine.docker_api import DockerAPI
from stack.engine.errors import translate
from stack.engine.exec import Terminal
from stack.errors import DockerAPIError

__all__ = ["AttachRequest", "AttachResult", "attach", "attach_async"]


@dataclass(frozen=True)
class AttachResult:
    """The container attached to; whether the session ended on the detach keys (the container
    still runs), else the container's exit code (it stopped while attached)."""

    container: str
    detached: bool
    exit_code: int


async def attach_async(
    project_name: str,
    service: str,
    request: AttachRequest | None = None,
    *,
    index: int | None = None,
    terminal: Terminal | None = None,
    api: DockerAPI | None = None,
) -> AttachResult:
    """Attach to replica `index` of `service` (else its first running container) until the
    detach keys or the container's end; new output only (`logs` has the old)."""
    request = request or AttachRequest()
    parse_detach_keys(request.detach_keys)  # a bad setting is a usage error before anything else
    term = terminal or Terminal.current(attach_stdin=request.stdin)
    async with session(api) as docker:
        container = await pick_container(docker, project_name, service, index, running=True)
        try:
            code = await attach_console(docker, container.id, request, term)
        except DockerAPIError as exc:
            action = f"attach to {container.name}"
            raise translate(exc, action=action, service=service, resource=container.name) from exc
    return AttachResult(container.name, code is None, code or 0)


attach = blocking(attach_async)
