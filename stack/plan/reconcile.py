"""The reconciler: desired `Project` x `ObservedState` -> `Plan`.  Every decision is made here.

Rules (modelled on Compose v2's convergence code):

- A container is recreated only when its config hash differs from the service's
  (`stack.plan.hash`), when its image is not the current id of the service's image
  reference (or the image is rebuilt/pulled by this plan), when a service whose namespaces
  (`network_mode`/`ipc`/`pid: service:x`) or volumes (`volumes_from`) it uses is recreated,
  when it is dead, or on `--force-recreate` (named services only, as Compose).  Nothing else
  recreates; `--no-recreate` turns all of this off.
- A recreate never clashes on names: the new container is created under a temporary name
  (inheriting the old one's anonymous volumes unless `-V`), the old one is stopped and
  removed, the new one renamed, connected to its other networks, then started.
- Creates depend only on networks, volumes, images (and, for `network_mode: service:x` /
  `volumes_from`, on x's container existing), so they run early and in parallel.  Each start
  waits on one WaitCondition node per `depends_on` edge, so a service starts as soon as its
  own conditions hold.  `restart: true` dependents restart after a recreated dependency is
  ready again.
- Scaling changes the number of containers, never the others: scale down removes out-of-date
  replicas first, then the highest numbers; scale up numbers new replicas after the highest.
- Orphans (containers of services neither in the file nor disabled by a profile) are reported
  as a warning, or removed with `--remove-orphans`.
- Networks: a missing one is created.  One whose config hash changed is recreated, as
  Compose does: the project's attached containers are stopped and disconnected, the network
  removed and created again, and the containers reconnected and started (not recreated: a
  network change is no reason to lose a container's state).  When containers of other
  projects are attached (known when the engine filled `attached_containers`), it is an error
  that says what to do instead.  A network or volume of the same name without our labels is
  reused with a warning, as Compose.  External networks and volumes must exist.
- A no-op `up` is an empty plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stack.errors import (
    ResourceConflictError,
    ResourceNotFoundError,
    StackFileError,
    UsageError,
    unknown_service,
)
from stack.plan import labels as L
from stack.plan.expectations import healthcheck_state
from stack.plan.graph import ServiceGraph, observed_graph, volumes_from
from stack.plan.hash import network_config_hash, service_config_hash
from stack.plan.naming import (
    default_image_name,
    network_name,
    service_container_name,
    service_image,
    temporary_container_name,
    volume_name,
)
from stack.plan.observed import ObservedContainer, ObservedNetwork, ObservedState, ObservedVolume
from stack.plan.options import DownOptions, RunOptions, UpOptions
from stack.plan.plan import Op, Plan
from stack.plan.pull_policy import is_stale, service_pull_policy, stale_cause
from stack.plan.rollout import Rollout
from stack.spec.graph import service_reference
from stack.spec.models import Network, Port, Project, Service, Volume
from stack.spec.update_policy import update_policy

# Compose's defaults when a healthcheck leaves them out (seconds).
_HEALTH_INTERVAL = 30.0
_HEALTH_TIMEOUT = 30.0
_HEALTH_RETRIES = 3

__all__ = [
    "declared_names",
    "image_references",
    "oneoff_definition",
    "parse_publish",
    "plan_down",
    "plan_images",
    "plan_run",
    "plan_up",
    "service_networks",
]


def service_networks(service: Service) -> list[str]:
    """The network keys a service joins, primary first: highest `priority`, then by key.

    `network_mode` (host, none, service:x, container:x) means no project network at all.
    """
    if service.network_mode:
        return []
    if not service.networks:
        return ["default"]

    def priority(key: str) -> int:
        attachment = service.networks[key]
        return attachment.priority or 0 if attachment is not None else 0

    return sorted(service.networks, key=lambda k: (-priority(k), k))


def service_volume_keys(project: Project, service: Service) -> list[str]:
    """The project volume keys a service mounts (anonymous volumes and binds excluded)."""
    keys = {m.source for m in service.volumes if m.type == "volume" and m.source in project.volumes}
    return sorted(k for k in keys if k is not None)


def image_references(project: Project) -> list[str]:
    """Every image reference the project's services run (what `observe` should look up)."""
    services = {**project.disabled_services, **project.services}
    return sorted({service_image(project.name, name, svc) for name, svc in services.items()})


def declared_names(project: Project) -> tuple[list[str], list[str]]:
    """Daemon names of the networks (the implicit `default` too) and volumes the project
    declares, external or not: `observe` looks them up by name, to find what is not ours."""
    networks = {"default": Network(), **project.networks}
    nets = sorted({network_name(project.name, k, n) for k, n in networks.items()})
    vols = sorted({volume_name(project.name, k, v) for k, v in project.volumes.items()})
    return nets, vols


def stop_timeout(service: Service | None, override: float | None) -> float | None:
    """Seconds a stop may take before the kill: `-t`, else `stop_grace_period`, else None
    (the daemon's default, 10 s)."""
    if override is not None:
        return override
    if service is not None and service.stop_grace_period:
        return _seconds(service.stop_grace_period, 10.0)
    return None


def _seconds(text: str | None, default: float) -> float:
    from stack.spec.units import duration_seconds

    if text is None:
        return default
    return float(duration_seconds(text))


def _health_bound(service: Service) -> float | None:
    """How long a healthy-wait can take before the daemon must have decided (None: no check)."""
    check = service.healthcheck
    if check is None or not healthcheck_state(service):
        return None
    interval = _seconds(check.interval, _HEALTH_INTERVAL)
    timeout = _seconds(check.timeout, _HEALTH_TIMEOUT)
    retries = check.retries if check.retries is not None else _HEALTH_RETRIES
    start = _seconds(check.start_period, 0.0)
    # start period, then every try (interval + its timeout), plus one interval of slack.
    return start + (retries + 1) * (interval + timeout)


@dataclass
class _ServiceState:
    """What the plan does to one service, for the services planned after it."""

    # Nodes after which all the service's containers are (re)started.
    start_nodes: list[int] = field(default_factory=list)
    # Nodes after which each container exists under its final name (for network_mode/volumes_from).
    ready_nodes: list[int] = field(default_factory=list)
    replicas: dict[int, str] = field(default_factory=dict)  # number -> final container name
    # Creates of new containers: a dependent's new containers are created after them.
    fresh_creates: list[int] = field(default_factory=list)
    recreated: bool = False
    running: bool = False  # every kept container will be running (untouched or started)


class _UpPlanner:
    def __init__(self, project: Project, observed: ObservedState, options: UpOptions) -> None:
        self.project = project
        self.observed = observed
        self.options = options
        self.plan = Plan()
        self.graph = ServiceGraph(project.services)
        self.scope = self.graph.select(options.services, no_deps=options.no_deps)
        self.scope_set = set(self.scope)
        # container id -> nodes that must run before it may be removed (its stop, disconnects)
        self.released: dict[str, list[int]] = {}
        self.stopped: set[str] = set()
        self.network_nodes: dict[str, int] = {}  # network key -> CreateNetwork node
        self.network_refs: dict[str, str] = {}  # network key -> id of the existing network used
        self.moved: set[tuple[str, str]] = set()  # (container id, network key) moved off a duplicate
        self.merged: dict[str, list[int]] = {}  # network key -> removals of its duplicates
        # container id -> (network key, DisconnectNetwork node) for networks recreated under it
        self.disconnected: dict[str, list[tuple[str, int]]] = {}
        self.was_running: set[str] = set()  # containers stopped only because a network is recreated
        self.volume_nodes: dict[str, int] = {}
        self.image_nodes: dict[str, int] = {}  # image ref -> Build/Pull node
        self.rebuilt: dict[str, str] = {}  # image ref -> why the image will be new
        self.services: dict[str, _ServiceState] = {}
        self._wait_cache: dict[tuple[str, str], int] = {}  # (dependent, dependency) -> WaitCondition

    # ---- entry point ---------------------------------------------------------------------

    def run(self) -> Plan:
        self._check_options()
        self._networks()
        self._volumes()
        if not self.options.images_ready:
            self._images()
        for name in self.scope:
            self._service(name)
        self._orphans()
        return self.plan

    def _check_options(self) -> None:
        self._check_flags()
        self._check_runnable()

    def _check_flags(self) -> None:
        if self.options.force_recreate and self.options.no_recreate:
            raise UsageError("--force-recreate and --no-recreate cannot be combined")
        for name, count in sorted(self.options.scale.items()):
            if name not in self.project.services:
                raise unknown_service(name, self.project.services, context=f"--scale {name}={count}: ")
            if count < 0:
                raise UsageError(f"--scale {name}={count}: the number of replicas cannot be negative")

    def _check_runnable(self) -> None:
        """What this daemon could not run as containers (a build alone, or Swarm, may still)."""
        for name in self.scope:
            svc = self.project.services[name]
            if svc.provider is not None:
                raise StackFileError(
                    f"service {name} is run by the provider {str(svc.provider.get('type') or '?')!r}, "
                    "which stack cannot run yet",
                    path=f"services.{name}.provider",
                    hint="start it with `docker compose up`, or name only other services (`stack up SERVICE...`) "
                    "when none of them depends on it",
                )
            if svc.container_name and self._replicas(name) > 1:
                raise StackFileError(
                    f"service {name} sets container_name {svc.container_name!r} "
                    f"but asks for {self._replicas(name)} replicas; a name can only be used once",
                    path=f"services.{name}.container_name",
                    hint="remove container_name or run a single replica",
                )
            if self._replicas(name) > 1:
                for index, port in enumerate(svc.ports):
                    # One fixed host port can be bound by one container only; a range gives each
                    # replica its own port.
                    if port.published and "-" not in port.published:
                        raise StackFileError(
                            f"service {name} publishes host port {port.published} but asks for "
                            f"{self._replicas(name)} replicas; only one container can bind it",
                            path=f"services.{name}.ports[{index}]",
                            hint=f"publish a range (e.g. {port.published}-{int(port.published) + 4}:{port.target}), "
                            f"only the container port ({port.target}), or run a single replica",
                        )

    def _replicas(self, name: str) -> int:
        return self.options.scale.get(name, self.project.services[name].replicas)

    # ---- networks and volumes ---------------------------------------------------------------

    def _network(self, key: str) -> Network:
        network = self.project.networks.get(key)
        if network is not None:
            return network
        if key == "default":
            return Network()
        users = sorted(n for n in self.scope if key in self.project.services[n].networks)
        raise StackFileError(
            f"service {users[0] if users else '?'} uses network {key!r}, which is not declared",
            path=f"services.{users[0]}.networks" if users else "networks",
            hint=f"declare it under the top-level networks: key ({key}: {{}})",
        )

    def _scope_network_keys(self) -> list[str]:
        keys: set[str] = set()
        for name in self.scope:
            if self._replicas(name) > 0:
                keys.update(service_networks(self.project.services[name]))
        return sorted(keys)

    def _networks(self) -> None:
        """Each network the services of this `up` join: create it, reuse it, recreate it when its
        configuration changed, and repair duplicates of ours that an older race left behind."""
        for key in self._scope_network_keys():
            network = self._network(key)
            name = network_name(self.project.name, key, network)
            found = self.observed.networks_named(name)
            ours = [n for n in found if L.is_owned(n.labels, self.project.name)]
            others = [n for n in found if n not in ours]
            if network.external or not ours:
                if network.external and not found:
                    raise ResourceNotFoundError(
                        f"network {name} is declared as external (networks.{key}) but does not exist",
                        hint=f"create it first (docker network create {name}) or remove `external: true`",
                    )
                if len(found) > 1:
                    raise ResourceConflictError(
                        f"{len(found)} networks are named {name} (networks.{key}) and stack did not create them;"
                        " it cannot tell which one to use",
                        hint=f"remove the extra ones (docker network ls --filter name={name}; docker network rm ID)",
                    )
                if found:
                    self.network_refs[key] = found[0].id
                    if not network.external:
                        self.plan.warnings.append(
                            f"network {name} exists but stack did not create it for project {self.project.name}:"
                            " using it as it is, and `down` leaves it (declare it `external: true` to say so)"
                        )
                    continue
                config_hash = network_config_hash(network)
                self.network_nodes[key] = self._create_network(key, name, network, config_hash, [], "missing")
                continue
            # Ours, perhaps more than once: keep the copy most of our containers use (else the
            # oldest), move the others' containers onto it, and remove them by id.
            keeper = max(ours, key=lambda n: (self._users(n), -ours.index(n)))
            self.network_refs[key] = keeper.id
            for duplicate in ours:
                if duplicate is not keeper:
                    self._merge_duplicate(key, duplicate, keeper)
            if others:
                self.plan.warnings.append(
                    f"network {name}: {len(others)} other network(s) of that name exist that stack did not create;"
                    " stack uses its own (by id) and leaves them"
                )
            config_hash = network_config_hash(network)
            if keeper.config_hash and keeper.config_hash != config_hash:
                if self.options.no_recreate:
                    self.plan.warnings.append(
                        f"network {name} has changed configuration; not recreated because of --no-recreate"
                    )
                    continue
                self._recreate_network(key, name, network, config_hash, keeper)

    def _users(self, network: ObservedNetwork) -> int:
        return sum(network.id in c.network_ids for c in self.observed.containers)

    def _merge_duplicate(self, key: str, duplicate: ObservedNetwork, keeper: ObservedNetwork) -> None:
        """Move our containers from a duplicate of network `key` onto the kept copy; remove it."""
        cause = f"duplicate of network {duplicate.name} ({duplicate.id[:12]}), merged into {keeper.id[:12]}"
        released: list[int] = []
        for container in self._sorted_containers(self.observed.containers):
            if duplicate.id not in container.network_ids:
                continue
            disconnect = self.plan.add(
                Op.DISCONNECT_NETWORK,
                self._resource(container),
                cause,
                service=container.service,
                number=container.number,
                container=container.name,
                container_id=container.id,
                network=duplicate.id,
                network_key=key,
            )
            nodes = [disconnect.id]
            if keeper.id not in container.network_ids:
                connect = self.plan.add(
                    Op.CONNECT_NETWORK,
                    self._resource(container),
                    cause,
                    [disconnect.id],
                    service=container.service,
                    number=container.number,
                    container=container.name,
                    container_id=container.id,
                    network=keeper.id,
                    network_key=key,
                )
                nodes.append(connect.id)
            # A removal of this container (recreate, scale down) comes after its move.
            self.released.setdefault(container.id, []).extend(nodes)
            self.moved.add((container.id, key))
            released.append(disconnect.id)
        removal = self.plan.add(
            Op.REMOVE_NETWORK, f"network:{key}", cause, released, key=key, name=duplicate.name, id=duplicate.id
        )
        self.merged.setdefault(key, []).append(removal.id)

    def _network_ref(self, key: str) -> str:
        """How plan nodes name network `key` to the daemon: by id when it exists (a name may be
        ambiguous), by name when this plan creates it."""
        return self.network_refs.get(key) or network_name(self.project.name, key, self._network(key))

    def _joined(self, container: ObservedContainer, key: str) -> bool:
        """Whether `container` is attached to network `key` (the copy this plan uses)."""
        ref = self.network_refs.get(key)
        if ref is not None:
            return ref in container.network_ids or (container.id, key) in self.moved
        return network_name(self.project.name, key, self._network(key)) in container.networks

    def _create_network(
        self, key: str, name: str, network: Network, config_hash: str, deps: list[int], cause: str
    ) -> int:
        ipam = network.ipam.model_dump(mode="json", exclude_none=True) if network.ipam else None
        node = self.plan.add(
            Op.CREATE_NETWORK,
            f"network:{key}",
            cause,
            deps,
            key=key,
            name=name,
            driver=network.driver,
            driver_opts=dict(network.driver_opts or {}),
            ipam=ipam or None,
            internal=bool(network.internal),
            attachable=bool(network.attachable),
            enable_ipv6=network.enable_ipv6,
            labels=L.network_labels(self.project.name, key, config_hash, network.labels, network.spec_digest),
        )
        return node.id

    def _recreate_network(
        self, key: str, name: str, network: Network, config_hash: str, found: ObservedNetwork
    ) -> None:
        ours = {c.id for c in self.observed.containers}
        foreign = sorted(n for cid, n in found.attached_containers.items() if cid not in ours)
        if foreign:
            raise ResourceNotFoundError(
                f"network {name} (networks.{key}) has a changed configuration, but containers of "
                f"other projects are attached to it: {', '.join(foreign)}",
                hint=f"disconnect them (docker network disconnect {name} CONTAINER) and run up again, "
                f"or keep the network's previous configuration",
            )
        cause = f"network {key} config changed"
        disconnects: list[int] = []
        attached = [c for c in self._sorted_containers(self.observed.containers) if found.id in c.network_ids]
        for container in attached:
            was_running = container.running and container.id not in self.stopped
            stop = self._stop(container, cause)
            node = self.plan.add(
                Op.DISCONNECT_NETWORK,
                self._resource(container),
                f"network {key} recreated",
                [stop] if stop else [],
                container=container.name,
                container_id=container.id,
                service=container.service,
                number=container.number,
                network=found.id,
                network_key=key,
            )
            self.released.setdefault(container.id, []).append(node.id)
            self.disconnected.setdefault(container.id, []).append((key, node.id))
            if was_running:
                self.was_running.add(container.id)
            disconnects.append(node.id)
        removed = self.plan.add(
            Op.REMOVE_NETWORK, f"network:{key}", cause, disconnects, key=key, name=name, id=found.id
        )
        # The new copy is named, not yet known by id: create it once no other copy holds the name.
        self.network_nodes[key] = self._create_network(
            key, name, network, config_hash, [removed.id, *self.merged.get(key, [])], cause
        )
        self.network_refs.pop(key, None)
        # Containers no service of this `up` takes care of go back as they were: reconnected,
        # and started again if they were running.  The services of this `up` reconnect theirs.
        for container in attached:
            orphan = not container.one_off and container.service not in self._known_services()
            if (container.service in self.scope_set and not container.one_off) or (
                orphan and self.options.remove_orphans
            ):
                continue
            connects = self._reconnect(container)
            if container.id in self.was_running and not self.options.no_start:
                self.plan.add(
                    Op.START_CONTAINER,
                    self._resource(container),
                    f"network {key} recreated",
                    connects,
                    service=container.service,
                    number=container.number,
                    container=container.name,
                )

    def _known_services(self) -> set[str]:
        return set(self.project.services) | set(self.project.disabled_services)

    def _reconnect(
        self, container: ObservedContainer, name: str | None = None, deps: list[int] | None = None
    ) -> list[int]:
        """Connect a container again to the networks recreated under it; the connect nodes.

        `name`/`deps`: its name and what must happen first when the plan renames it."""
        nodes: list[int] = []
        for key, disconnect in self.disconnected.pop(container.id, []):
            node = self.plan.add(
                Op.CONNECT_NETWORK,
                self._resource(container),
                f"network {key} recreated",
                [disconnect, self.network_nodes[key], *(deps or [])],
                service=container.service,
                number=container.number,
                container=name or container.name,
                container_id=container.id,
                network=self._network_ref(key),
                network_key=key,
            )
            nodes.append(node.id)
        return nodes

    def _volumes(self) -> None:
        keys: set[str] = set()
        for name in self.scope:
            if self._replicas(name) > 0:
                keys.update(service_volume_keys(self.project, self.project.services[name]))
        for key in sorted(keys):
            volume: Volume = self.project.volumes[key]
            name = volume_name(self.project.name, key, volume)
            found: ObservedVolume | None = next((v for v in self.observed.volumes if v.name == name), None)
            if volume.external:
                if found is None:
                    raise ResourceNotFoundError(
                        f"volume {name} is declared as external (volumes.{key}) but does not exist",
                        hint=f"create it first (docker volume create {name}) or remove `external: true`",
                    )
                continue
            if found is None:
                node = self.plan.add(
                    Op.CREATE_VOLUME,
                    f"volume:{key}",
                    "missing",
                    key=key,
                    name=name,
                    driver=volume.driver,
                    driver_opts=dict(volume.driver_opts or {}),
                    labels=L.volume_labels(self.project.name, key, volume.labels),
                )
                self.volume_nodes[key] = node.id
            elif not L.is_owned(found.labels, self.project.name):
                self.plan.warnings.append(
                    f"volume {name} exists but stack did not create it for project {self.project.name}:"
                    " using it as it is, and `down -v` leaves it (declare it `external: true` to say so)"
                )

    # ---- images ------------------------------------------------------------------------------

    def _images(self) -> None:
        for name in sorted(self.scope):
            svc = self.project.services[name]
            if self._replicas(name) == 0:
                continue
            ref = service_image(self.project.name, name, svc)
            if ref in self.image_nodes:
                continue
            present = self.observed.images.get(ref) is not None
            pull = service_pull_policy(name, svc)
            op: Op | None = None
            cause = ""
            if svc.build is not None and (pull.kind == "build" or self.options.build == "always"):
                op, cause = (
                    Op.BUILD_IMAGE,
                    "--build" if self.options.build == "always" else "pull_policy: build",
                )
            elif svc.build is None and pull.kind == "always":
                op, cause = Op.PULL_IMAGE, "pull_policy: always"
            elif svc.build is None and present and pull.kind == "refresh":
                # Compose's mustPull: stale once the window has passed since the daemon last
                # tagged the image (stack's pulls stamp that time; see stack.engine.registry).
                tagged = self.observed.image_tagged.get(ref, 0.0)
                if is_stale(pull, tagged, self.observed.observed_at):
                    op, cause = Op.PULL_IMAGE, stale_cause(pull, tagged, self.observed.observed_at)
            elif not present:
                if svc.build is not None and self.options.build != "never":
                    op, cause = Op.BUILD_IMAGE, "image not found"
                elif pull.kind == "never":
                    raise ResourceNotFoundError(
                        f"service {name}: image {ref} is not on the daemon and pull_policy is never",
                        hint=f"build or load the image first, or change services.{name}.pull_policy",
                    )
                else:
                    op, cause = Op.PULL_IMAGE, "image not found"
            if op is None:
                continue
            args: dict[str, Any] = {"image": ref, "service": name}
            if op is Op.BUILD_IMAGE:
                args["labels"] = L.build_labels(self.project.name, name)
            node = self.plan.add(op, f"image:{ref}", cause, **args)
            self.image_nodes[ref] = node.id
            self.rebuilt[ref] = "image rebuilt" if op is Op.BUILD_IMAGE else "image pulled"

    # ---- services ----------------------------------------------------------------------------

    def _service(self, name: str) -> None:
        svc = self.project.services[name]
        state = _ServiceState()
        self.services[name] = state
        ref = service_image(self.project.name, name, svc)
        config_hash = service_config_hash(svc)
        containers = self.observed.service_containers(name)
        desired = self._replicas(name)

        reasons = {c.id: self._recreate_reason(name, svc, c, ref, config_hash) for c in containers}
        # Two containers with one number: what an interrupted recreate leaves behind (the
        # new one under its temporary name).  Keep the best one, remove the others first.
        renamed_after: dict[int, list[int]] = {}
        by_number: dict[int, list[ObservedContainer]] = {}
        for c in containers:
            by_number.setdefault(c.number, []).append(c)
        for number, group in sorted(by_number.items()):
            if len(group) < 2:
                continue
            final = service_container_name(self.project.name, name, svc, number)
            keeper = min(group, key=lambda c: (reasons[c.id] is not None, c.name != final, -c.created, c.name))
            for c in sorted(group, key=lambda c: c.name):
                if c is not keeper:
                    cause = f"duplicate of replica {number} (left by an interrupted recreate)"
                    renamed_after.setdefault(number, []).append(self._remove(c, cause))
            containers = [c for c in containers if c.number != number or c is keeper]

        # Scale down: out-of-date replicas go first, then the highest numbers.
        by_removal = sorted(containers, key=lambda c: (reasons[c.id] is None, -c.number, c.name))
        excess = max(0, len(containers) - desired)
        removed = by_removal[:excess]
        kept = sorted(by_removal[excess:], key=lambda c: (c.number, c.name))
        for container in sorted(removed, key=lambda c: (c.number, c.name)):
            why = reasons[container.id]
            cause = f"scale down to {desired}" + (f", out of date ({why})" if why else "")
            self._remove(container, cause)

        create_deps = self._create_deps(name, svc, ref)
        restart = self._restart_cause(name)
        outdated = [(c, why) for c in kept if (why := reasons[c.id]) is not None]
        policy = update_policy(svc) if not self.options.no_start else None
        if policy is not None and outdated:
            Rollout(self, name, svc, policy, config_hash, ref, state).run(outdated, create_deps, renamed_after)
        for container in kept:
            why = reasons[container.id]
            if why is not None:
                if policy is not None:
                    continue  # rolled above
                # After the duplicates are gone: one may hold the temporary name.
                deps = [*create_deps, *renamed_after.get(container.number, [])]
                self._replace(name, svc, container, why, config_hash, ref, deps, state)
                continue
            number = container.number
            resource = f"service:{name}:{number}"
            current_name = container.name
            before: list[int] = []
            final = service_container_name(self.project.name, name, svc, number)
            if current_name != final:
                rename = self.plan.add(
                    Op.RENAME_CONTAINER,
                    resource,
                    "named by an interrupted recreate",
                    renamed_after.get(number, []),
                    service=name,
                    number=number,
                    container=current_name,
                    container_id=container.id,
                    new_name=final,
                )
                before, current_name = [rename.id], final
                state.ready_nodes.append(rename.id)
            state.replicas[number] = current_name
            state.running = True
            cause = ""
            if container.id in self.disconnected:
                cause = f"network {', '.join(key for key, _ in self.disconnected[container.id])} recreated"
                before += self._reconnect(container, current_name, before)
            elif not container.running:
                cause = "container is stopped"
            before += self._connect_missing(name, svc, container, current_name, before)
            if self.options.no_start:
                continue
            if cause:
                state.start_nodes.append(self._start(name, svc, number, current_name, before, cause))
            elif restart is not None:
                node = self.plan.add(
                    Op.RESTART_CONTAINER,
                    resource,
                    restart,
                    [*before, *self._waits(name, only_restart=True)],
                    service=name,
                    number=number,
                    container=current_name,
                    timeout=stop_timeout(svc, self.options.timeout),
                )
                state.start_nodes.append(node.id)

        highest = max((c.number for c in containers), default=0)
        fresh_deps = [*create_deps, *self._dependency_creates(name)]
        for number in range(highest + 1, highest + 1 + max(0, desired - len(containers))):
            cause = "no existing container" if not containers else f"scale up to {desired}"
            self._fresh(name, svc, number, cause, config_hash, ref, fresh_deps, state)

    def _recreate_reason(
        self, name: str, svc: Service, container: ObservedContainer, ref: str, config_hash: str
    ) -> str | None:
        """Why `container` must be replaced, or None when it is current."""
        if self.options.no_recreate:
            return None
        if self.options.force_recreate and (not self.options.services or name in self.options.services):
            # As Compose: dependencies pulled in by the selection are only recreated when diverged.
            return "--force-recreate"
        if container.state == "dead":
            return "container is dead"
        if container.config_hash != config_hash:
            return "config changed" if container.config_hash else "no config hash label"
        if ref in self.rebuilt:
            return self.rebuilt[ref]
        image_id = self.observed.images.get(ref)
        if image_id is not None and container.image_id and container.image_id != image_id:
            return "image changed"
        for provider in self._container_sources(svc):
            if self.services.get(provider, _ServiceState()).recreated:
                # Its namespaces or volumes point at the old container, which is going away.
                return f"service {provider} recreated"
        return None

    @staticmethod
    def _namespace_modes(svc: Service) -> dict[str, str]:
        """`network_mode`/`ipc`/`pid` of the `service:x` form -> x."""
        modes = {"network_mode": svc.network_mode, "ipc": svc.ipc, "pid": svc.pid}
        return {k: p for k, v in modes.items() if (p := service_reference(v)) is not None}

    def _restart_cause(self, name: str) -> str | None:
        for dep, edge in sorted(self.project.services[name].depends_on.items()):
            if edge.restart and dep in self.services and self.services[dep].recreated:
                return f"dependency {dep} recreated (restart: true)"
        return None

    def _create_deps(self, name: str, svc: Service, ref: str) -> list[int]:
        deps = [self.network_nodes[k] for k in service_networks(svc) if k in self.network_nodes]
        deps += [self.volume_nodes[k] for k in service_volume_keys(self.project, svc) if k in self.volume_nodes]
        if ref in self.image_nodes:
            deps.append(self.image_nodes[ref])
        for other in self._container_sources(svc):
            if other in self.services:
                deps += self.services[other].ready_nodes
        return deps

    def _dependency_creates(self, name: str) -> list[int]:
        """New containers are created in dependency order, as Compose creates them.

        Not needed for correctness (starts wait on the dependencies anyway) but for latency: the
        daemon serves parallel creates more slowly (10 at once: ~60 ms each, one alone: ~20 ms),
        and the dependencies' creates are the ones whose starts come first.
        """
        nodes: list[int] = []
        for dep in sorted(self.project.services[name].depends_on):
            if dep in self.scope_set and dep in self.services:
                nodes += self.services[dep].fresh_creates
        return nodes

    def _container_sources(self, svc: Service) -> list[str]:
        found = set(self._namespace_modes(svc).values())
        found |= {e.split(":", 1)[0] for e in volumes_from(svc) if not e.startswith("container:")}
        return sorted(found & set(self.project.services))

    def _create_args(
        self,
        name: str,
        svc: Service,
        number: int,
        create_name: str,
        final_name: str,
        config_hash: str,
        ref: str,
    ) -> dict[str, Any]:
        networks = [{"key": k, "name": self._network_ref(k)} for k in service_networks(svc)]
        volumes = {
            k: volume_name(self.project.name, k, self.project.volumes[k])
            for k in service_volume_keys(self.project, svc)
        }
        args: dict[str, Any] = {
            "service": name,
            "number": number,
            "name": create_name,
            "final_name": final_name,
            "image": ref,
            "config_hash": config_hash,
            "labels": L.container_labels(self.project, name, number, config_hash, image=ref),
            "networks": networks,
            "volumes": volumes,
            "inherit_volumes_from": None,
        }
        for mode, provider in sorted(self._namespace_modes(svc).items()):
            args[mode] = f"container:{self._first_container(provider)}"
        sources = []
        for entry in volumes_from(svc):
            if entry.startswith("container:"):
                sources.append(entry.removeprefix("container:"))
                continue
            source, _, mode = entry.partition(":")
            target = self._first_container(source) if source in self.project.services else source
            sources.append(f"{target}:{mode}" if mode else target)
        if sources:
            args["volumes_from"] = sources
        return args

    def _first_container(self, service: str) -> str:
        replicas = self.services[service].replicas if service in self.services else {}
        if replicas:
            return replicas[min(replicas)]
        existing = self.observed.service_containers(service)
        if existing:
            return existing[0].name
        return service_container_name(self.project.name, service, self.project.services[service], 1)

    def _connects(
        self, name: str, number: int, container: str, svc: Service, deps: list[int], **extra: Any
    ) -> list[int]:
        nodes = []
        for key in service_networks(svc)[1:]:
            node = self.plan.add(
                Op.CONNECT_NETWORK,
                f"service:{name}:{number}",
                f"joins network {key}",
                deps,
                service=name,
                number=number,
                container=container,
                network=self._network_ref(key),
                network_key=key,
                **extra,
            )
            nodes.append(node.id)
        return nodes

    def _fresh(
        self,
        name: str,
        svc: Service,
        number: int,
        cause: str,
        config_hash: str,
        ref: str,
        create_deps: list[int],
        state: _ServiceState,
    ) -> None:
        final = service_container_name(self.project.name, name, svc, number)
        args = self._create_args(name, svc, number, final, final, config_hash, ref)
        create = self.plan.add(Op.CREATE_CONTAINER, f"service:{name}:{number}", cause, create_deps, **args)
        connects = self._connects(name, number, final, svc, [create.id])
        state.ready_nodes.append(create.id)
        state.fresh_creates.append(create.id)
        state.replicas[number] = final
        state.running = True
        if not self.options.no_start:
            state.start_nodes.append(self._start(name, svc, number, final, [create.id, *connects], cause))

    def _replace(
        self,
        name: str,
        svc: Service,
        old: ObservedContainer,
        cause: str,
        config_hash: str,
        ref: str,
        create_deps: list[int],
        state: _ServiceState,
    ) -> None:
        number = old.number
        final = service_container_name(self.project.name, name, svc, number)
        temp = temporary_container_name(old.id, final)
        resource = f"service:{name}:{number}"
        args = self._create_args(name, svc, number, temp, final, config_hash, ref)
        if not self.options.renew_anon_volumes:
            args["inherit_volumes_from"] = old.id
        create = self.plan.add(Op.CREATE_CONTAINER, resource, f"recreate: {cause}", create_deps, **args)
        stop = self._stop(old, f"recreate: {cause}", [create.id])
        remove = self.plan.add(
            Op.REMOVE_CONTAINER,
            resource,
            f"recreate: {cause}",
            [create.id, *([stop] if stop else []), *self.released.get(old.id, [])],
            service=name,
            number=number,
            container=old.name,
            container_id=old.id,
            remove_volumes=False,
        )
        rename = self.plan.add(
            Op.RENAME_CONTAINER,
            resource,
            f"recreate: {cause}",
            [create.id, remove.id],
            service=name,
            number=number,
            container=temp,
            new_name=final,
        )
        connects = self._connects(name, number, final, svc, [rename.id])
        state.ready_nodes.append(rename.id)
        state.replicas[number] = final
        state.recreated = True
        state.running = True
        if not self.options.no_start:
            state.start_nodes.append(
                self._start(name, svc, number, final, [rename.id, *connects], f"recreate: {cause}")
            )

    def _connect_missing(
        self, name: str, svc: Service, container: ObservedContainer, current_name: str, deps: list[int]
    ) -> list[int]:
        """Connect a current container to the project networks it lacks (e.g. a replacement
        left unconnected by an interrupted recreate)."""
        nodes: list[int] = []
        for key in service_networks(svc):
            if self._joined(container, key):
                continue
            node = self.plan.add(
                Op.CONNECT_NETWORK,
                f"service:{name}:{container.number}",
                f"not connected to network {key}",
                [*deps, *([self.network_nodes[key]] if key in self.network_nodes else [])],
                service=name,
                number=container.number,
                container=current_name,
                container_id=container.id,
                network=self._network_ref(key),
                network_key=key,
            )
            nodes.append(node.id)
        return nodes

    def _start(self, name: str, svc: Service, number: int, container: str, deps: list[int], cause: str) -> int:
        node = self.plan.add(
            Op.START_CONTAINER,
            f"service:{name}:{number}",
            cause,
            [*deps, *self._waits(name), *self._namespace_starts(name, svc)],
            service=name,
            number=number,
            container=container,
        )
        return node.id

    def _namespace_starts(self, name: str, svc: Service) -> list[int]:
        """Joining another container's namespaces needs it running: wait for its start even
        when the loader did not turn `service:x` into a depends_on edge."""
        nodes: list[int] = []
        for provider in sorted(set(self._namespace_modes(svc).values())):
            if provider not in svc.depends_on and provider in self.services:
                nodes += self.services[provider].start_nodes
        return nodes

    def _waits(self, name: str, *, only_restart: bool = False) -> list[int]:
        """One WaitCondition node per depends_on edge of `name` (cached per edge)."""
        nodes: list[int] = []
        for dep, edge in sorted(self.project.services[name].depends_on.items()):
            if only_restart and not edge.restart:
                continue
            if dep not in self.scope_set or dep not in self.services:
                continue  # --no-deps, or an optional dependency that is not enabled
            dep_state = self.services[dep]
            if not dep_state.running:
                continue  # scaled to zero: nothing to wait for
            key = (name, dep)
            cached = self._wait_cache.get(key)
            if cached is None:
                timeout = self.options.wait_timeout
                if timeout is None and edge.condition == "service_healthy":
                    timeout = _health_bound(self.project.services[dep])
                node = self.plan.add(
                    Op.WAIT_CONDITION,
                    f"service:{dep}",
                    f"{name} depends on {dep} ({edge.condition})",
                    dep_state.start_nodes,
                    service=dep,
                    dependent=name,
                    condition=edge.condition,
                    required=edge.required,
                    timeout=timeout,
                    containers=[dep_state.replicas[n] for n in sorted(dep_state.replicas)],
                )
                cached = self._wait_cache[key] = node.id
            nodes.append(cached)
        return nodes

    # ---- removal -----------------------------------------------------------------------------

    def _stop(self, container: ObservedContainer, cause: str, deps: list[int] | None = None) -> int | None:
        """Stop a running container once; the node id, or None when it is not running."""
        if not container.running or container.id in self.stopped:
            return None
        node = self.plan.add(
            Op.STOP_CONTAINER,
            self._resource(container),
            cause,
            deps,
            service=container.service,
            number=container.number,
            container=container.name,
            container_id=container.id,
            timeout=stop_timeout(self._definition(container.service), self.options.timeout),
        )
        self.stopped.add(container.id)
        self.released.setdefault(container.id, []).append(node.id)
        return node.id

    def _remove(self, container: ObservedContainer, cause: str) -> int:
        self._stop(container, cause)
        return self.plan.add(
            Op.REMOVE_CONTAINER,
            self._resource(container),
            cause,
            self.released.get(container.id, []),
            service=container.service,
            number=container.number,
            container=container.name,
            container_id=container.id,
            remove_volumes=False,
        ).id

    def _definition(self, service: str) -> Service | None:
        return self.project.services.get(service) or self.project.disabled_services.get(service)

    @staticmethod
    def _resource(container: ObservedContainer) -> str:
        if container.one_off:
            return f"service:{container.service}:{container.name}"
        return f"service:{container.service}:{container.number}"

    @staticmethod
    def _sorted_containers(containers: tuple[ObservedContainer, ...]) -> list[ObservedContainer]:
        return sorted(containers, key=lambda c: (c.service, c.one_off, c.number, c.name))

    def _orphans(self) -> None:
        known = self._known_services()
        orphans = [
            c for c in self._sorted_containers(self.observed.containers) if not c.one_off and c.service not in known
        ]
        if not orphans:
            return
        if not self.options.remove_orphans:
            names = ", ".join(c.name for c in orphans)
            self.plan.warnings.append(
                f"found orphan containers ({names}) for project {self.project.name}: their services are "
                "no longer in the stack file; run up with --remove-orphans to remove them"
            )
            return
        for container in orphans:
            self._remove(container, "orphan (service no longer in the stack file)")


def plan_up(project: Project, observed: ObservedState, options: UpOptions | None = None) -> Plan:
    """Everything `up` must do to make the daemon match `project`; empty when it already does.

    In one pass, a service whose image this plan builds or pulls has its containers recreated
    (the new image id cannot be known before).  For Compose's exact behaviour (recreate only
    when the id changed), run `plan_images` first, observe again, then call this with
    `images_ready=True`.
    """
    return _UpPlanner(project, observed, options or UpOptions()).run()


def parse_publish(spec: str) -> Port:
    """`run -p [[HOST_IP:]HOST_PORT:]CONTAINER_PORT[/PROTOCOL]` (one port) as a Port."""
    body, _, protocol = spec.partition("/")
    parts = body.rsplit(":", 2)
    host_ip = parts[0].strip("[]") if len(parts) == 3 else None
    published = parts[-2] if len(parts) >= 2 else None
    target = parts[-1]
    if not target.isdigit() or (published and not published.isdigit()):
        raise UsageError(
            f"invalid --publish {spec!r}", hint="use [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL], e.g. 8080:80"
        )
    return Port(target=int(target), published=published or None, host_ip=host_ip or None, protocol=protocol or "tcp")


def oneoff_definition(service: Service, options: RunOptions) -> Service:
    """The service as `stack run` runs it: its command, environment, user... overridden; no
    restart policy, replicas or fixed name; ports only when asked (`--service-ports`, `-p`)."""
    ports: list[Port] = list(service.ports) if options.service_ports else []
    ports += [parse_publish(p) for p in options.publish]
    update: dict[str, Any] = {"ports": ports, "restart": None, "deploy": None, "scale": None, "container_name": None}
    update["tty"] = options.tty
    update["stdin_open"] = not options.detach
    if options.command is not None:
        update["command"] = options.command
    if options.entrypoint is not None:
        update["entrypoint"] = options.entrypoint
    if options.env:
        update["environment"] = {**service.environment, **options.env}
    if options.user:
        update["user"] = options.user
    if options.workdir:
        update["working_dir"] = options.workdir
    return service.model_copy(update=update)


def plan_run(project: Project, observed: ObservedState, service: str, options: RunOptions, name: str) -> Plan:
    """What `stack run` needs: the networks and volumes of `service` (created when missing, as
    `up` creates them) and its one-off container `name`, whose only network alias is its own
    name (the service's name keeps pointing at the service's replicas).  A service disabled by
    its profiles may be run too; its image is built or pulled when missing.  Its dependencies
    are `up`'s business, before this."""
    original = project.services.get(service) or project.disabled_services.get(service)
    if original is None:
        raise unknown_service(service, {**project.services, **project.disabled_services})
    definition = oneoff_definition(original, options)
    definition.name = service
    view = project.model_copy(update={"services": {**project.services, service: definition}})
    planner = _UpPlanner(view, observed, UpOptions(services=[service], no_deps=True))
    planner._networks()
    planner._volumes()
    planner._images()
    ref = service_image(project.name, service, original)
    args = planner._create_args(service, definition, 1, name, name, service_config_hash(original), ref)
    args["labels"] = {**L.container_labels(project, service, 1, args["config_hash"], oneoff=True), **options.labels}
    create_deps = planner._create_deps(service, definition, ref)
    create = planner.plan.add(
        Op.CREATE_CONTAINER,
        f"service:{service}:{name}",
        "stack run",
        create_deps,
        **args,
        definition=definition,
        aliases=[name],
        interactive=not options.detach,
    )
    planner._connects(service, 1, name, definition, [create.id], aliases=[name])
    return planner.plan


def plan_images(
    project: Project, observed: ObservedState, options: UpOptions | None = None, *, for_up: bool = True
) -> Plan:
    """Only the BuildImage/PullImage nodes `up` needs (the first phase of a two-phase up).

    `for_up`: also refuse, before building, what `up` could not run here (replicas of one fixed
    host port, ...); a plain build (`stack build`, a Swarm deploy's) has nothing to run."""
    planner = _UpPlanner(project, observed, options or UpOptions())
    planner._check_flags()
    if for_up:
        planner._check_runnable()
    planner._images()
    return planner.plan


# ---- down ----------------------------------------------------------------------------------------


def plan_down(observed: ObservedState, options: DownOptions | None = None, project: Project | None = None) -> Plan:
    """Stop and remove what belongs to the project, from labels alone when `project` is None.

    With a project: dependents stop before their dependencies; orphans are only removed with
    `--remove-orphans`; only volumes declared in the file are removed (with -v).  External
    networks and volumes are never removed; neither is anything without our project label.
    """
    options = options or DownOptions()
    plan = Plan()
    name = observed.project
    containers = sorted(observed.containers, key=lambda c: (c.service, c.one_off, c.number, c.name))
    known: set[str] | None = None
    every: dict[str, Service] = {}
    if project is not None:
        every = {**project.disabled_services, **project.services}
        known = set(every)

    kept: list[ObservedContainer] = []
    if known is not None and not options.remove_orphans:
        orphans = [c for c in containers if c.service not in known]
        if orphans:
            plan.warnings.append(
                f"found orphan containers ({', '.join(c.name for c in orphans)}) for project {name}: "
                "left alone; run down with --remove-orphans to remove them too"
            )
            kept = orphans
            containers = [c for c in containers if c.service in known]

    def resource(c: ObservedContainer) -> str:
        return f"service:{c.service}:{c.name}" if c.one_off else f"service:{c.service}:{c.number}"

    graph = observed_graph(containers, every)
    # Stop in reverse dependency order: a service stops after everything that depends on it.
    order = graph.topological_order()
    rank = {svc: i for i, svc in enumerate(order)}
    containers.sort(key=lambda c: (-rank.get(c.service, -1), c.service, c.one_off, c.number, c.name))
    stops: dict[str, list[int]] = {}
    removals: list[int] = []
    for c in containers:
        deps: list[int] = []
        if c.service in rank:
            for dependent in graph.dependents(c.service):
                deps += stops.get(dependent, [])
        stop_id: int | None = None
        if c.running:
            stop_id = plan.add(
                Op.STOP_CONTAINER,
                resource(c),
                "down",
                deps,
                service=c.service,
                number=c.number,
                container=c.name,
                container_id=c.id,
                timeout=stop_timeout(every.get(c.service), options.timeout),
            ).id
            stops.setdefault(c.service, []).append(stop_id)
        removals.append(
            plan.add(
                Op.REMOVE_CONTAINER,
                resource(c),
                "down",
                [stop_id] if stop_id else deps,
                service=c.service,
                number=c.number,
                container=c.name,
                container_id=c.id,
                remove_volumes=options.remove_volumes,
            ).id
        )

    busy = {net for c in kept for net in c.networks}
    for network in sorted(observed.networks, key=lambda n: n.name):
        if not L.is_owned(network.labels, name):
            continue
        declared = project.networks.get(network.key) if project is not None else None
        if declared is not None and declared.external:
            continue
        if network.name in busy:
            plan.warnings.append(f"network {network.name} is kept: orphan containers still use it")
            continue
        plan.add(
            Op.REMOVE_NETWORK,
            f"network:{network.key or network.name}",
            "down",
            removals,
            key=network.key,
            name=network.name,
            id=network.id,
        )

    if options.remove_volumes:
        # Anonymous volumes a container took over in a recreate are mounted by name: the daemon
        # does not remove them with the container, so they are removed here, once unused.
        inherited = sorted({v for c in containers for v in c.labels.get(L.INHERITED_VOLUMES, "").split(",") if v})
        for anonymous in inherited:
            plan.add(
                Op.REMOVE_VOLUME,
                f"volume:{anonymous}",
                "down -v (anonymous, carried over by a recreate)",
                removals,
                name=anonymous,
                if_unused=True,
            )
        for volume in sorted(observed.volumes, key=lambda v: v.name):
            if not L.is_owned(volume.labels, name):
                continue
            if project is not None:
                declared_volume = project.volumes.get(volume.key)
                if declared_volume is None or declared_volume.external:
                    continue
            plan.add(
                Op.REMOVE_VOLUME,
                f"volume:{volume.key or volume.name}",
                "down -v",
                removals,
                key=volume.key,
                name=volume.name,
            )

    if options.rmi is not None:
        for ref in _images_to_remove(observed, options, project):
            plan.add(Op.REMOVE_IMAGE, f"image:{ref}", f"down --rmi {options.rmi}", removals, image=ref)
    return plan


def _images_to_remove(observed: ObservedState, options: DownOptions, project: Project | None) -> list[str]:
    refs: set[str] = set()
    if project is not None:
        for svc_name, svc in {**project.disabled_services, **project.services}.items():
            if options.rmi == "all" or not svc.image:
                refs.add(service_image(project.name, svc_name, svc))
    else:
        for c in observed.containers:
            ref = c.labels.get(L.IMAGE)
            if not ref:
                continue
            if options.rmi == "all" or ref == default_image_name(observed.project, c.service):
                refs.add(ref)
    # Skip what the engine looked up and found absent.
    return sorted(r for r in refs if not (r in observed.images and observed.images[r] is None))
