"""A service replica -> the raw Engine API body of `POST /containers/create`.

Pure: no daemon, no SDK helpers (their validation lags the API and hides fields), so every
field here is the Engine API 1.41 name and unit tests can check the translation directly.
The loader already turned short syntax into the canonical long form and made bind sources
absolute; this module only maps it.

On API 1.41 a container can join ONE network at create; the others are connected before
start (`ContainerSpec.connect_later`).  Every project network gets the service name and the
container name as aliases, so that the service name resolves to every replica, as Compose.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

from stack.errors import StackFileError
from stack.plan import labels as L
from stack.plan.expectations import healthcheck_state
from stack.spec.models import Port, Project, SecretRef, Service, VolumeMount
from stack.spec.units import byte_size, parse_duration_ns

SECRETS_DIR = "/run/secrets"


@dataclass(frozen=True)
class Endpoint:
    """How a container joins one network: the daemon network name and its endpoint settings."""

    network: str
    aliases: tuple[str, ...] = ()
    ipv4_address: str | None = None
    ipv6_address: str | None = None
    mac_address: str | None = None

    def create_config(self) -> dict[str, Any]:
        """The EndpointSettings object of a create body."""
        config: dict[str, Any] = {"Aliases": list(self.aliases)}
        ipam = {}
        if self.ipv4_address:
            ipam["IPv4Address"] = self.ipv4_address
        if self.ipv6_address:
            ipam["IPv6Address"] = self.ipv6_address
        if ipam:
            config["IPAMConfig"] = ipam
        if self.mac_address:
            config["MacAddress"] = self.mac_address
        return config

    def connect_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the SDK's connect_container_to_network."""
        kwargs: dict[str, Any] = {"aliases": list(self.aliases)}
        if self.ipv4_address:
            kwargs["ipv4_address"] = self.ipv4_address
        if self.ipv6_address:
            kwargs["ipv6_address"] = self.ipv6_address
        if self.mac_address:
            kwargs["mac_address"] = self.mac_address
        return kwargs


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    body: dict[str, Any]
    # Networks joined after create and before start (API 1.41 takes one at create).
    connect_later: tuple[Endpoint, ...] = ()
    # Bind sources to create on the host first (short syntax / create_host_path: true).
    create_host_paths: tuple[str, ...] = ()
    # Named/anonymous volume targets, so a recreate knows which old volumes to carry over.
    volume_targets: frozenset[str] = field(default_factory=frozenset)
    # Secrets and configs given by `environment:` or `content:`: copied in after create.
    files: tuple[InjectedFile, ...] = ()


@dataclass(frozen=True)
class InjectedFile:
    """A file put into a created container before it starts (a secret or config that has no
    file on the host), with Compose's defaults: mode 0444, owner root unless uid/gid say."""

    path: str
    content: bytes
    mode: int = 0o444
    uid: int | None = None
    gid: int | None = None

    @property
    def keeps_owner(self) -> bool:
        """The tar's owner applies (the daemon's copyUIDGID); else the daemon makes it root's."""
        return self.uid is not None or self.gid is not None


def _fail(service: Service, key: str, message: str, hint: str | None = None) -> StackFileError:
    return StackFileError(f"service {service.name}: {message}", path=f"services.{service.name}.{key}", hint=hint)


def service_network_keys(service: Service) -> list[str]:
    """The stack-file network keys a service joins, in attach order (priority, then name)."""
    if service.network_mode:
        return []
    if not service.networks:
        return ["default"]

    def order(key: str) -> tuple[int, str]:
        cfg = service.networks[key]
        priority = cfg.priority if cfg is not None and cfg.priority is not None else 0
        return (-priority, key)

    return sorted(service.networks, key=order)


def endpoint(service: Service, key: str, network_name: str, container_name: str) -> Endpoint:
    """The endpoint of `service`'s container on network `key` (daemon name `network_name`)."""
    cfg = service.networks.get(key)
    aliases = [service.name, container_name]
    if cfg is not None and cfg.aliases:
        aliases += [a for a in cfg.aliases if a not in aliases]
    return Endpoint(
        network=network_name,
        aliases=tuple(aliases),
        ipv4_address=cfg.ipv4_address if cfg is not None else None,
        ipv6_address=cfg.ipv6_address if cfg is not None else None,
        mac_address=cfg.mac_address if cfg is not None else None,
    )


def _port_key(target: int | str, protocol: str) -> str:
    return f"{target}/{protocol or 'tcp'}"


def _expose_keys(spec: str) -> list[str]:
    port, _, protocol = spec.partition("/")
    start, _, end = port.partition("-")
    first = int(start)
    last = int(end) if end else first
    return [_port_key(p, protocol or "tcp") for p in range(first, last + 1)]


def _port_bindings(ports: list[Port]) -> dict[str, list[dict[str, str]]]:
    bindings: dict[str, list[dict[str, str]]] = {}
    # A port without `published` still binds: the daemon picks a free host port.
    for port in ports:
        bindings.setdefault(_port_key(port.target, port.protocol), []).append(
            {"HostIp": port.host_ip or "", "HostPort": port.published or ""}
        )
    return bindings


def _ns(service: Service, key: str, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return parse_duration_ns(value)
    except ValueError as exc:
        raise _fail(service, key, str(exc)) from exc


def _bytes(service: Service, key: str, value: int | str | float | None) -> int | None:
    try:
        return byte_size(value)
    except ValueError as exc:
        raise _fail(service, key, str(exc)) from exc


def _healthcheck(service: Service) -> dict[str, Any] | None:
    hc = service.healthcheck
    if hc is None:
        return None
    if healthcheck_state(service) is False:
        return {"Test": ["NONE"]}
    body: dict[str, Any] = {}
    if hc.test:
        test = list(hc.test)
        if test[0] not in ("CMD", "CMD-SHELL", "NONE"):
            test = ["CMD-SHELL", " ".join(test)]
        body["Test"] = test
    for name, value in (
        ("Interval", hc.interval),
        ("Timeout", hc.timeout),
        ("StartPeriod", hc.start_period),
        ("StartInterval", hc.start_interval),
    ):
        ns = _ns(service, "healthcheck", value)
        if ns is not None:
            body[name] = ns
    if hc.retries is not None:
        body["Retries"] = hc.retries
    return body


def _restart_policy(service: Service) -> dict[str, Any] | None:
    if service.restart:
        name, _, count = service.restart.partition(":")
        policy: dict[str, Any] = {"Name": "" if name == "no" else name}
        if count:
            policy["MaximumRetryCount"] = int(count)
        return policy
    rp = service.deploy.restart_policy if service.deploy else None
    if rp is not None and rp.condition:
        name = {"none": "", "on-failure": "on-failure", "any": "always"}.get(rp.condition, rp.condition)
        policy = {"Name": name}
        if rp.max_attempts:
            policy["MaximumRetryCount"] = rp.max_attempts
        return policy
    return None


def _device(entry: Any) -> dict[str, str]:
    """`{source, target, permissions}` (canonical) or `/dev/x[:/dev/y[:rwm]]` -> DeviceMapping."""
    if isinstance(entry, dict):
        source = str(entry.get("source") or "")
        target = str(entry.get("target") or source)
        permissions = str(entry.get("permissions") or "rwm")
    else:
        parts = str(entry).split(":")
        source = parts[0]
        target = parts[1] if len(parts) > 1 else source
        permissions = parts[2] if len(parts) > 2 else "rwm"
    return {"PathOnHost": source, "PathInContainer": target, "CgroupPermissions": permissions}


def _extra_host(entry: str) -> str:
    # Compose writes `host=ip` (IPv6 safe) or `host:ip`; the Engine wants `host:ip`.
    if "=" in entry:
        host, _, ip = entry.partition("=")
        return f"{host}:{ip}"
    return entry


def _mount(
    project: Project, service: Service, mount: VolumeMount, volume_names: dict[str, str]
) -> tuple[dict[str, Any], str | None]:
    """One Mounts entry, plus a host path to create first (or None)."""
    body: dict[str, Any] = {"Type": mount.type, "Target": mount.target}
    if mount.read_only:
        body["ReadOnly"] = True
    create_path: str | None = None
    if mount.type == "bind":
        if not mount.source:
            raise _fail(service, "volumes", f"bind mount at {mount.target} has no source")
        body["Source"] = mount.source
        if mount.bind is not None:
            opts: dict[str, Any] = {}
            if mount.bind.propagation:
                opts["Propagation"] = mount.bind.propagation
            if opts:
                body["BindOptions"] = opts
            if mount.bind.create_host_path:
                create_path = mount.source
    elif mount.type == "volume":
        if mount.source:
            declared = project.volumes.get(mount.source)
            if declared is None and mount.source not in volume_names:
                raise _fail(
                    service,
                    "volumes",
                    f"volume {mount.source!r} is not declared in the top-level volumes",
                    hint=f"add `volumes: {{{mount.source}: {{}}}}` at the top level of the stack file",
                )
            body["Source"] = volume_names.get(mount.source, mount.source)
        if mount.volume is not None:
            vopts: dict[str, Any] = {}
            if mount.volume.nocopy:
                vopts["NoCopy"] = True
            if mount.volume.subpath:
                vopts["Subpath"] = mount.volume.subpath
            if vopts:
                body["VolumeOptions"] = vopts
    elif mount.type == "tmpfs":
        if mount.tmpfs is not None:
            topts: dict[str, Any] = {}
            size = _bytes(service, "volumes", mount.tmpfs.size)
            if size is not None:
                topts["SizeBytes"] = size
            if mount.tmpfs.mode is not None:
                topts["Mode"] = mount.tmpfs.mode
            if topts:
                body["TmpfsOptions"] = topts
    else:
        raise _fail(service, "volumes", f"mount type {mount.type!r} is not supported by stack")
    return body, create_path


def _secret_target(kind: str, ref: SecretRef) -> str:
    target = ref.target or ref.source
    if not target.startswith("/"):
        target = f"{SECRETS_DIR}/{target}" if kind == "secrets" else f"/{target}"
    return target


def _owner(service: Service, kind: str, value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit():
        raise _fail(service, kind, f"uid/gid {value!r} must be a number")
    return int(value)


def secrets_and_configs(project: Project, service: Service) -> tuple[list[dict[str, Any]], list[InjectedFile]]:
    """Secrets and configs: read-only binds of local files, and files to copy in for those given
    by `environment:` (the variable's value) or `content:`, as Compose does outside swarm."""
    mounts: list[dict[str, Any]] = []
    files: list[InjectedFile] = []
    for kind, refs, defined in (
        ("secrets", service.secrets, project.secrets),
        ("configs", service.configs, project.configs),
    ):
        for ref in refs:
            item = defined.get(ref.source)
            what = f"{kind[:-1]} {ref.source!r}"
            if item is None:
                raise _fail(service, kind, f"{what} is not declared at the top level")
            target = _secret_target(kind, ref)
            if item.file:
                mounts.append({"Type": "bind", "Source": item.file, "Target": target, "ReadOnly": True})
                continue
            if item.environment:
                value = project.environment.get(item.environment)
                if value is None:
                    raise StackFileError(
                        f"{what} (used by service {service.name}) reads variable {item.environment}, which is not set",
                        path=f"{kind}.{ref.source}.environment",
                        hint=f"set {item.environment} in the environment or in .env / --env-file",
                    )
                content = value
            elif item.content is not None:
                content = item.content
            else:
                raise _fail(
                    service,
                    kind,
                    f"{what} has no `file:`, `environment:` or `content:`"
                    + (" (external ones exist only in swarm mode)" if item.external else ""),
                    hint=f"declare it as `{kind}: {{{ref.source}: {{file: ./path}}}}`",
                )
            files.append(
                InjectedFile(
                    path=target,
                    content=content.encode("utf-8"),
                    mode=ref.mode if ref.mode is not None else 0o444,
                    uid=_owner(service, kind, ref.uid),
                    gid=_owner(service, kind, ref.gid),
                )
            )
    return mounts, files


def _environment(service: Service) -> list[str]:
    # A variable left without a value (`FOO` not set anywhere) is not passed, as Compose.
    return [f"{k}={v}" for k, v in service.environment.items() if v is not None]


def container_spec(
    project: Project,
    service: Service,
    *,
    name: str,
    labels: dict[str, str],
    network_names: dict[str, str],
    volume_names: dict[str, str],
    image: str | None = None,
    network_mode: str | None = None,
    network_keys: list[str] | None = None,
    final_name: str | None = None,
    volumes_from: list[str] | None = None,
) -> ContainerSpec:
    """The create body of one replica of `service`, named `name`.

    `network_names` / `volume_names` map stack-file keys to daemon names; `image` overrides
    the image reference (a built image's tag); `network_mode` overrides the service's (the
    executor resolves `service:x` to `container:<id>`); `network_keys` the attach order
    (default: `service_network_keys`); `final_name` the name the container will carry after a
    recreate's rename (its network alias; default `name`).
    """
    image_ref = image or service.image
    if not image_ref:
        raise _fail(service, "image", "has neither `image` nor a built image", hint="add `image:` or `build:`")

    host: dict[str, Any] = {}
    body: dict[str, Any] = {"Image": image_ref, "Labels": dict(labels)}

    if service.command is not None:
        body["Cmd"] = list(service.command)
    if service.entrypoint is not None:
        body["Entrypoint"] = list(service.entrypoint)
    env = _environment(service)
    if env:
        body["Env"] = env
    for key, value in (
        ("Hostname", service.hostname),
        ("Domainname", service.domainname),
        ("WorkingDir", service.working_dir),
        ("User", service.user),
        ("StopSignal", service.stop_signal),
    ):
        if value:
            body[key] = value
    mac = getattr(service, "mac_address", None)  # an extra key on the model
    if mac:
        body["MacAddress"] = str(mac)
    if service.tty:
        body["Tty"] = True
    if service.stdin_open:
        body["OpenStdin"] = True
        body["AttachStdin"] = False
    if service.stop_grace_period is not None:
        ns = _ns(service, "stop_grace_period", service.stop_grace_period)
        body["StopTimeout"] = int((ns or 0) // 1_000_000_000)
    hc = _healthcheck(service)
    if hc is not None:
        body["Healthcheck"] = hc

    # Ports: every published port is also exposed.
    exposed: dict[str, dict[str, Any]] = {}
    for spec in service.expose:
        try:
            for key in _expose_keys(str(spec)):
                exposed[key] = {}
        except ValueError as exc:
            raise _fail(service, "expose", f"invalid port {spec!r}") from exc
    for port in service.ports:
        exposed[_port_key(port.target, port.protocol)] = {}
    if exposed:
        body["ExposedPorts"] = exposed
    if service.ports:
        host["PortBindings"] = _port_bindings(service.ports)

    # Mounts.
    mounts: list[dict[str, Any]] = []
    create_paths: list[str] = []
    volume_targets: set[str] = set()
    for mount in service.volumes:
        entry, create_path = _mount(project, service, mount, volume_names)
        mounts.append(entry)
        if create_path:
            create_paths.append(create_path)
        if mount.type == "volume":
            volume_targets.add(mount.target)
    file_mounts, injected = secrets_and_configs(project, service)
    mounts += file_mounts
    if mounts:
        host["Mounts"] = mounts
    if volumes_from:
        host["VolumesFrom"] = list(volumes_from)
    if service.tmpfs:
        tmpfs: dict[str, str] = {}
        for spec in service.tmpfs:
            path, _, options = spec.partition(":")
            tmpfs[path] = options
        host["Tmpfs"] = tmpfs

    # Runtime options.
    restart = _restart_policy(service)
    if restart is not None:
        host["RestartPolicy"] = restart
    simple: list[tuple[str, Any]] = [
        ("Init", service.init),
        ("Privileged", service.privileged),
        ("ReadonlyRootfs", service.read_only),
        ("CapAdd", service.cap_add),
        ("CapDrop", service.cap_drop),
        ("SecurityOpt", service.security_opt),
        ("Sysctls", service.sysctls),
        ("Dns", service.dns),
        ("DnsSearch", service.dns_search),
        ("DnsOptions", service.dns_opt),
        ("GroupAdd", service.group_add),
        ("PidMode", service.pid),
        ("IpcMode", service.ipc),
    ]
    for key, value in simple:
        if value:
            host[key] = value
    if service.devices:
        host["Devices"] = [_device(d) for d in service.devices]
    if service.extra_hosts:
        host["ExtraHosts"] = [_extra_host(h) for h in service.extra_hosts]
    if service.ulimits:
        ulimits = []
        for uname, limit in sorted(service.ulimits.items()):
            soft = limit.single if limit.single is not None else limit.soft
            hard = limit.single if limit.single is not None else limit.hard
            ulimits.append({"Name": uname, "Soft": soft, "Hard": hard if hard is not None else soft})
        host["Ulimits"] = ulimits
    if service.logging is not None and (service.logging.driver or service.logging.options):
        host["LogConfig"] = {
            "Type": service.logging.driver or "",
            "Config": {k: v for k, v in (service.logging.options or {}).items() if v is not None},
        }
    shm = _bytes(service, "shm_size", service.shm_size)
    if shm is not None:
        host["ShmSize"] = shm

    # Resources: service-level keys, overridden by deploy.resources as Compose does.
    memory = _bytes(service, "mem_limit", service.mem_limit)
    reservation = _bytes(service, "mem_reservation", service.mem_reservation)
    cpus = service.cpus
    pids: int | None = None
    resources = service.deploy.resources if service.deploy else None
    if resources is not None and resources.limits is not None:
        limits = resources.limits
        if limits.memory is not None:
            memory = _bytes(service, "deploy.resources.limits.memory", limits.memory)
        if limits.cpus is not None:
            cpus = limits.cpus
        pids = limits.pids
    reserved = resources.reservations if resources is not None else None
    if reserved is not None and reserved.memory is not None:
        reservation = _bytes(service, "deploy.resources.reservations.memory", reserved.memory)
    if memory:
        host["Memory"] = memory
    if reservation:
        host["MemoryReservation"] = reservation
    if cpus is not None and float(cpus) > 0:
        host["NanoCpus"] = int(float(cpus) * 1_000_000_000)
    if pids:
        host["PidsLimit"] = pids

    # Networks.
    later: list[Endpoint] = []
    mode = network_mode or service.network_mode
    if mode:
        host["NetworkMode"] = mode
    else:
        keys = network_keys if network_keys is not None else service_network_keys(service)
        endpoints = []
        for key in keys:
            if key not in network_names:
                raise _fail(
                    service,
                    "networks",
                    f"network {key!r} is not declared in the top-level networks",
                    hint=f"add `networks: {{{key}: {{}}}}` at the top level of the stack file",
                )
            endpoints.append(endpoint(service, key, network_names[key], final_name or name))
        first, later = endpoints[0], endpoints[1:]
        host["NetworkMode"] = first.network
        create_config = first.create_config()
        if "MacAddress" in create_config:
            # API 1.41 takes the MAC address on the container, not the endpoint.
            body["MacAddress"] = create_config.pop("MacAddress")
        body["NetworkingConfig"] = {"EndpointsConfig": {first.network: create_config}}

    body["HostConfig"] = host
    return ContainerSpec(
        name=name,
        body=body,
        connect_later=tuple(later),
        create_host_paths=tuple(create_paths),
        volume_targets=frozenset(volume_targets),
        files=tuple(injected),
    )


def inherit_anonymous_volumes(spec: ContainerSpec, old_mounts: list[dict[str, Any]]) -> ContainerSpec:
    """Carry the old container's anonymous volumes over to a recreated container.

    `old_mounts` is the old container's inspect `Mounts`.  A volume mounted at a target that
    the new spec does not mount explicitly with a name (an anonymous volume declared by the
    service or the image) keeps its data: it is mounted by name at the same target.  The new
    container's INHERITED_VOLUMES label names them: mounted by name, the daemon no longer counts
    them as the container's own anonymous volumes, and `down -v` must still remove them.
    """
    mounts = list(spec.body.get("HostConfig", {}).get("Mounts", []))
    explicit = {m["Target"] for m in mounts if m.get("Type") != "volume" or m.get("Source")}
    by_target = {m["Target"]: i for i, m in enumerate(mounts)}
    inherited: list[str] = []
    for old in old_mounts:
        if old.get("Type") != "volume" or not old.get("Name"):
            continue
        target = old.get("Destination")
        if not target or target in explicit:
            continue
        entry = {"Type": "volume", "Source": old["Name"], "Target": target}
        if target in by_target:
            mounts[by_target[target]] = {**mounts[by_target[target]], "Source": old["Name"]}
        else:
            mounts.append(entry)
        inherited.append(str(old["Name"]))
    if not inherited:
        return spec
    body = dict(spec.body)
    body["HostConfig"] = {**body.get("HostConfig", {}), "Mounts": mounts}
    body["Labels"] = {**(body.get("Labels") or {}), L.INHERITED_VOLUMES: ",".join(sorted(inherited))}
    return dataclasses.replace(spec, body=body)


def for_session(spec: ContainerSpec, *, aliases: list[str] | None, interactive: bool) -> ContainerSpec:
    """A `stack run` container: on its networks it answers to `aliases` only (not the service's
    name), and its output, and its input when `interactive`, are attached to the caller's."""
    body = dict(spec.body)
    body.update({"AttachStdin": interactive, "AttachStdout": True, "AttachStderr": True})
    if interactive:
        body["StdinOnce"] = True
    if aliases is not None:
        for endpoint in (body.get("NetworkingConfig") or {}).get("EndpointsConfig", {}).values():
            endpoint["Aliases"] = list(aliases)
    later = tuple(dataclasses.replace(e, aliases=tuple(aliases)) for e in spec.connect_later) if aliases else None
    return dataclasses.replace(spec, body=body, connect_later=later or spec.connect_later)


def files_archive(files: tuple[InjectedFile, ...] | list[InjectedFile]) -> bytes:
    """A tar of `files` (paths from the root), for the daemon's archive upload."""
    import io
    import tarfile
    import time

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for item in files:
            info = tarfile.TarInfo(item.path.lstrip("/"))
            info.size = len(item.content)
            info.mode = item.mode
            info.uid = item.uid or 0
            info.gid = item.gid or 0
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(item.content))
    return buffer.getvalue()


def create_host_paths(spec: ContainerSpec) -> None:
    """Create missing bind sources on the host, as Compose does for the short syntax."""
    for path in spec.create_host_paths:
        # An existing file (a single config file mounted) or directory is used as it is.
        if not os.path.lexists(path):
            os.makedirs(path, exist_ok=True)
