"""Docker API refusals -> the StackError a user reads, naming the service and the resource."""

from __future__ import annotations

import re

import docker.errors

from stack.errors import DockerAPIError, DockerNotFoundError, PortInUseError

_PORT_TAKEN = re.compile(
    r"(?:Bind for (?P<ip1>[0-9a-fA-F.:\[\]]*?):(?P<port1>\d+) failed: port is already allocated)"
    r"|(?:listen (?:tcp|udp)[46]? (?P<ip2>[0-9a-fA-F.:\[\]]*?):(?P<port2>\d+): bind: address already in use)"
)


def explanation(exc: docker.errors.APIError) -> str:
    text = exc.explanation
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return str(text or exc).strip()


def refusal(exc: docker.errors.APIError, kind: str) -> DockerAPIError:
    """The one place an SDK refusal becomes ours: the facade raises this for every call (`kind`
    names it, e.g. `container.start`); callers that know the service and resource `translate` it
    into the message a user reads."""
    detail = explanation(exc)
    cls = DockerNotFoundError if isinstance(exc, docker.errors.NotFound) else DockerAPIError
    return cls(f"the Docker daemon refused {kind}: {detail}", status=exc.status_code, detail=detail)


def translate(
    exc: DockerAPIError,
    *,
    action: str,
    service: str | None = None,
    resource: str | None = None,
) -> DockerAPIError:
    """The StackError for a daemon refusal of `action` (e.g. "start container demo-web-1")."""
    detail = exc.detail
    who = f"service {service}: " if service else ""
    port = _PORT_TAKEN.search(detail)
    if port:
        number = port.group("port1") or port.group("port2")
        ip = (port.group("ip1") or port.group("ip2") or "").strip("[]")
        where = f" on {ip}" if ip and ip not in ("0.0.0.0", "::") else ""
        return PortInUseError(
            f"{who}host port {number}{where} is already in use ({detail})",
            service=service,
            resource=resource,
            hint=f"stop what listens on port {number}, or publish another host port in `ports:`",
        )
    status = exc.status
    hint: str | None = None
    lowered = detail.lower()
    if status == 404 and ("no such image" in lowered or ("not found" in lowered and "image" in action)):
        hint = "the image is not on this daemon: build it (`build:`) or load it (`docker load`)"
    elif status == 409 and "already in use" in lowered:
        hint = "another container has that name: remove it, or run `stack down` for its project"
    elif "network with name" in lowered and "already exists" in lowered:
        hint = (
            "a network of that name exists but stack did not create it for this project: remove it "
            "(`docker network rm NAME`) or declare the network `external: true` with `name: NAME`"
        )
    elif action.startswith("pull") or "pull access denied" in lowered:
        hint = "the image could not be pulled (no registry reachable?): build it locally or `docker load` it"
    return DockerAPIError(f"{who}cannot {action}: {detail}", service=service, resource=resource, hint=hint)
