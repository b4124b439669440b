"""The stack model as Docker Swarm objects: a pure translation, no daemon.

`translate(project)` gives a `SwarmStack`: the Engine API bodies of the overlay networks,
secrets, configs and services a deploy creates (services in the one dependency order of
`stack.plan.graph`), and the keys of the stack file Swarm cannot honour, each with the file and
line it was written at, so that a deploy lists them before it changes anything.

Naming and ownership:
- services `{project}_{service}`, networks their loader name (`{project}_{key}` or `name:`),
  volumes `{project}_{key}` (created on each node by the daemon from the mount's options);
- secrets and configs `{name}_{digest}`, the digest of their content: a changed value is a new
  object, so the services using it roll, instead of Swarm refusing to change a secret in use;
- everything carries our own swarm labels (`dev.stack.swarm.*`, not the container labels of
  `up`, so `stack down` and `stack swarm rm` never take each other's objects); services also
  carry the hash of the spec we sent (`dev.stack.config-hash`): an equal hash on re-deploy means
  nothing to change, and no task restarts.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from stack import __version__
from stack.convert.data import content_of
from stack.convert.unsupported import UnconvertibleKeysError, Unsupported, is_set, located, project_error
from stack.plan import labels as L
from stack.plan.graph import ServiceGraph
from stack.plan.naming import network_name, volume_name
from stack.spec.models import Project, SecretOrConfig, Service
from stack.spec.sourcemap import KeyPath, SourceMap
from stack.spec.units import byte_size, parse_duration_ns
from stack.spec.update_policy import PolicyProblem, UpdatePolicy, read_policy, rollback_policy

__all__ = [
    "SWARM_CONFIG",
    "SWARM_NETWORK",
    "SWARM_PROJECT",
    "SWARM_SECRET",
    "SWARM_SERVICE",
    "TEMPLATE_HASH",
    "DataObject",
    "NetworkObject",
    "ServiceObject",
    "SwarmStack",
    "Unsupported",
    "UnsupportedKeysError",
    "has_registry",
    "object_labels",
    "owned_filter",
    "spec_hash",
    "template_hash",
    "translate",
]

SWARM_PREFIX = L.PREFIX + "swarm."
SWARM_PROJECT = SWARM_PREFIX + "project"  # on every swarm object we create: the proof of ownership
SWARM_SERVICE = SWARM_PREFIX + "service"  # the stack-file key of a service
SWARM_NETWORK = SWARM_PREFIX + "network"
SWARM_SECRET = SWARM_PREFIX + "secret"
SWARM_CONFIG = SWARM_PREFIX + "config"
SWARM_IMAGE_ID = SWARM_PREFIX + "image-id"  # on the container spec: a rebuilt image rolls the service
SWARM_IMAGE = SWARM_PREFIX + "image"  # on the container spec: the reference of an image run by id
DEPENDS_ON = SWARM_PREFIX + "depends-on"
TEMPLATE_HASH = SWARM_PREFIX + "template-hash"  # on the container spec: which spec a task runs

Condition = Literal["service_started", "service_healthy", "service_completed_successfully"]

_DIGEST_CHARS = 12
_MAX_NAME = 64  # Swarm's limit on object names


def has_registry(image: str) -> bool:
    """Whether an image reference names a registry (`registry.example:5000/app`, `localhost/app`)."""
    first, sep, _ = image.partition("/")
    return bool(sep) and ("." in first or ":" in first or first == "localhost")


def object_labels(project: str, kind_label: str, key: str, own: Mapping[str, str] | None = None) -> dict[str, str]:
    """Labels of a swarm object of ours: its own `labels:`, then ours (ours win)."""
    labels = dict(own or {})
    labels.update({SWARM_PROJECT: project, kind_label: key, L.VERSION: __version__})
    return labels


def owned_filter(project: str) -> dict[str, list[str]]:
    """Engine API list filter selecting the swarm objects of `project`."""
    return {"label": [f"{SWARM_PROJECT}={project}"]}


def template_hash(task_template: Mapping[str, Any]) -> str:
    """sha256 of a task template (without its own hash label)."""
    body = copy.deepcopy(dict(task_template))
    body.get("ContainerSpec", {}).get("Labels", {}).pop(TEMPLATE_HASH, None)
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def spec_hash(spec: Mapping[str, Any]) -> str:
    """sha256 of a spec body (without its own hash label)."""
    body = copy.deepcopy(dict(spec))
    body.get("Labels", {}).pop(L.CONFIG_HASH, None)
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


class UnsupportedKeysError(UnconvertibleKeysError):
    """`--strict`: the stack file has keys Swarm cannot honour (exit 2), listed one a line."""

    def __init__(self, problems: list[Unsupported]) -> None:
        super().__init__(
            problems, target="Swarm", hint="remove them, or deploy without --strict to go on with a warning"
        )


@dataclass(frozen=True)
class NetworkObject:
    key: str
    name: str
    external: bool
    body: dict[str, Any]  # POST /networks/create (without Name)


@dataclass(frozen=True)
class DataObject:
    """A secret or a config: `name` carries the digest of `data` unless external."""

    kind: Literal["secret", "config"]
    key: str
    name: str
    external: bool
    body: dict[str, Any]  # POST /secrets/create or /configs/create: Name, Labels, Data (base64)


@dataclass(frozen=True)
class ServiceObject:
    key: str
    name: str
    image: str
    build: bool  # the image comes from `build:`
    spec: dict[str, Any]  # POST /services/create; SecretID/ConfigID filled in at deploy
    config_hash: str
    depends_on: dict[str, Condition] = field(default_factory=dict)
    replicas: int | None = None  # None: global mode
    healthcheck: bool = False


@dataclass
class SwarmStack:
    project: str
    networks: list[NetworkObject] = field(default_factory=list)
    secrets: list[DataObject] = field(default_factory=list)
    configs: list[DataObject] = field(default_factory=list)
    services: list[ServiceObject] = field(default_factory=list)  # in dependency order
    unsupported: list[Unsupported] = field(default_factory=list)

    def service(self, key: str) -> ServiceObject:
        return next(s for s in self.services if s.key == key)

    def render(self) -> str:
        """One line per object, then the specs: what golden tests compare."""
        lines = [f"project {self.project}"]
        for net in self.networks:
            lines.append(f"network {net.key} -> {net.name}{' (external)' if net.external else ''}")
        for obj in [*self.secrets, *self.configs]:
            lines.append(f"{obj.kind} {obj.key} -> {obj.name}{' (external)' if obj.external else ''}")
        for svc in self.services:
            needs = ", ".join(f"{k}:{v}" for k, v in svc.depends_on.items())
            lines.append(f"service {svc.key} -> {svc.name}" + (f" after [{needs}]" if needs else ""))
        for problem in self.unsupported:
            lines.append(f"unsupported {problem.render()}")
        for svc in self.services:
            lines.append(f"--- {svc.name}")
            lines.append(json.dumps(svc.spec, indent=1, sort_keys=True))
        return "\n".join(lines) + "\n"


# -- keys Swarm cannot honour ------------------------------------------------------------------

# service key -> why (and what to use instead)
_SERVICE_KEYS: dict[str, str] = {
    "container_name": "Swarm names containers itself",
    "restart": "Swarm ignores it: use deploy.restart_policy",
    "links": "not supported by Swarm: services reach each other by name on a shared network",
    "external_links": "not supported by Swarm",
    "network_mode": "not supported by Swarm: use networks",
    "volumes_from": "not supported by Swarm",
    "privileged": "Swarm cannot run privileged containers",
    "devices": "Swarm cannot map devices",
    "security_opt": "not supported by Swarm",
    "userns_mode": "not supported by Swarm",
    "ipc": "not supported by Swarm",
    "pid": "not supported by Swarm",
    "cgroup_parent": "not supported by Swarm",
    "mac_address": "not supported by Swarm",
    "oom_score_adj": "not supported by Swarm",
    "shm_size": "not supported by Swarm",
    "runtime": "not supported by Swarm",
    "pull_policy": "Swarm pulls as its nodes need",
    "cpus": "ignored by Swarm: use deploy.resources.limits.cpus",
    "mem_limit": "ignored by Swarm: use deploy.resources.limits.memory",
    "mem_reservation": "ignored by Swarm: use deploy.resources.reservations.memory",
    "pids_limit": "ignored by Swarm: use deploy.resources.limits.pids",
    "platform": "ignored by Swarm: use deploy.placement.constraints (node.platform.os/arch)",
    "develop": "ignored by Swarm (`stack watch` acts on containers of `up`)",
    "provider": "Swarm cannot run provider services",
}
_NETWORK_ENDPOINT_KEYS = ("ipv4_address", "ipv6_address", "link_local_ips", "mac_address", "priority", "gw_priority")


_located = located
_is_set = is_set


def _unsupported_of(project: Project, key: str, service: Service) -> list[Unsupported]:
    smap: SourceMap | None = project.source_map
    base: KeyPath = ("services", key)
    found = [_located(smap, (*base, k), why) for k, why in _SERVICE_KEYS.items() if _is_set(service, k)]
    for port_index, port in enumerate(service.ports):
        if port.host_ip:
            found.append(
                _located(smap, (*base, "ports", port_index), "Swarm publishes on every address: host_ip is ignored")
            )
        if port.published and "-" in port.published:
            found.append(_located(smap, (*base, "ports", port_index), "Swarm cannot publish a range of ports"))
    endpoint_mode = service.deploy.endpoint_mode if service.deploy else None
    if endpoint_mode == "dnsrr" and any(p.mode == "ingress" and p.published for p in service.ports):
        found.append(
            _located(
                smap, (*base, "ports"), "ingress ports need endpoint_mode vip: publish with mode: host under dnsrr"
            )
        )
    for net_key, attachment in service.networks.items():
        if attachment is None:
            continue
        for k in _NETWORK_ENDPOINT_KEYS:
            if getattr(attachment, k, None) is not None:
                found.append(_located(smap, (*base, "networks", net_key, k), "not supported by Swarm"))
    for dep, edge in service.depends_on.items():
        if edge.condition == "service_completed_successfully":
            found.append(
                _located(
                    smap,
                    (*base, "depends_on", dep, "condition"),
                    "Swarm restarts finished tasks: the deploy waits only until the dependency runs",
                )
            )
    if service.healthcheck is not None and service.healthcheck.start_interval is not None:
        found.append(
            _located(smap, (*base, "healthcheck", "start_interval"), "needs Engine API 1.44; ignored by Swarm here")
        )
    for index, mount in enumerate(service.volumes):
        if mount.type not in ("volume", "bind", "tmpfs"):
            found.append(_located(smap, (*base, "volumes", index), f"Swarm cannot mount a {mount.type}"))
        elif mount.type == "bind":
            found.append(
                _located(
                    smap,
                    (*base, "volumes", index),
                    "a bind mount needs the path on every node a task may run on (Swarm does not create it)",
                )
            )
    deploy = service.deploy
    reservations = deploy.resources.reservations if deploy is not None and deploy.resources is not None else None
    if reservations is not None and (reservations.model_extra or {}).get("devices"):
        path: KeyPath = (*base, "deploy", "resources", "reservations", "devices")
        found.append(_located(smap, path, "not supported by Swarm services"))
    return found


def _top_level_unsupported(project: Project) -> list[Unsupported]:
    smap: SourceMap | None = project.source_map
    found: list[Unsupported] = []
    for key, net in project.networks.items():
        if net.driver not in (None, "overlay") and not net.external:
            found.append(
                _located(smap, ("networks", key, "driver"), f"Swarm services need overlay networks, not {net.driver}")
            )
    for kind, items in (("secrets", project.secrets), ("configs", project.configs)):
        for key, item in items.items():
            if item.driver or item.template_driver:
                found.append(_located(smap, (kind, key), "secret and config drivers are not supported"))
    return found


# -- translation -------------------------------------------------------------------------------


def _ns(value: str | None) -> int | None:
    return None if value is None else parse_duration_ns(value)


def _data_object(project: Project, kind: Literal["secret", "config"], key: str, item: SecretOrConfig) -> DataObject:
    base = item.name or f"{project.name}_{key}"
    if item.external:
        return DataObject(kind, key, base, True, {})
    data = content_of(project, kind + "s", key, item)
    digest = hashlib.sha256(data).hexdigest()[:_DIGEST_CHARS]
    name = f"{base[: _MAX_NAME - _DIGEST_CHARS - 1]}_{digest}"
    label = SWARM_SECRET if kind == "secret" else SWARM_CONFIG
    body = {
        "Name": name,
        "Labels": object_labels(project.name, label, key, item.labels),
        "Data": base64.b64encode(data).decode(),
    }
    return DataObject(kind, key, name, False, body)


def _network_object(project: Project, key: str) -> NetworkObject:
    net = project.networks[key]
    name = network_name(project.name, key, net)
    if net.external:
        return NetworkObject(key, name, True, {})
    body: dict[str, Any] = {
        "Driver": net.driver or "overlay",
        # As `docker stack deploy`: attachable only when the file says so (the loader drops a
        # `false`, as Compose prints it, so absent and false cannot be told apart).
        "Attachable": bool(net.attachable),
        "CheckDuplicate": True,
        "Labels": object_labels(project.name, SWARM_NETWORK, key, net.labels),
    }
    if net.driver_opts:
        body["Options"] = dict(net.driver_opts)
    if net.internal:
        body["Internal"] = True
    if net.enable_ipv6:
        body["EnableIPv6"] = True
    if net.ipam is not None and (net.ipam.driver or net.ipam.config):
        ipam: dict[str, Any] = {"Driver": net.ipam.driver or "default"}
        pools = []
        for pool in net.ipam.config or []:
            entry = {"Subnet": pool.subnet, "IPRange": pool.ip_range, "Gateway": pool.gateway}
            pools.append({k: v for k, v in entry.items() if v})
        if pools:
            ipam["Config"] = pools
        body["IPAM"] = ipam
    return NetworkObject(key, name, False, body)


def _healthcheck(service: Service) -> dict[str, Any] | None:
    check = service.healthcheck
    if check is None:
        return None
    if check.disable:
        return {"Test": ["NONE"]}
    out: dict[str, Any] = {}
    if check.test:
        out["Test"] = list(check.test)
    for api_key, value in (
        ("Interval", check.interval),
        ("Timeout", check.timeout),
        ("StartPeriod", check.start_period),
    ):
        ns = _ns(value)
        if ns is not None:
            out[api_key] = ns
    if check.retries is not None:
        out["Retries"] = check.retries
    return out or None


def _resources(service: Service) -> dict[str, Any] | None:
    resources = service.deploy.resources if service.deploy else None
    if resources is None:
        return None
    out: dict[str, Any] = {}
    for api_key, spec in (("Limits", resources.limits), ("Reservations", resources.reservations)):
        if spec is None:
            continue
        part: dict[str, Any] = {}
        if spec.cpus is not None:
            part["NanoCPUs"] = round(float(spec.cpus) * 1e9)
        memory = byte_size(spec.memory)
        if memory is not None:
            part["MemoryBytes"] = memory
        if spec.pids is not None and api_key == "Limits":
            part["Pids"] = spec.pids
        if part:
            out[api_key] = part
    return out or None


_RESTART_CONDITIONS = {"none": "none", "on-failure": "on-failure", "any": "any", "always": "any", "no": "none"}


def _restart_policy(service: Service) -> dict[str, Any] | None:
    policy = service.deploy.restart_policy if service.deploy else None
    if policy is None:
        return None
    out: dict[str, Any] = {}
    if policy.condition is not None:
        out["Condition"] = _RESTART_CONDITIONS.get(policy.condition, policy.condition)
    if policy.delay is not None:
        out["Delay"] = parse_duration_ns(policy.delay)
    if policy.max_attempts is not None:
        out["MaxAttempts"] = policy.max_attempts
    if policy.window is not None:
        out["Window"] = parse_duration_ns(policy.window)
    return out or None


def _placement(service: Service) -> dict[str, Any] | None:
    placement = service.deploy.placement if service.deploy else None
    if not placement:
        return None
    out: dict[str, Any] = {}
    if placement.get("constraints"):
        out["Constraints"] = [str(c) for c in placement["constraints"]]
    prefs = []
    for pref in placement.get("preferences") or []:
        spread = pref.get("spread") if isinstance(pref, dict) else None
        if spread:
            prefs.append({"Spread": {"SpreadDescriptor": str(spread)}})
    if prefs:
        out["Preferences"] = prefs
    if placement.get("max_replicas_per_node") is not None:
        out["MaxReplicas"] = int(placement["max_replicas_per_node"])
    return out or None


def _policy_body(policy: UpdatePolicy) -> dict[str, Any]:
    return {
        "Parallelism": policy.parallelism,
        "Delay": int(policy.delay * 1e9),
        "FailureAction": policy.failure_action,
        "Monitor": int(policy.monitor * 1e9),
        "MaxFailureRatio": policy.max_failure_ratio,
        "Order": policy.order,
    }


def _policies(project: Project, key: str, service: Service) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    deploy = service.deploy
    if deploy is None or (deploy.update_config is None and deploy.rollback_config is None):
        return None, None
    which = "update_config"
    try:
        update = read_policy(deploy.update_config) if deploy.update_config is not None else None
        which = "rollback_config"
        rollback = rollback_policy(service)
    except PolicyProblem as problem:
        raise project_error(
            project, ("services", key, "deploy", which, problem.key), problem.message, problem.hint
        ) from None
    return (_policy_body(update) if update is not None else None), _policy_body(rollback)


def _mounts(project: Project, service: Service) -> list[dict[str, Any]]:
    mounts: list[dict[str, Any]] = []
    for mount in service.volumes:
        if mount.type not in ("volume", "bind", "tmpfs"):
            continue
        entry: dict[str, Any] = {"Type": mount.type, "Target": mount.target}
        if mount.read_only:
            entry["ReadOnly"] = True
        if mount.type == "volume":
            if mount.source:
                declared = project.volumes.get(mount.source)
                entry["Source"] = volume_name(project.name, mount.source, declared)
                options: dict[str, Any] = {}
                if declared is not None and not declared.external:
                    options["Labels"] = object_labels(project.name, L.VOLUME, mount.source, declared.labels)
                    if declared.driver or declared.driver_opts:
                        options["DriverConfig"] = {
                            "Name": declared.driver or "local",
                            "Options": dict(declared.driver_opts or {}),
                        }
                if mount.volume is not None and mount.volume.nocopy:
                    options["NoCopy"] = True
                if options:
                    entry["VolumeOptions"] = options
        elif mount.type == "bind":
            entry["Source"] = mount.source
            if mount.bind is not None and mount.bind.propagation:
                entry["BindOptions"] = {"Propagation": mount.bind.propagation}
        else:
            tmpfs: dict[str, Any] = {}
            if mount.tmpfs is not None:
                size = byte_size(mount.tmpfs.size)
                if size is not None:
                    tmpfs["SizeBytes"] = size
                if mount.tmpfs.mode is not None:
                    tmpfs["Mode"] = mount.tmpfs.mode
            if tmpfs:
                entry["TmpfsOptions"] = tmpfs
        mounts.append(entry)
    for path in service.tmpfs:
        mounts.append({"Type": "tmpfs", "Target": path})
    return mounts


def _file_refs(
    service: Service, kind: Literal["secret", "config"], objects: Mapping[str, DataObject]
) -> list[dict[str, Any]]:
    refs = service.secrets if kind == "secret" else service.configs
    out: list[dict[str, Any]] = []
    for ref in refs:
        obj = objects[ref.source]
        if kind == "secret":
            target = (ref.target or ref.source).removeprefix("/run/secrets/")
        else:
            target = ref.target or f"/{ref.source}"
        ident = "Secret" if kind == "secret" else "Config"
        out.append(
            {
                "File": {
                    "Name": target,
                    "UID": ref.uid or "0",
                    "GID": ref.gid or "0",
                    "Mode": 0o444 if ref.mode is None else ref.mode,
                },
                f"{ident}Name": obj.name,
                f"{ident}ID": "",  # filled in at deploy, from the daemon's object of that name
            }
        )
    return out


def _ports(service: Service) -> list[dict[str, Any]]:
    ports: list[dict[str, Any]] = []
    for port in service.ports:
        entry: dict[str, Any] = {
            "Protocol": port.protocol,
            "TargetPort": port.target,
            "PublishMode": "host" if port.mode == "host" else "ingress",
        }
        if port.published:
            first = port.published.split("-", 1)[0]
            if first.isdigit():
                entry["PublishedPort"] = int(first)
        if port.name:
            entry["Name"] = port.name
        ports.append(entry)
    return ports


def _service_spec(
    project: Project,
    key: str,
    service: Service,
    networks: Mapping[str, NetworkObject],
    secrets: Mapping[str, DataObject],
    configs: Mapping[str, DataObject],
    image: str,
    image_id: str | None,
    pushed_digest: str | None = None,
) -> tuple[dict[str, Any], int | None]:
    container: dict[str, Any] = {"Image": image}
    container_labels = dict(service.labels)
    container_labels.update({SWARM_PROJECT: project.name, SWARM_SERVICE: key})
    if pushed_digest:
        # Built and pushed: every node pulls exactly what was built.
        container["Image"] = f"{image}@{pushed_digest}"
        container_labels[SWARM_IMAGE] = image
    elif image_id:
        container_labels[SWARM_IMAGE_ID] = image_id
        if not has_registry(image):
            # A local image no node can pull: run it by id.  The daemon then tries no pull, a
            # rebuilt image of the same tag rolls the service, and a rollback runs the old one.
            container["Image"] = image_id
            container_labels[SWARM_IMAGE] = image
    container["Labels"] = container_labels
    if service.entrypoint is not None:
        container["Command"] = list(service.entrypoint)  # Swarm's Command is the entrypoint...
    if service.command is not None:
        container["Args"] = list(service.command)  # ...and Args the command
    env = [k if v is None else f"{k}={v}" for k, v in sorted(service.environment.items()) if v is not None]
    if env:
        container["Env"] = env
    simple: dict[str, Any] = {
        "Dir": service.working_dir,
        "User": service.user,
        "Hostname": service.hostname,
        "StopSignal": service.stop_signal,
        "TTY": service.tty or None,
        "OpenStdin": service.stdin_open or None,
        "ReadOnly": service.read_only or None,
        "Init": service.init,
    }
    container.update({k: v for k, v in simple.items() if v is not None})
    if service.stop_grace_period is not None:
        container["StopGracePeriod"] = parse_duration_ns(service.stop_grace_period)
    if service.group_add:
        container["Groups"] = list(service.group_add)
    if service.cap_add:
        container["CapabilityAdd"] = list(service.cap_add)
    if service.cap_drop:
        container["CapabilityDrop"] = list(service.cap_drop)
    if service.sysctls:
        container["Sysctls"] = dict(service.sysctls)
    if service.extra_hosts:
        # Swarm's Hosts are "IP NAME" lines; Compose writes NAME:IP (or NAME=IP)
        hosts = []
        for entry in service.extra_hosts:
            host, sep, ip = entry.partition("=") if "=" in entry else entry.partition(":")
            hosts.append(f"{ip} {host}" if sep else entry)
        container["Hosts"] = hosts
    if service.dns or service.dns_search or service.dns_opt:
        dns = {"Nameservers": list(service.dns), "Search": list(service.dns_search), "Options": list(service.dns_opt)}
        container["DNSConfig"] = {k: v for k, v in dns.items() if v}
    if service.ulimits:
        container["Ulimits"] = [
            {
                "Name": name,
                "Soft": limit.single if limit.single is not None else limit.soft,
                "Hard": limit.single if limit.single is not None else limit.hard,
            }
            for name, limit in sorted(service.ulimits.items())
        ]
    check = _healthcheck(service)
    if check is not None:
        container["Healthcheck"] = check
    mounts = _mounts(project, service)
    if mounts:
        container["Mounts"] = mounts
    secret_refs = _file_refs(service, "secret", secrets)
    if secret_refs:
        container["Secrets"] = secret_refs
    config_refs = _file_refs(service, "config", configs)
    if config_refs:
        container["Configs"] = config_refs

    task: dict[str, Any] = {"ContainerSpec": container}
    resources = _resources(service)
    if resources is not None:
        task["Resources"] = resources
    restart = _restart_policy(service)
    if restart is not None:
        task["RestartPolicy"] = restart
    placement = _placement(service)
    if placement is not None:
        task["Placement"] = placement
    if service.logging is not None and service.logging.driver:
        task["LogDriver"] = {
            "Name": service.logging.driver,
            "Options": {k: v for k, v in (service.logging.options or {}).items() if v is not None},
        }
    attachments = []
    for net_key, attachment in sorted(service.networks.items()):
        net = networks.get(net_key)
        if net is None:
            raise project_error(project, ("services", key, "networks", net_key), "network is not declared")
        aliases = [key, *((attachment.aliases or []) if attachment is not None else [])]
        attachments.append({"Target": net.name, "Aliases": list(dict.fromkeys(aliases))})
    if attachments:
        task["Networks"] = attachments

    deploy = service.deploy
    mode_name = (deploy.mode if deploy is not None else None) or "replicated"
    replicas: int | None = None
    mode: dict[str, Any]
    if mode_name == "global":
        mode = {"Global": {}}
    elif mode_name == "global-job":
        mode = {"GlobalJob": {}}
    elif mode_name == "replicated-job":
        replicas = service.replicas
        mode = {"ReplicatedJob": {"MaxConcurrent": replicas, "TotalCompletions": replicas}}
    elif mode_name == "replicated":
        replicas = service.replicas
        mode = {"Replicated": {"Replicas": replicas}}
    else:
        raise project_error(
            project,
            ("services", key, "deploy", "mode"),
            f"unknown deploy mode {mode_name!r}",
            hint="use replicated, global, replicated-job or global-job",
        )
    labels = dict((deploy.labels if deploy is not None else None) or {})
    labels.update(object_labels(project.name, SWARM_SERVICE, key))
    needs = sorted(service.depends_on)
    if needs:
        labels[DEPENDS_ON] = ",".join(needs)
    spec: dict[str, Any] = {
        "Name": f"{project.name}_{key}",
        "Labels": labels,
        "TaskTemplate": task,
        "Mode": mode,
    }
    update, rollback = _policies(project, key, service)
    if update is not None:
        spec["UpdateConfig"] = update
    if rollback is not None:
        spec["RollbackConfig"] = rollback
    endpoint: dict[str, Any] = {}
    if deploy is not None and deploy.endpoint_mode:
        endpoint["Mode"] = deploy.endpoint_mode
    ports = _ports(service)
    if ports:
        endpoint["Ports"] = ports
    if endpoint:
        spec["EndpointSpec"] = endpoint
    # The task template's own hash, on every task's container spec: how a deploy tells the tasks
    # of the spec it sent from those of an older one (or of a rollback).  Only template changes
    # change it, so a new replica count or update policy restarts no task.
    container_labels[TEMPLATE_HASH] = template_hash(task)
    spec["Labels"][L.CONFIG_HASH] = spec_hash(spec)
    return spec, replicas


def translate(
    project: Project, *, image_ids: Mapping[str, str] | None = None, pushed: Mapping[str, str] | None = None
) -> SwarmStack:
    """The Swarm objects of `project` (every enabled service), and the keys Swarm cannot honour.

    `image_ids`: service -> id of its image on this node: put on the container spec, so a rebuilt
    image of the same tag rolls the service; an image with no registry in its name is run by
    that id (no node could pull it).  `pushed`: service -> digest of the image just pushed for
    it, run as `image@digest`.  Raises StackFileError (located) for values that
    cannot be translated at all."""
    from stack.plan.naming import service_image

    result = SwarmStack(project=project.name)
    result.unsupported.extend(_top_level_unsupported(project))
    used_networks = {n for s in project.services.values() for n in s.networks}
    for key in sorted(project.networks):
        if key in used_networks or key != "default":
            result.networks.append(_network_object(project, key))
    result.secrets = [_data_object(project, "secret", k, v) for k, v in sorted(project.secrets.items())]
    result.configs = [_data_object(project, "config", k, v) for k, v in sorted(project.configs.items())]
    networks = {n.key: n for n in result.networks}
    secrets = {o.key: o for o in result.secrets}
    configs = {o.key: o for o in result.configs}
    for key in ServiceGraph(project.services).topological_order():
        service = project.services[key]
        result.unsupported.extend(_unsupported_of(project, key, service))
        for kind, refs, objects in (("secrets", service.secrets, secrets), ("configs", service.configs, configs)):
            for index, ref in enumerate(refs):
                if ref.source not in objects:
                    raise project_error(
                        project, ("services", key, kind, index), f"{kind[:-1]} {ref.source!r} is not declared"
                    )
        image = service_image(project.name, key, service)
        spec, replicas = _service_spec(
            project,
            key,
            service,
            networks,
            secrets,
            configs,
            image,
            (image_ids or {}).get(key),
            (pushed or {}).get(key),
        )
        check = spec["TaskTemplate"]["ContainerSpec"].get("Healthcheck")
        result.services.append(
            ServiceObject(
                key=key,
                name=spec["Name"],
                image=image,
                build=service.build is not None,
                spec=spec,
                config_hash=spec["Labels"][L.CONFIG_HASH],
                depends_on={
                    dep: edge.condition for dep, edge in sorted(service.depends_on.items()) if dep in project.services
                },
                replicas=replicas,
                healthcheck=check is not None and check.get("Test") != ["NONE"],
            )
        )
    result.unsupported.sort(key=lambda p: (p.location.file, p.location.line or 0) if p.location else ("", 0))
    return result
