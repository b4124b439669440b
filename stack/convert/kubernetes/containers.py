"""One service as a container of a Pod: image, command, env, ports, resources, security."""

from __future__ import annotations

import re
from typing import Any

from stack.convert.kubernetes.context import Context
from stack.convert.kubernetes.model import dns_label
from stack.convert.kubernetes.probes import probes_of
from stack.convert.kubernetes.storage import PodStorage
from stack.plan.naming import service_image
from stack.spec.models import Service
from stack.spec.units import byte_size

__all__ = ["HANDLED_KEYS", "container_of", "escape_expansion", "port_list"]

# Service keys this module (or the workload around it) converts; every other key a file sets is
# listed, with its file and line, by `unconverted_keys`.
HANDLED_KEYS = frozenset(
    {
        "image", "build", "command", "entrypoint", "environment", "env_file", "ports", "expose", "volumes",
        "tmpfs", "networks", "network_mode", "depends_on", "healthcheck", "restart", "deploy", "scale",
        "labels", "annotations", "hostname", "working_dir", "user", "cap_add", "cap_drop", "privileged",
        "read_only", "sysctls", "extra_hosts", "secrets", "configs", "profiles", "pull_policy", "tty",
        "stdin_open", "mem_limit", "mem_reservation", "cpus", "volumes_from", "stop_grace_period",
        "container_name", "develop",
    }
)  # fmt: skip

# Service keys Kubernetes has no equivalent for, and why (or what to use instead).
WHY_NOT: dict[str, str] = {
    "links": "Kubernetes has no links: services reach each other by their Service name",
    "external_links": "Kubernetes has no links",
    "devices": "device mappings are not converted (use a device plugin's resource)",
    "security_opt": "security_opt is not converted (use the Pod's securityContext)",
    "userns_mode": "userns_mode is not converted",
    "ipc": "ipc is not converted",
    "pid": "pid is not converted (containers of one Pod may share it with shareProcessNamespace)",
    "cgroup_parent": "cgroup_parent is not converted",
    "mac_address": "a fixed MAC address is not converted",
    "oom_score_adj": "oom_score_adj is not converted",
    "shm_size": "shm_size is not converted (mount an emptyDir with medium Memory at /dev/shm)",
    "runtime": "runtime is not converted (use a RuntimeClass: runtimeClassName)",
    "platform": "platform is not converted (use a nodeSelector on kubernetes.io/arch)",
    "provider": "provider services are not converted",
    "logging": "logging drivers are not converted: Kubernetes keeps container logs itself",
    "ulimits": "ulimits are not converted",
    "domainname": "domainname is not converted",
    "group_add": "group_add is not converted (use securityContext.supplementalGroups)",
    "stop_signal": "stop_signal is not converted: Kubernetes stops containers with SIGTERM",
    "init": "init is not converted: the image's entrypoint is PID 1",
    "dns": "dns is not converted (use the Pod's dnsConfig)",
    "dns_search": "dns_search is not converted (use the Pod's dnsConfig)",
    "dns_opt": "dns_opt is not converted (use the Pod's dnsConfig)",
    "pids_limit": "pids_limit is not converted",
}

_EXPANSION = re.compile(r"\$(?=[($])")


def escape_expansion(text: str) -> str:
    """`text` as Kubernetes should pass it on: it expands `$(VAR)` in env values, command and
    args, and turns `$$` into `$`; a stack file means them literally."""
    return _EXPANSION.sub("$$", text)


def port_list(service: Service) -> list[tuple[int, str]]:
    """(port, PROTOCOL) of a service's `ports` targets and `expose`, without repeats."""
    found: list[tuple[int, str]] = []
    for port in service.ports:
        found.append((port.target, port.protocol.upper()))
    for entry in service.expose:
        number, _, proto = str(entry).partition("/")
        first, _, last = number.partition("-")
        if first.isdigit():
            for value in range(int(first), int(last or first) + 1):
                found.append((value, (proto or "tcp").upper()))
    return list(dict.fromkeys(found))


def _cpu(value: float | str | None) -> str | None:
    if value is None:
        return None
    return f"{round(float(value) * 1000)}m"


def _resources(ctx: Context, key: str, service: Service) -> dict[str, Any] | None:
    resources = service.deploy.resources if service.deploy is not None else None
    limits = resources.limits if resources is not None else None
    reservations = resources.reservations if resources is not None else None
    out: dict[str, dict[str, str]] = {}
    for part, spec, cpus, memory in (
        ("limits", limits, service.cpus, service.mem_limit),
        ("requests", reservations, None, service.mem_reservation),
    ):
        values: dict[str, str] = {}
        cpu = _cpu(spec.cpus if spec is not None and spec.cpus is not None else cpus)
        if cpu is not None:
            values["cpu"] = cpu
        size = byte_size(spec.memory if spec is not None and spec.memory is not None else memory)
        if size is not None:
            values["memory"] = str(size)
        if values:
            out[part] = values
        if spec is not None and spec.pids is not None:
            which = "limits" if part == "limits" else "reservations"
            ctx.warn(("services", key, "deploy", "resources", which, "pids"), "a pids limit is not converted")
    if reservations is not None and (reservations.model_extra or {}).get("devices"):
        path = ("services", key, "deploy", "resources", "reservations", "devices")
        ctx.warn(path, "device reservations are not converted (request the device plugin's resource)")
    return out or None


def _security(ctx: Context, key: str, service: Service) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    if service.user:
        user, _, group = service.user.partition(":")
        if user.isdigit() and (not group or group.isdigit()):
            out["runAsUser"] = int(user)
            if group:
                out["runAsGroup"] = int(group)
        else:
            ctx.warn(
                ("services", key, "user"), f"user {service.user!r} is not numeric: Kubernetes needs a uid (and gid)"
            )
    if service.privileged:
        out["privileged"] = True
    if service.read_only:
        out["readOnlyRootFilesystem"] = True
    caps: dict[str, list[str]] = {}
    if service.cap_add:
        caps["add"] = [c.removeprefix("CAP_") for c in service.cap_add]
    if service.cap_drop:
        caps["drop"] = [c.removeprefix("CAP_") for c in service.cap_drop]
    if caps:
        out["capabilities"] = caps
    return out or None


_PULL = {"always": "Always", "never": "Never", "missing": "IfNotPresent", "if_not_present": "IfNotPresent"}


def container_of(ctx: Context, key: str, service: Service, storage: PodStorage) -> dict[str, Any]:
    """The container of a service (its volumes registered in `storage`)."""
    base = ("services", key)
    image = service_image(ctx.project.name, key, service)
    if service.build is not None:
        if service.image:
            ctx.note((*base, "build"), f"built locally: push {image} to a registry the cluster pulls from")
        else:
            ctx.warn(
                (*base, "build"),
                f"build-only service: the image {image} exists only here; set image: to a reference the cluster pulls",
            )
    container: dict[str, Any] = {"name": dns_label(key), "image": image}
    if service.pull_policy in _PULL:
        container["imagePullPolicy"] = _PULL[service.pull_policy]
    elif service.pull_policy:
        ctx.warn((*base, "pull_policy"), f"pull_policy {service.pull_policy} is not converted")
    if service.entrypoint is not None:
        if not service.entrypoint:
            ctx.warn((*base, "entrypoint"), "an empty entrypoint (no entrypoint at all) cannot be said in Kubernetes")
        else:
            container["command"] = [escape_expansion(a) for a in service.entrypoint]
    if service.command is not None:
        container["args"] = [escape_expansion(a) for a in service.command]
    if service.working_dir:
        container["workingDir"] = service.working_dir
    env = [
        {"name": name, "value": escape_expansion(value)}
        for name, value in sorted(service.environment.items())
        if value is not None
    ]
    if env:
        container["env"] = env
    ports = [{"containerPort": number, "protocol": proto} for number, proto in port_list(service)]
    if ports:
        container["ports"] = ports
    resources = _resources(ctx, key, service)
    if resources is not None:
        container["resources"] = resources
    probes, notes = probes_of(service.healthcheck)
    for sub, message in notes:
        ctx.note((*base, "healthcheck", sub) if sub else (*base, "healthcheck"), message)
    if probes is not None:
        container["readinessProbe"] = probes.readiness
        container["livenessProbe"] = probes.liveness
        if probes.startup is not None:
            container["startupProbe"] = probes.startup
    security = _security(ctx, key, service)
    if security is not None:
        container["securityContext"] = security
    if service.tty:
        container["tty"] = True
    if service.stdin_open:
        container["stdin"] = True
    mounts = storage.mounts(key, service)
    mounts += storage.files(key, "secrets", service.secrets)
    mounts += storage.files(key, "configs", service.configs)
    if mounts:
        container["volumeMounts"] = mounts
    return container
