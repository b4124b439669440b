"""Walk a Plan against the daemon: every node as soon as its dependencies are done.

No decision logic here: the reconciler decided; each node is one facade call (or one wait),
and its arguments come from the plan.  Independent nodes run in parallel in one anyio task
group (the facade's limiter bounds the parallel daemon calls); there is no global lock.

Failure: the failing node's error names the service and resource; its dependents (direct
and transitive) are skipped; nodes already running finish, independent ones still run, and
`execute` raises the first failure once the walk has settled.  Cancellation (Ctrl-C)
propagates through the task group: a daemon call in flight completes in its worker thread
(it is never abandoned), and what it created is labelled, so `down` finds it.

Node arguments (the contract with stack.plan.reconcile):

  CreateNetwork      key, name                      RemoveNetwork     id (else name)
  CreateVolume       key, name                      RemoveVolume      name, [if_unused]
  BuildImage         service, [image]               PullImage         image, [service]
  RemoveImage        image
  CreateContainer    service, number, name (to create under), [final_name] (after a recreate's
                     rename: the network alias), [config_hash], [labels], [image],
                     [networks: [{key, name (daemon id or name)}] in attach order], [volumes: {key: name}],
                     [inherit_volumes_from: old container id], [network_mode], [volumes_from]
                     [definition: the Service to create from (a `run`'s overridden one)],
                     [aliases], [interactive] (a `run` container: attached to the caller)
                     Joins the FIRST network only; the plan connects the others (ConnectNetwork).
  StartContainer / StopContainer / RemoveContainer / RestartContainer
                     container (name) or container_id, [service], [timeout], [remove_volumes]
  RenameContainer    container, new_name
  ConnectNetwork     container, network (daemon id or name), [service], [network_key] (stack-file key),
                     [aliases] (instead of the service's)
  DisconnectNetwork  container, network (daemon id or name)
  WaitCondition      service (the dependency), condition, [required], [timeout], [dependent]
  MonitorReplicas    service, replicas [{number, name, id}], healthcheck, monitor, timeout,
                     failure_action, tolerate, purpose (update | rollback)
  Delay              seconds

A node with `if_failed` (a rolling update's compensation) runs only when one of those nodes
failed, once its own dependencies are done; it is otherwise never started nor reported.

`container` may also be spelled `name` or `id`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from stack.engine import container_spec as cs
from stack.engine.build import build_image
from stack.engine.docker_api import DockerAPI
from stack.engine.errors import translate
from stack.engine.progress import ProgressEvent, ProgressSink, Status, null_sink
from stack.engine.registry import as_log, pull_image
from stack.engine.taskgroups import unwrapped
from stack.engine.waits import (
    DEFAULT_WAIT_TIMEOUT,
    ContainerWatcher,
    ReplicaCheck,
    WaitSpec,
    check_replicas,
    wait_for,
)
from stack.errors import DockerAPIError, DockerNotFoundError, StackError, UpdateFailedError
from stack.plan import labels as L
from stack.plan import naming
from stack.plan.expectations import healthcheck_state, restarts_after_exit
from stack.plan.hash import network_config_hash, service_config_hash
from stack.plan.plan import Node, Op, Plan
from stack.spec.graph import service_reference
from stack.spec.models import Network, Project, Service
from stack.spec.units import duration_seconds

_REMOVALS = frozenset({Op.REMOVE_CONTAINER, Op.REMOVE_NETWORK, Op.REMOVE_VOLUME, Op.REMOVE_IMAGE})
_NAMED = frozenset({Op.CREATE_NETWORK, Op.REMOVE_NETWORK, Op.CREATE_VOLUME, Op.REMOVE_VOLUME})
NETWORK_RELEASE_TIMEOUT = 10.0  # seconds a removed container's endpoints may linger on a network
STALE_ENDPOINTS = "has active endpoints"  # the daemon's refusal to remove a network still in use


@dataclass(frozen=True)
class ExecOptions:
    stop_timeout: float | None = None  # -t: overrides each service's stop_grace_period
    wait_timeout: float | None = None  # bound of every dependency wait (overrides the plan's)


@dataclass
class ExecContext:
    api: DockerAPI
    project: Project
    options: ExecOptions = field(default_factory=ExecOptions)
    progress: ProgressSink = null_sink


@dataclass
class ExecResult:
    done: list[int] = field(default_factory=list)
    failed: dict[int, StackError] = field(default_factory=dict)
    skipped: list[int] = field(default_factory=list)  # dependents of a failure, absent optional deps
    created: dict[str, str] = field(default_factory=dict)  # container name at create -> id
    warnings: list[str] = field(default_factory=list)  # what was left undone, and why
    image_ids: dict[str, str] = field(default_factory=dict)  # built image tag -> id
    api_calls: dict[str, int] = field(default_factory=dict)  # by kind, during this run
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


async def inject_files(api: DockerAPI, container: str, files: tuple[cs.InjectedFile, ...]) -> None:
    """Copy secrets/configs given by value into a just-created container; if that fails, remove
    the container again: one without its secrets must not look current to the next `up`."""
    try:
        await api.put_files(container, cs.files_archive(files), keep_owner=any(f.keeps_owner for f in files))
    except BaseException:
        with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
            await api.remove_container(container, force=True)
        raise


class _Kept(Exception):
    """A node that could not do its work for a reason that is not a failure of the run (the
    daemon's stale-endpoint bug): reported as skipped, with a warning; dependents go on."""

    def __init__(self, warning: str) -> None:
        super().__init__(warning)
        self.warning = warning


class PlanError(StackError):
    """A plan node lacks an argument the executor needs: a planner bug, reported plainly."""


def _arg(node: Node, *names: str, default: Any = ...) -> Any:
    for name in names:
        if name in node.args and node.args[name] is not None:
            return node.args[name]
    if default is not ...:
        return default
    raise PlanError(f"plan node #{node.id} ({node.op.value} {node.resource}) lacks argument {names[0]!r}")


def _service_of(node: Node) -> str | None:
    service = node.args.get("service")
    if service:
        return str(service)
    parts = node.resource.split(":")
    return parts[1] if len(parts) >= 2 and parts[0] == "service" else None


class _Run:
    """The state of one execution: the node handlers and what they learnt."""

    def __init__(self, plan: Plan, ctx: ExecContext, watcher: ContainerWatcher | None) -> None:
        self.plan = plan
        self.ctx = ctx
        self.api = ctx.api
        self.project = ctx.project
        self.watcher = watcher
        self.result = ExecResult()
        self.update_failures: dict[str, int] = {}  # service -> failed replicas of its rolling update

    # -- helpers ---------------------------------------------------------------------

    def service(self, name: str) -> Service:
        svc = self.project.services.get(name) or self.project.disabled_services.get(name)
        if svc is None:
            raise PlanError(f"the plan names service {name!r}, which the stack does not define")
        if not svc.name:
            svc.name = name
        return svc

    def network_names(self) -> dict[str, str]:
        keys = set(self.project.networks) | {"default"}
        return {key: naming.project_network_name(self.project, key) for key in keys}

    def volume_names(self) -> dict[str, str]:
        return {key: naming.project_volume_name(self.project, key) for key in self.project.volumes}

    def stop_timeout(self, node: Node) -> int | None:
        """-t, else the service's stop_grace_period; None lets the daemon use the container's own."""
        timeout = node.args.get("timeout")
        if timeout is None:
            timeout = self.ctx.options.stop_timeout
        if timeout is None:
            service = _service_of(node)
            svc = self.project.services.get(service) if service else None
            if svc is not None and svc.stop_grace_period:
                timeout = duration_seconds(svc.stop_grace_period)
        return int(timeout) if timeout is not None else None

    # -- handlers: one daemon call each ----------------------------------------------

    async def create_network(self, node: Node) -> None:
        key = str(_arg(node, "key"))
        name = str(_arg(node, "name", default=naming.project_network_name(self.project, key)))
        net = self.project.networks.get(key) or Network()
        ipam = None
        if net.ipam is not None:
            pools = [
                {
                    k: v
                    for k, v in {
                        "Subnet": p.subnet,
                        "IPRange": p.ip_range,
                        "Gateway": p.gateway,
                        "AuxiliaryAddresses": p.aux_addresses,
                    }.items()
                    if v
                }
                for p in net.ipam.config or []
            ]
            ipam = {
                "Driver": net.ipam.driver or "default",
                "Config": pools,
                "Options": net.ipam.options or {},
            }
        labels = node.args.get("labels") or L.network_labels(
            self.project.name, key, network_config_hash(net), net.labels, net.spec_digest
        )
        await self.api.create_network(
            name,
            driver=net.driver or None,
            options=net.driver_opts or None,
            ipam=ipam,
            internal=bool(net.internal),
            labels=labels,
            enable_ipv6=bool(net.enable_ipv6),
            attachable=net.attachable,
            check_duplicate=True,
        )

    async def remove_network(self, node: Node) -> None:
        # By id: the daemon lets several networks share a name, and then refuses the name.
        ref = str(_arg(node, "id", "name"))
        name = str(node.args.get("name") or ref)
        # Right after a burst of container removals the daemon may still hold their endpoints
        # for a moment ("has active endpoints"), and it sends no event when it lets go: poll,
        # with a deadline, and give the daemon's refusal if it never does.
        deadline = anyio.current_time() + NETWORK_RELEASE_TIMEOUT
        delay = 0.1
        while True:
            try:
                await self.api.remove_network(ref)
                return
            except DockerAPIError as exc:
                if STALE_ENDPOINTS not in str(exc):
                    raise
                if anyio.current_time() + delay > deadline:
                    if await self._only_stale_endpoints(ref):
                        raise _Kept(
                            f"network {name} kept: the daemon still counts endpoints on it although no container"
                            " is attached, a Docker Engine bug (moby/moby#43286); it is harmless (the next `up`"
                            " reuses it) and a daemon restart clears it",
                        ) from None
                    raise
            await anyio.sleep(delay)  # poll interval while waiting for the endpoints to go
            delay = min(delay * 2, 1.0)

    async def _only_stale_endpoints(self, network: str) -> bool:
        """No container is attached to `network`, yet the daemon refuses to remove it."""
        try:
            info = await self.api.inspect_network(network)
        except DockerAPIError:
            return False
        return not info.get("Containers")

    async def create_volume(self, node: Node) -> None:
        key = str(_arg(node, "key"))
        name = str(_arg(node, "name", default=naming.project_volume_name(self.project, key)))
        vol = self.project.volumes.get(key)
        labels = node.args.get("labels") or L.volume_labels(
            self.project.name, key, vol.labels if vol is not None else None
        )
        await self.api.create_volume(
            name,
            driver=(vol.driver if vol is not None else None) or "local",
            driver_opts=(vol.driver_opts if vol is not None else None) or None,
            labels=labels,
        )

    async def remove_volume(self, node: Node) -> None:
        name = str(_arg(node, "name"))
        try:
            await self.api.remove_volume(name)
        except DockerAPIError as exc:
            # An anonymous volume that another container still mounts (volumes_from) stays.
            if not (node.args.get("if_unused") and exc.status == 409):
                raise
            raise _Kept(f"volume {name} kept: {exc.detail}") from None

    async def build(self, node: Node) -> None:
        service = str(_arg(node, "service"))
        tag = node.args.get("image")
        image_id = await build_image(
            self.api, self.project, service, tag=tag, progress=self.ctx.progress, node_id=node.id
        )
        tag = tag or naming.service_image(self.project.name, service, self.service(service))
        self.result.image_ids[tag] = image_id

    async def pull(self, node: Node) -> None:
        # With the Docker config's credentials; the registry's refusal is a RegistryError.
        service = node.args.get("service")
        layers = as_log(self.ctx.progress, node.id, node.resource)
        await pull_image(self.api, str(_arg(node, "image")), service=service, sink=layers)

    async def remove_image(self, node: Node) -> None:
        await self.api.remove_image(str(_arg(node, "image")))

    async def create_container(self, node: Node) -> None:
        service_name = str(_arg(node, "service"))
        svc = node.args.get("definition") or self.service(service_name)
        number = int(_arg(node, "number", default=1))
        default_name = naming.service_container_name(self.project.name, service_name, svc, number)
        name = str(_arg(node, "name", default=default_name))
        config_hash = str(_arg(node, "config_hash", default=service_config_hash(svc)))
        labels = node.args.get("labels") or L.container_labels(
            self.project, service_name, number, config_hash, oneoff=bool(node.args.get("oneoff", False))
        )
        image = node.args.get("image") or naming.service_image(self.project.name, service_name, svc)
        network_mode = node.args.get("network_mode")
        other = service_reference(svc.network_mode)
        if network_mode is None and other is not None:
            network_mode = "container:" + naming.service_container_name(
                self.project.name, other, self.service(other), 1
            )
        network_names = self.network_names()
        network_keys: list[str] | None = None
        for entry in node.args.get("networks") or []:
            network_names[str(entry["key"])] = str(entry["name"])
            network_keys = [*(network_keys or []), str(entry["key"])]
        volume_names = {**self.volume_names(), **(node.args.get("volumes") or {})}
        spec = cs.container_spec(
            self.project,
            svc,
            name=name,
            labels=labels,
            network_names=network_names,
            volume_names=volume_names,
            image=image,
            network_mode=network_mode,
            network_keys=network_keys,
            final_name=node.args.get("final_name") or name,
            volumes_from=node.args.get("volumes_from"),
        )
        if "interactive" in node.args:
            spec = cs.for_session(spec, aliases=node.args.get("aliases"), interactive=bool(node.args["interactive"]))
        inherit_from = node.args.get("inherit_volumes_from") or node.args.get("inherit_from")
        if inherit_from:
            # One inspect of the old container: its anonymous volumes carry over.
            old = await self.api.inspect_container(str(inherit_from))
            spec = cs.inherit_anonymous_volumes(spec, list(old.get("Mounts") or []))
        await anyio.to_thread.run_sync(cs.create_host_paths, spec)
        # Only the first network joins at create (API 1.41); the plan's ConnectNetwork nodes
        # join the others before the start.
        cid = await self.api.create_container(name, spec.body)
        if spec.files:
            await inject_files(self.api, cid, spec.files)
        self.result.created[name] = cid

    async def _connect(self, container: str, network: str, kwargs: dict[str, Any]) -> None:
        try:
            await self.api.connect_network(container, network, **kwargs)
        except DockerAPIError as exc:
            if "already exists in network" not in exc.detail:
                raise

    async def start(self, node: Node) -> None:
        await self.api.start_container(str(_arg(node, "container", "name", "id")))

    async def stop(self, node: Node) -> None:
        container = str(_arg(node, "container_id", "container", "name", "id"))
        await self.api.stop_container(container, timeout=self.stop_timeout(node))

    async def remove_container(self, node: Node) -> None:
        await self.api.remove_container(
            str(_arg(node, "container_id", "container", "name", "id")),
            volumes=bool(node.args.get("remove_volumes", node.args.get("volumes", False))),
            force=bool(node.args.get("force", False)),
        )

    async def rename(self, node: Node) -> None:
        container = str(_arg(node, "container", "name", "id"))
        await self.api.rename_container(container, str(_arg(node, "new_name")))

    async def restart(self, node: Node) -> None:
        await self.api.restart_container(str(_arg(node, "container", "name", "id")), timeout=self.stop_timeout(node))

    async def connect(self, node: Node) -> None:
        container = str(_arg(node, "container", "name", "id"))
        network = str(_arg(node, "network"))
        service = _service_of(node)
        kwargs: dict[str, Any] = {}
        if service is not None:
            key = node.args.get("network_key") or node.args.get("key")
            if key is None:
                key = next((k for k, n in self.network_names().items() if n == network), None)
            if key is not None:
                alias = str(node.args.get("final_name") or container)  # a temporary name is no alias
                kwargs = cs.endpoint(self.service(service), str(key), network, alias).connect_kwargs()
        if node.args.get("aliases") is not None:
            kwargs["aliases"] = list(node.args["aliases"])  # a one-off answers to its own name only
        await self._connect(container, network, kwargs)

    async def disconnect(self, node: Node) -> None:
        await self.api.disconnect_network(
            str(_arg(node, "container", "name", "id")), str(_arg(node, "network")), force=True
        )

    async def wait(self, node: Node) -> bool:
        assert self.watcher is not None
        service = str(_arg(node, "service"))
        svc = self.project.services.get(service)
        # An explicit execution-wide bound wins over the planner's per-wait default.
        timeout = self.ctx.options.wait_timeout
        if timeout is None:
            timeout = node.args.get("timeout")
        spec = WaitSpec(
            service=service,
            condition=str(_arg(node, "condition", default="service_started")),
            required=bool(node.args.get("required", True)),
            timeout=float(timeout) if timeout is not None else DEFAULT_WAIT_TIMEOUT,
            dependent=node.args.get("dependent"),
            has_healthcheck=healthcheck_state(svc) if svc is not None else None,
            restarts=svc is not None and restarts_after_exit(svc, 1),
            report=lambda text: self.ctx.progress(_event(node, Status.LOG, text)),
        )
        return await wait_for(self.watcher, spec)

    async def monitor_replicas(self, node: Node) -> bool:
        """A rolling update's gate: its failure (beyond what the policy tolerates) fails the node,
        which arms the plan's compensating nodes."""
        assert self.watcher is not None
        service = str(_arg(node, "service"))
        containers: dict[str, tuple[int, str]] = {}
        for entry in _arg(node, "replicas"):
            name = str(entry["name"])
            cid = entry.get("id") or self.result.created.get(name)
            if cid is None:
                cid = str((await self.api.inspect_container(name))["Id"])
            containers[str(cid)] = (int(entry["number"]), name)
        timeout = self.ctx.options.wait_timeout
        if timeout is None:
            timeout = float(_arg(node, "timeout", default=DEFAULT_WAIT_TIMEOUT))
        check = ReplicaCheck(
            service=service,
            containers=containers,
            healthcheck=node.args.get("healthcheck"),
            monitor=float(node.args.get("monitor") or 0.0),
            timeout=timeout,
            report=lambda text: self.ctx.progress(_event(node, Status.LOG, text)),
        )
        failures = await check_replicas(self.watcher, check)
        if not failures:
            return True
        purpose = str(node.args.get("purpose") or "update")
        role = "new container" if purpose == "update" else "previous container"
        described = "; ".join(
            f"replica {f.number} ({role} {f.name}) {f.reason}" + (f": {f.detail}" if f.detail else "") for f in failures
        )
        count = self.update_failures[service] = self.update_failures.get(service, 0) + len(failures)
        action = str(node.args.get("failure_action") or "pause")
        if action == "continue" or count <= int(node.args.get("tolerate") or 0):
            why = "failure_action: continue" if action == "continue" else "within max_failure_ratio"
            self.result.warnings.append(f"service {service}: {described}; the {purpose} goes on ({why})")
            return True
        if purpose == "rollback":
            raise UpdateFailedError(
                f"service {service}: the rollback failed: {described}",
                hint=f"see `stack logs {service}` and `stack ps -a {service}`",
            )
        outcome = (
            "rolled back: the previous replicas keep serving"
            if action == "rollback"
            else "update paused: the replicas not yet updated keep serving the previous version"
        )
        raise UpdateFailedError(
            f"service {service}: update failed: {described}; {outcome}",
            hint=f"see `stack logs {service}`; fix the service and run `stack up` again",
        )

    async def delay(self, node: Node) -> None:
        # update_config.delay: a pause the user asked for between batches, not a synchronisation.
        await anyio.sleep(float(_arg(node, "seconds")))

    # -- dispatch ----------------------------------------------------------------------

    def handler(self, op: Op) -> Callable[[Node], Awaitable[Any]]:
        return {
            Op.CREATE_NETWORK: self.create_network,
            Op.REMOVE_NETWORK: self.remove_network,
            Op.CREATE_VOLUME: self.create_volume,
            Op.REMOVE_VOLUME: self.remove_volume,
            Op.BUILD_IMAGE: self.build,
            Op.PULL_IMAGE: self.pull,
            Op.REMOVE_IMAGE: self.remove_image,
            Op.CREATE_CONTAINER: self.create_container,
            Op.START_CONTAINER: self.start,
            Op.STOP_CONTAINER: self.stop,
            Op.REMOVE_CONTAINER: self.remove_container,
            Op.RENAME_CONTAINER: self.rename,
            Op.RESTART_CONTAINER: self.restart,
            Op.CONNECT_NETWORK: self.connect,
            Op.DISCONNECT_NETWORK: self.disconnect,
            Op.WAIT_CONDITION: self.wait,
            Op.MONITOR_REPLICAS: self.monitor_replicas,
            Op.DELAY: self.delay,
        }[op]

    def describe(self, node: Node) -> str:
        """`create container demo-web-1`: what the node was doing, for error messages."""
        verb = {
            Op.CREATE_NETWORK: "create network",
            Op.REMOVE_NETWORK: "remove network",
            Op.CREATE_VOLUME: "create volume",
            Op.REMOVE_VOLUME: "remove volume",
            Op.BUILD_IMAGE: "build image",
            Op.PULL_IMAGE: "pull image",
            Op.REMOVE_IMAGE: "remove image",
            Op.CREATE_CONTAINER: "create container",
            Op.START_CONTAINER: "start container",
            Op.STOP_CONTAINER: "stop container",
            Op.REMOVE_CONTAINER: "remove container",
            Op.RENAME_CONTAINER: "rename container",
            Op.RESTART_CONTAINER: "restart container",
            Op.CONNECT_NETWORK: "connect to network",
            Op.DISCONNECT_NETWORK: "disconnect from network",
            Op.WAIT_CONDITION: "wait for",
            Op.MONITOR_REPLICAS: "monitor the new replicas of",
            Op.DELAY: "pause the update of",
        }[node.op]
        target = (
            node.args.get("name")
            or node.args.get("container")
            or node.args.get("image")
            or node.args.get("id")
            or node.resource
        )
        if node.op in (Op.CONNECT_NETWORK, Op.DISCONNECT_NETWORK):
            return f"{verb} {node.args.get('network')} (container {target})"
        return f"{verb} {target}"

    async def run_node(self, node: Node) -> bool:
        """Run one node; False when it was skipped (an absent optional dependency)."""
        service = _service_of(node)
        try:
            outcome = await self.handler(node.op)(node)
        except DockerAPIError as exc:
            if isinstance(exc, DockerNotFoundError) and node.op in _REMOVALS:
                # Removing what is already gone reaches the goal (removed by hand meanwhile).
                return True
            raise translate(exc, action=self.describe(node), service=service, resource=node.resource) from exc
        return outcome is not False


def _event(node: Node, status: Status, text: str = "") -> ProgressEvent:
    """A progress event about `node`; networks and volumes also carry their daemon name (the
    plan knows it, the stack file may not: anonymous volumes, resources found by label)."""
    name = str(node.args.get("name") or "") if node.op in _NAMED else ""
    return ProgressEvent(node.id, node.resource, node.op.value, status, text, name=name)


def _dependents(plan: Plan) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {n.id: [] for n in plan.nodes}
    for node in plan.nodes:
        for dep in node.deps:
            out[dep].append(node.id)
    return out


def _validate(plan: Plan) -> None:
    ids = {n.id for n in plan.nodes}
    for node in plan.nodes:
        missing = [d for d in node.deps if d not in ids]
        if missing:
            raise PlanError(f"plan node #{node.id} depends on unknown node(s) {missing}")
    # Cycle check (Kahn): a cyclic plan would otherwise hang.
    indegree = {n.id: len(n.deps) for n in plan.nodes}
    dependents = _dependents(plan)
    ready = [i for i, d in indegree.items() if d == 0]
    seen = 0
    while ready:
        current = ready.pop()
        seen += 1
        for nxt in dependents[current]:
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    if seen != len(plan.nodes):
        raise PlanError("the plan has a dependency cycle")


async def execute(
    plan: Plan, ctx: ExecContext, *, raise_on_failure: bool = True, watcher: ContainerWatcher | None = None
) -> ExecResult:
    """Run `plan`; returns what happened.  Raises the first node failure (a StackError) unless
    `raise_on_failure` is False, in which case the failures are in `ExecResult.failed`.

    `watcher`: the caller's subscription to the project's container events, when it watches
    what this plan starts (`up --wait`); else one is opened when the plan waits on conditions."""
    _validate(plan)
    calls_before = dict(ctx.api.calls)
    started_at = time.monotonic()
    needs_watch = any(n.op in (Op.WAIT_CONDITION, Op.MONITOR_REPLICAS) for n in plan.nodes)
    if watcher is not None:
        result = await _walk(plan, ctx, watcher)
    elif needs_watch:
        async with ContainerWatcher.watching(ctx.api, ctx.project.name) as watcher:
            result = await _walk(plan, ctx, watcher)
    else:
        result = await _walk(plan, ctx, None)
    result.seconds = time.monotonic() - started_at
    deltas = {k: v - calls_before.get(k, 0) for k, v in ctx.api.calls.items()}
    result.api_calls = {k: v for k, v in deltas.items() if v}
    if raise_on_failure and result.failed:
        first = min(result.failed)
        error = result.failed[first]
        others = len(result.failed) - 1
        if others:
            error.message += f" (and {others} more failure{'s' if others > 1 else ''})"
            error.args = (error.message,)
        raise error
    return result


async def _walk(plan: Plan, ctx: ExecContext, watcher: ContainerWatcher | None) -> ExecResult:
    run = _Run(plan, ctx, watcher)
    result = run.result
    progress = ctx.progress
    dependents = _dependents(plan)
    waiting = {n.id: len(n.deps) for n in plan.nodes}
    blocked: set[int] = set()
    # Compensating nodes: armed by the failure of one of their triggers, else never run.
    compensations: dict[int, list[int]] = {}
    for n in plan.nodes:
        for trigger in n.if_failed:
            compensations.setdefault(trigger, []).append(n.id)
    armed: set[int] = set()

    def runnable(node_id: int) -> bool:
        return (
            waiting[node_id] == 0 and node_id not in blocked and (not plan.node(node_id).if_failed or node_id in armed)
        )

    def skip_dependents(node_id: int, why: str) -> None:
        stack = list(dependents[node_id])
        while stack:
            nxt = stack.pop()
            if nxt in blocked:
                continue
            blocked.add(nxt)
            dep_node = plan.node(nxt)
            if not dep_node.if_failed or nxt in armed:  # an unarmed compensation was never due
                result.skipped.append(nxt)
                progress(_event(dep_node, Status.SKIPPED, why))
            stack.extend(dependents[nxt])

    def arm(node_id: int, tg: anyio.abc.TaskGroup) -> None:
        for nxt in compensations.get(node_id, []):
            if nxt not in armed:
                armed.add(nxt)
                if runnable(nxt):
                    tg.start_soon(run_one, plan.node(nxt), tg)

    async def run_one(node: Node, tg: anyio.abc.TaskGroup) -> None:
        progress(_event(node, Status.STARTED, node.cause))
        ran: bool | None
        try:
            ran = await run.run_node(node)
        except _Kept as kept:
            result.skipped.append(node.id)
            result.warnings.append(kept.warning)
            progress(_event(node, Status.SKIPPED, kept.warning))
            ran = None
        except StackError as exc:
            result.failed[node.id] = exc
            progress(_event(node, Status.FAILED, exc.message))
            skip_dependents(node.id, f"#{node.id} {node.resource} failed")
            arm(node.id, tg)
            return
        if ran:
            result.done.append(node.id)
            progress(_event(node, Status.DONE, node.cause))
        elif ran is False:
            # An absent optional dependency: the wait is skipped, its dependents go on.
            result.skipped.append(node.id)
            why = "not required, absent"
            progress(_event(node, Status.SKIPPED, why))
        for nxt in dependents[node.id]:
            waiting[nxt] -= 1
            if runnable(nxt):
                tg.start_soon(run_one, plan.node(nxt), tg)

    with unwrapped():
        async with anyio.create_task_group() as tg:
            for node in plan.nodes:
                if runnable(node.id):
                    tg.start_soon(run_one, node, tg)
    return result
