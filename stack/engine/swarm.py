"""Deploy a translated stack (`stack.convert.swarm.SwarmStack`) to Docker Swarm, and act on it.

Everything goes through the facade's swarm methods (each request bounded by a timeout).  The
order of a deploy:

1. observe: the swarm (this daemon must be a manager), our objects (by label, never by name),
   and any object of a name we need that is not ours (a conflict: refused before any change);
2. networks, secrets and configs that are missing are created (secrets and configs carry the
   digest of their content in their name: an existing one of that name is the same);
3. services in dependency order: each waits until its dependencies' tasks are started (running
   and healthy for `service_healthy`: Swarm keeps a task with a healthcheck `starting` until the
   check passes, and a container on this node is also inspected), then is created, updated
   (when the hash of its spec changed), or left alone (no task restarts);
4. `prune`: our services no longer in the file are removed, and our secrets and configs that no
   spec (nor previous spec, for a rollback) of our services refers to;
5. `wait`: every service followed until its tasks run the spec we sent, or it fails (rolled
   back, paused, timed out), naming the service, the task and its last error.

Waits read the task states again when the event stream shows a change to one of the
project's services, with a deadline (`stack.engine.swarm_events`).
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anyio

from stack.convert.swarm import (
    SWARM_IMAGE,
    SWARM_PROJECT,
    SWARM_SERVICE,
    TEMPLATE_HASH,
    DataObject,
    NetworkObject,
    ServiceObject,
    SwarmStack,
    owned_filter,
    spec_hash,
)
from stack.engine.docker_api import DockerAPI
from stack.engine.swarm_events import POLL_SECONDS, follow
from stack.errors import (
    DockerAPIError,
    DockerNotFoundError,
    ResourceConflictError,
    ResourceNotFoundError,
    StackError,
    UpdateFailedError,
    UsageError,
    WaitTimeoutError,
)
from stack.plan import labels as L

__all__ = [
    "DeployOptions",
    "DeployResult",
    "NotASwarmManagerError",
    "ServiceRow",
    "TaskRow",
    "deploy",
    "list_service_rows",
    "list_task_rows",
    "remove_stack",
    "require_manager",
    "rollback_service",
    "wait_converged",
    "wait_rolled_back",
]

DEFAULT_WAIT_TIMEOUT = 300.0
REMOVE_TIMEOUT = 60.0

Echo = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


class NotASwarmManagerError(StackError):
    """The daemon is not a manager of an active swarm."""


@dataclass(frozen=True)
class DeployOptions:
    wait: bool = False
    timeout: float = DEFAULT_WAIT_TIMEOUT  # for each dependency wait, and for `wait`
    prune: bool = False


@dataclass
class DeployResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    removed_objects: list[str] = field(default_factory=list)  # "secret NAME", "config NAME" (prune)
    warnings: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.removed or self.removed_objects)


@dataclass(frozen=True)
class TaskRow:
    service: str  # the stack-file key
    name: str  # {service name}.{slot} (global: .{node})
    task_id: str
    image: str
    node: str  # its hostname in listings (its id's first 12 characters where unknown)
    desired: str
    state: str
    error: str
    started_at: str  # Status.Timestamp of the running state ("" when not running)
    container_id: str
    template_hash: str


@dataclass(frozen=True)
class ServiceRow:
    service: str
    name: str
    service_id: str
    mode: str
    running: int
    desired: int | None  # None: global
    image: str
    update_state: str


async def require_manager(api: DockerAPI) -> dict[str, Any]:
    info = await api.swarm_info()
    if info.get("LocalNodeState") != "active" or not info.get("ControlAvailable"):
        raise NotASwarmManagerError(
            f"the Docker daemon at {api.host} is not a swarm manager"
            f" (swarm state: {info.get('LocalNodeState') or 'none'})",
            hint="run `docker swarm init` (or join a swarm as a manager), or point DOCKER_HOST at a manager",
        )
    return info


# -- observing ---------------------------------------------------------------------------------


def _labels(obj: dict[str, Any]) -> dict[str, str]:
    return dict((obj.get("Spec") or {}).get("Labels") or obj.get("Labels") or {})


def _ours(obj: dict[str, Any], project: str) -> bool:
    return _labels(obj).get(SWARM_PROJECT) == project


def _name_of(obj: dict[str, Any]) -> str:
    return str((obj.get("Spec") or {}).get("Name") or obj.get("Name") or "")


async def _by_name(api: DockerAPI, kind: str, name: str) -> dict[str, Any] | None:
    """The object of exactly `name` (the daemon's name filter matches prefixes)."""
    if kind == "services":
        found = await api.list_services({"name": [name]})
    elif kind == "networks":
        found = await api.list_networks({"name": [name]})
    else:
        found = await api.list_swarm_objects(kind, {"name": [name]})
    return next((o for o in found if _name_of(o) == name), None)


async def our_services(api: DockerAPI, project: str) -> dict[str, dict[str, Any]]:
    """Our services of `project` by stack-file key."""
    found = await api.list_services(owned_filter(project))
    return {_labels(s)[SWARM_SERVICE]: s for s in found if _ours(s, project) and SWARM_SERVICE in _labels(s)}


# -- deploying ---------------------------------------------------------------------------------


async def _ensure_networks(api: DockerAPI, stack: SwarmStack, echo: Echo) -> None:
    for net in stack.networks:
        existing = await _by_name(api, "networks", net.name)
        if net.external:
            if existing is None:
                raise ResourceNotFoundError(
                    f"network {net.key}: external network {net.name} does not exist",
                    hint=f"create it (`docker network create -d overlay --attachable {net.name}`)",
                )
            continue
        if existing is not None:
            continue  # ours: checked by _check_conflicts
        await _create_network(api, net)
        echo(f"network {net.name}: created")


def _network_hash(body: dict[str, Any]) -> str:
    """What a deploy compares to tell a changed network: its body, but for our version label."""
    labels = {k: v for k, v in (body.get("Labels") or {}).items() if k != L.VERSION}
    return spec_hash({**body, "Labels": labels})


async def _create_network(api: DockerAPI, net: NetworkObject) -> None:
    body = net.body
    await api.create_network(
        net.name,
        driver=body.get("Driver", "overlay"),
        options=body.get("Options"),
        ipam=body.get("IPAM"),
        check_duplicate=True,
        internal=bool(body.get("Internal")),
        labels={**(body.get("Labels") or {}), L.CONFIG_HASH: _network_hash(body)},
        enable_ipv6=bool(body.get("EnableIPv6")),
        attachable=bool(body.get("Attachable")),
    )


async def _ensure_data(api: DockerAPI, project: str, objects: list[DataObject], echo: Echo) -> dict[str, str]:
    """Name -> id of every secret (or config) the services use, creating ours that are missing."""
    ids: dict[str, str] = {}
    for obj in objects:
        kind = obj.kind + "s"
        existing = await _by_name(api, kind, obj.name)
        if existing is not None:
            ids[obj.name] = str(existing["ID"])
            continue
        if obj.external:
            raise ResourceNotFoundError(
                f"{obj.kind} {obj.key}: external {obj.kind} {obj.name} does not exist",
                hint=f"create it (`docker {obj.kind} create {obj.name} FILE`)",
            )
        ids[obj.name] = await api.create_swarm_object(kind, obj.body)
        echo(f"{obj.kind} {obj.name}: created")
    return ids


async def _check_conflicts(api: DockerAPI, stack: SwarmStack, ours: dict[str, dict[str, Any]]) -> None:
    """Objects of the names we need that someone else created: refuse before changing anything."""
    project = stack.project
    for svc in stack.services:
        if svc.key in ours:
            continue
        existing = await _by_name(api, "services", svc.name)
        if existing is not None:
            raise ResourceConflictError(
                f"service {svc.key}: a swarm service named {svc.name} exists that stack did not create"
                f" for project {project}; it is left alone",
                hint="remove or rename it, or deploy under another project name (-p)",
            )
    for net in stack.networks:
        if net.external:
            continue
        existing = await _by_name(api, "networks", net.name)
        if existing is None:
            continue
        if not _ours(existing, project):
            raise ResourceConflictError(
                f"network {net.key}: a network named {net.name} exists that stack did not create for swarm"
                f" project {project}; it is left alone",
                hint="remove it, or declare the network `external: true` with `name:`",
            )
        if existing.get("Scope") != "swarm":
            raise ResourceConflictError(f"network {net.key}: {net.name} exists but is not a swarm network")
        deployed = _labels(existing).get(L.CONFIG_HASH)
        if deployed is not None and deployed != _network_hash(net.body):
            # Swarm cannot change a network in place (`docker stack deploy` ignores the change).
            raise ResourceConflictError(
                f"network {net.key}: its definition changed since {net.name} was created, and a swarm"
                " network cannot be changed in place; nothing was changed",
                hint="remove the stack first (`stack swarm rm`), or give the network another name",
            )
    for obj in [*stack.secrets, *stack.configs]:
        if obj.external:
            continue
        existing = await _by_name(api, obj.kind + "s", obj.name)
        if existing is not None and not _ours(existing, project):
            raise ResourceConflictError(
                f"{obj.kind} {obj.key}: a {obj.kind} named {obj.name} exists that stack did not create"
                f" for project {project}; it is left alone"
            )


def _with_ids(spec: dict[str, Any], secret_ids: dict[str, str], config_ids: dict[str, str]) -> dict[str, Any]:
    body = copy.deepcopy(spec)
    container = body["TaskTemplate"]["ContainerSpec"]
    for ref in container.get("Secrets") or []:
        ref["SecretID"] = secret_ids[ref["SecretName"]]
    for ref in container.get("Configs") or []:
        ref["ConfigID"] = config_ids[ref["ConfigName"]]
    return body


async def deploy(api: DockerAPI, stack: SwarmStack, options: DeployOptions, *, echo: Echo = _quiet) -> DeployResult:
    """Converge the swarm to `stack` (see the module's docstring for the order)."""
    await require_manager(api)
    result = DeployResult()
    ours = await our_services(api, stack.project)
    await _check_conflicts(api, stack, ours)
    await _ensure_networks(api, stack, echo)
    secret_ids = await _ensure_data(api, stack.project, stack.secrets, echo)
    config_ids = await _ensure_data(api, stack.project, stack.configs, echo)
    by_key = {s.key: s for s in stack.services}
    for svc in stack.services:
        current = ours.get(svc.key)
        if current is not None and _labels(current).get(L.CONFIG_HASH) == svc.config_hash:
            result.unchanged.append(svc.key)
            echo(f"service {svc.name}: unchanged")
            continue
        for dep, condition in svc.depends_on.items():
            healthy = condition == "service_healthy"
            echo(f"service {svc.name}: waiting for {by_key[dep].name} to be {'healthy' if healthy else 'started'}")
            await wait_tasks_ready(
                api, stack.project, by_key[dep], healthy=healthy, timeout=options.timeout, dependent=svc.key
            )
        body = _with_ids(svc.spec, secret_ids, config_ids)
        if current is None:
            await api.create_service(body)
            result.created.append(svc.key)
            echo(f"service {svc.name}: created")
        else:
            version = int(current["Version"]["Index"])
            warnings = await api.update_service(str(current["ID"]), version, body)
            result.warnings.extend(f"service {svc.key}: {w}" for w in warnings)
            result.updated.append(svc.key)
            echo(f"service {svc.name}: updated")
    if options.prune:
        for key, current in sorted(ours.items()):
            if key not in by_key:
                await api.remove_service(str(current["ID"]))
                result.removed.append(key)
                echo(f"service {_name_of(current)}: removed (no longer in the file)")
        result.removed_objects = await _prune_data(api, stack.project, echo)
    if options.wait:
        await wait_converged(api, stack, timeout=options.timeout, echo=echo)
    return result


def _referenced(services: Iterable[dict[str, Any]]) -> set[str]:
    """Names of the secrets and configs our services' specs, and previous specs (what a rollback
    puts back), refer to."""
    names: set[str] = set()
    for service in services:
        for which in ("Spec", "PreviousSpec"):
            container = ((service.get(which) or {}).get("TaskTemplate") or {}).get("ContainerSpec") or {}
            names.update(str(ref.get("SecretName", "")) for ref in container.get("Secrets") or [])
            names.update(str(ref.get("ConfigName", "")) for ref in container.get("Configs") or [])
    return names


async def _prune_data(api: DockerAPI, project: str, echo: Echo) -> list[str]:
    """Remove our secrets and configs (older versions, by digest) that no spec or previous spec
    of our services refers to any more."""
    referenced = _referenced(await api.list_services(owned_filter(project)))
    removed: list[str] = []
    for kind in ("secrets", "configs"):
        for obj in await api.list_swarm_objects(kind, owned_filter(project)):
            name = _name_of(obj)
            if _ours(obj, project) and name not in referenced:
                await api.remove_swarm_object(kind, str(obj["ID"]))
                removed.append(f"{kind[:-1]} {name}")
                echo(f"{kind[:-1]} {name}: removed (no longer used)")
    return removed


# -- waiting -----------------------------------------------------------------------------------


def _task_row(service_key: str, service_name: str, task: dict[str, Any]) -> TaskRow:
    status = task.get("Status") or {}
    spec = (task.get("Spec") or {}).get("ContainerSpec") or {}
    slot = task.get("Slot")
    suffix = str(slot) if slot else str(task.get("NodeID", ""))[:12]
    state = str(status.get("State") or "")
    return TaskRow(
        service=service_key,
        name=f"{service_name}.{suffix}",
        task_id=str(task.get("ID", "")),
        image=str((spec.get("Labels") or {}).get(SWARM_IMAGE) or spec.get("Image", "")),
        node=str(task.get("NodeID", ""))[:12],
        desired=str(task.get("DesiredState") or ""),
        state=state,
        error=str(status.get("Err") or ""),
        started_at=str(status.get("Timestamp") or "") if state == "running" else "",
        container_id=str((status.get("ContainerStatus") or {}).get("ContainerID") or ""),
        template_hash=str((spec.get("Labels") or {}).get(TEMPLATE_HASH, "")),
    )


async def service_tasks(api: DockerAPI, service_key: str, service_name: str) -> list[TaskRow]:
    try:
        tasks = await api.list_tasks({"service": [service_name]})
    except DockerNotFoundError:  # the daemon refuses a filter on a service that is gone
        return []
    return [_task_row(service_key, service_name, t) for t in tasks]


async def _healthy_here(api: DockerAPI, row: TaskRow) -> bool:
    """A task's container is healthy, or has no healthcheck, or runs on another node (whose
    task state, `running` only after the check passed, is then the proof)."""
    if not row.container_id:
        return True
    try:
        container = await api.inspect_container(row.container_id)
    except DockerNotFoundError:
        return True
    health = (container.get("State") or {}).get("Health")
    return health is None or health.get("Status") == "healthy"


def _template_hash(svc: ServiceObject) -> str:
    return str(svc.spec["TaskTemplate"]["ContainerSpec"]["Labels"][TEMPLATE_HASH])


def _describe(row: TaskRow) -> str:
    error = f": {row.error}" if row.error else ""
    return f"task {row.name} ({row.task_id[:12]}) is {row.state or 'new'}{error}"


async def _ready_count(api: DockerAPI, svc: ServiceObject, rows: list[TaskRow], *, healthy: bool) -> int:
    """Tasks of the spec we sent that are ready: healthy (`running`, which Swarm reports only
    once a healthcheck passed, and a healthy container here), else started (`starting`: the
    container runs, its healthcheck has not passed yet)."""
    want = _template_hash(svc)
    states = ("running",) if healthy else ("starting", "running")
    count = 0
    for row in rows:
        current = row.desired == "running" and row.state in states and row.template_hash == want
        if current and (not healthy or await _healthy_here(api, row)):
            count += 1
    return count


def _enough(svc: ServiceObject, rows: list[TaskRow], ready: int) -> bool:
    if svc.replicas is None:  # global: every task meant to run
        wanted = sum(1 for r in rows if r.desired == "running")
        return wanted > 0 and ready >= wanted
    return ready >= svc.replicas


def _last_failure(rows: list[TaskRow]) -> TaskRow | None:
    failed = [r for r in rows if r.error or r.state in ("failed", "rejected")]
    return max(failed, key=lambda r: r.task_id) if failed else None


async def wait_tasks_ready(
    api: DockerAPI, project: str, svc: ServiceObject, *, healthy: bool, timeout: float, dependent: str | None = None
) -> None:
    """Until `svc`'s tasks of the spec we sent are running (and healthy); WaitTimeoutError naming
    the task and its last error when they are not within `timeout` seconds."""
    what = "healthy" if healthy else "started"
    rows: list[TaskRow] = []
    async with follow(api, project) as wakeups:
        with anyio.move_on_after(timeout):
            while True:
                changed = wakeups.changed()
                rows = await service_tasks(api, svc.key, svc.name)
                if _enough(svc, rows, await _ready_count(api, svc, rows, healthy=healthy)):
                    return
                await wakeups.until(changed)
    failure = _last_failure(rows) or next((r for r in rows if r.desired == "running"), None)
    who = f" (needed by {dependent})" if dependent else ""
    detail = f"; {_describe(failure)}" if failure is not None else "; it has no task"
    raise WaitTimeoutError(
        f"service {svc.key}{who}: its tasks were not {what} within {timeout:g} s{detail}",
        hint=f"see `stack swarm ps`, and `docker service logs {svc.name}`",
    )


_FAILED_UPDATES = {"paused": "update paused", "rollback_completed": "rolled back", "rollback_paused": "rollback paused"}


def _timestamp(text: str) -> datetime | None:
    """An RFC 3339 timestamp of the daemon (nanoseconds cut to microseconds)."""
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?", text or "")
    if match is None:
        return None
    fraction = (match.group(2) or "0")[:6].ljust(6, "0")
    return datetime.fromisoformat(f"{match.group(1)}.{fraction}")


def _update_failed(current: dict[str, Any], svc: ServiceObject) -> bool:
    """Whether the service's update status says the spec we sent failed: rolled back (its spec
    is no longer ours) or paused (an update that started after its spec was last changed, so
    not the status of an earlier update)."""
    status = current.get("UpdateStatus") or {}
    state = status.get("State", "")
    if state not in _FAILED_UPDATES:
        return False
    if state.startswith("rollback"):
        return _labels(current).get(L.CONFIG_HASH) != svc.config_hash
    started, updated = _timestamp(str(status.get("StartedAt", ""))), _timestamp(str(current.get("UpdatedAt", "")))
    return started is None or updated is None or started >= updated


async def wait_converged(api: DockerAPI, stack: SwarmStack, *, timeout: float, echo: Echo = _quiet) -> None:
    """Until every service's tasks run the spec we sent (healthy where they have a check);
    UpdateFailedError on a rollback or a paused update, WaitTimeoutError on the deadline."""
    pending = {s.key: s for s in stack.services}
    last: dict[str, list[TaskRow]] = {}
    async with follow(api, stack.project) as wakeups:
        with anyio.move_on_after(timeout):
            while pending:
                changed = wakeups.changed()
                services = await our_services(api, stack.project)
                for key, svc in list(pending.items()):
                    current = services.get(key)
                    rows = await service_tasks(api, key, svc.name)
                    last[key] = rows
                    if current is not None and _update_failed(current, svc):
                        failure = _last_failure(rows)
                        update = str((current.get("UpdateStatus") or {}).get("State", ""))
                        message = str((current.get("UpdateStatus") or {}).get("Message") or "")
                        detail = f"; {_describe(failure)}" if failure is not None else ""
                        raise UpdateFailedError(
                            f"service {key}: the update was {_FAILED_UPDATES[update]}"
                            f"{f' ({message})' if message else ''}{detail}",
                            hint=f"see `docker service ps --no-trunc {svc.name}`; fix the file and deploy again",
                        )
                    if _enough(svc, rows, await _ready_count(api, svc, rows, healthy=True)):
                        del pending[key]
                        echo(f"service {svc.name}: converged")
                if pending:
                    await wakeups.until(changed)
    if pending:
        key = sorted(pending)[0]
        rows = last.get(key, [])
        failure = _last_failure(rows) or next((r for r in rows if r.desired == "running"), None)
        detail = f"; {_describe(failure)}" if failure is not None else ""
        raise WaitTimeoutError(
            f"service {key}: not converged within {timeout:g} s{detail}",
            hint=f"see `stack swarm ps` and `docker service logs {pending[key].name}`",
        )


# -- listing, removing, rolling back -----------------------------------------------------------


async def list_task_rows(api: DockerAPI, project: str) -> list[TaskRow]:
    """The tasks of our services, by service and slot, each with its node's hostname."""
    rows: list[TaskRow] = []
    for key, svc in sorted((await our_services(api, project)).items()):
        rows.extend(sorted(await service_tasks(api, key, _name_of(svc)), key=lambda r: (r.name, r.task_id)))
    hostnames = {
        str(node.get("ID", ""))[:12]: str((node.get("Description") or {}).get("Hostname") or "")
        for node in await api.list_swarm_objects("nodes", {})
    }
    return [dataclasses.replace(r, node=hostnames.get(r.node) or r.node) for r in rows]


async def list_service_rows(api: DockerAPI, project: str) -> list[ServiceRow]:
    rows: list[ServiceRow] = []
    for key, svc in sorted((await our_services(api, project)).items()):
        spec = svc.get("Spec") or {}
        mode = spec.get("Mode") or {}
        desired = int(mode["Replicated"].get("Replicas", 0)) if "Replicated" in mode else None
        tasks = await service_tasks(api, key, _name_of(svc))
        running = sum(1 for t in tasks if t.desired == "running" and t.state == "running")
        container = (spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
        image = str((container.get("Labels") or {}).get(SWARM_IMAGE) or container.get("Image", ""))
        rows.append(
            ServiceRow(
                service=key,
                name=_name_of(svc),
                service_id=str(svc.get("ID", "")),
                mode=next(iter(mode), "").lower(),
                running=running,
                desired=desired,
                image=image,
                update_state=str((svc.get("UpdateStatus") or {}).get("State") or ""),
            )
        )
    return rows


async def _remove_until_gone(remove: Callable[[], Any], what: str, timeout: float) -> None:
    """Remove an object that may still be in use by tasks shutting down: retried until the
    daemon accepts, or the deadline."""
    error: DockerAPIError | None = None
    with anyio.move_on_after(timeout):
        while True:
            try:
                await remove()
                return
            except DockerNotFoundError:
                return
            except DockerAPIError as exc:
                if "in use" not in exc.detail and "active endpoints" not in exc.detail:
                    raise
                error = exc
            await anyio.sleep(POLL_SECONDS)  # poll interval: until its tasks are gone
    raise DockerAPIError(f"cannot remove {what}: {error.detail if error else 'timed out'}")


async def _until_network_gone(api: DockerAPI, name: str) -> None:
    """The manager removes a swarm network after answering: until this node no longer lists it
    (else a deploy right after would find it, and then create services on a network gone)."""
    with anyio.move_on_after(REMOVE_TIMEOUT):
        while await _by_name(api, "networks", name) is not None:
            await anyio.sleep(POLL_SECONDS)  # poll interval: until the network is gone from the list
        return
    raise DockerAPIError(f"network {name} was removed but is still listed after {REMOVE_TIMEOUT:g} s")


async def remove_stack(api: DockerAPI, project: str, *, volumes: bool = False, echo: Echo = _quiet) -> list[str]:
    """Remove our services, secrets, configs and networks of `project` (by label only); what
    was removed.  Volumes are kept (as `docker stack rm` does) unless `volumes`: then this
    node's volumes that the daemon created for our tasks (they carry our labels) go too, once
    no container uses them."""
    await require_manager(api)
    removed: list[str] = []
    for svc in await api.list_services(owned_filter(project)):
        if _ours(svc, project):
            await api.remove_service(str(svc["ID"]))
            removed.append(f"service {_name_of(svc)}")
            echo(f"service {_name_of(svc)}: removed")
    for kind in ("secrets", "configs"):
        for obj in await api.list_swarm_objects(kind, owned_filter(project)):
            if _ours(obj, project):
                ident = str(obj["ID"])
                await _remove_until_gone(
                    lambda ident=ident, kind=kind: api.remove_swarm_object(kind, ident),  # type: ignore[misc]
                    f"{kind[:-1]} {_name_of(obj)}",
                    REMOVE_TIMEOUT,
                )
                removed.append(f"{kind[:-1]} {_name_of(obj)}")
                echo(f"{kind[:-1]} {_name_of(obj)}: removed")
    for net in await api.list_networks(owned_filter(project)):
        if _ours(net, project):
            ident = str(net["Id"])
            await _remove_until_gone(
                lambda ident=ident: api.remove_network(ident),  # type: ignore[misc]
                f"network {_name_of(net)}",
                REMOVE_TIMEOUT,
            )
            await _until_network_gone(api, _name_of(net))
            removed.append(f"network {_name_of(net)}")
            echo(f"network {_name_of(net)}: removed")
    if volumes:
        for volume in await api.list_volumes(owned_filter(project)):
            name = str(volume["Name"])
            if _ours(volume, project):
                await _remove_until_gone(
                    lambda name=name: api.remove_volume(name),  # type: ignore[misc]
                    f"volume {name}",
                    REMOVE_TIMEOUT,
                )
                removed.append(f"volume {name}")
                echo(f"volume {name}: removed")
    return removed


async def rollback_service(api: DockerAPI, project: str, service: str, known: Iterable[str] = ()) -> str:
    """Put `service`'s previous spec back (`docker service rollback`); its swarm name."""
    await require_manager(api)
    ours = await our_services(api, project)
    current = ours.get(service)
    if current is None:
        from stack.errors import unknown_service

        raise unknown_service(service, set(ours) | set(known), context=f"swarm project {project}: ")
    if not current.get("PreviousSpec"):
        raise UsageError(f"service {service}: it has no previous spec to roll back to")
    await api.update_service(str(current["ID"]), int(current["Version"]["Index"]), current["Spec"], rollback=True)
    return _name_of(current)


async def wait_rolled_back(api: DockerAPI, project: str, service: str, *, timeout: float) -> None:
    """Until a rollback of `service` finished; UpdateFailedError when it paused, WaitTimeoutError
    on the deadline."""
    state = ""
    async with follow(api, project) as wakeups:
        with anyio.move_on_after(timeout):
            while True:
                changed = wakeups.changed()
                current = (await our_services(api, project)).get(service) or {}
                status = current.get("UpdateStatus") or {}
                state = str(status.get("State", ""))
                if state == "rollback_completed":
                    return
                if state == "rollback_paused":
                    raise UpdateFailedError(
                        f"service {service}: the rollback paused ({status.get('Message') or 'no message'})"
                    )
                await wakeups.until(changed)
    raise WaitTimeoutError(f"service {service}: the rollback did not finish within {timeout:g} s (state: {state})")
