"""Typed pydantic v2 models of a resolved stack.

The models mirror the *canonical* (long-syntax) form that the loader produces, which is the
same shape Docker Compose prints for `config --format json`: every short syntax has already
been expanded by `transform`, paths are absolute, variables interpolated.  So a model never
parses short syntax itself; it only types and checks what the loader hands over.

Keys that Compose accepts but the engine does not act on yet are kept (`extra="allow"`):
unknown keys were already rejected, with their file and line, by `validation`.

Durations are kept as Go duration strings (`1m30s`), as Compose prints them; use
`duration_seconds()` to get a number.  Byte sizes are kept as Compose prints them and
`byte_size()` turns them into an int.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from stack.spec.units import byte_size, duration_seconds

__all__ = [
    "BuildConfig",
    "ConfigRef",
    "DependsOn",
    "Deploy",
    "Develop",
    "Healthcheck",
    "Logging",
    "Network",
    "Port",
    "Project",
    "Resources",
    "SecretOrConfig",
    "SecretRef",
    "Service",
    "ServiceNetwork",
    "Ulimit",
    "Volume",
    "VolumeMount",
    "WatchExec",
    "WatchRule",
    "byte_size",
    "duration_seconds",
]


class Model(BaseModel):
    """Base of all stack models: keep unknown (already validated) keys, forbid nothing."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=False)


class BuildConfig(Model):
    context: str = "."
    dockerfile: str | None = None
    dockerfile_inline: str | None = None
    args: dict[str, str | None] = Field(default_factory=dict)
    target: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    cache_from: list[str] = Field(default_factory=list)
    cache_to: list[str] = Field(default_factory=list)
    network: str | None = None
    shm_size: int | str | None = None
    extra_hosts: list[str] = Field(default_factory=list)
    no_cache: bool | None = None
    pull: bool | None = None
    platforms: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)


class Port(Model):
    target: int
    published: str | None = None
    host_ip: str | None = None
    protocol: str = "tcp"
    mode: str = "ingress"
    app_protocol: str | None = None
    name: str | None = None


class BindOptions(Model):
    propagation: str | None = None
    create_host_path: bool | None = None
    selinux: str | None = None


class VolumeOptions(Model):
    nocopy: bool | None = None
    subpath: str | None = None


class TmpfsOptions(Model):
    size: int | str | None = None
    mode: int | None = None


class VolumeMount(Model):
    type: Literal["volume", "bind", "tmpfs", "npipe", "cluster", "image"]
    source: str | None = None
    target: str
    read_only: bool | None = None
    consistency: str | None = None
    bind: BindOptions | None = None
    volume: VolumeOptions | None = None
    tmpfs: TmpfsOptions | None = None


class DependsOn(Model):
    condition: Literal["service_started", "service_healthy", "service_completed_successfully"] = "service_started"
    required: bool = True
    restart: bool | None = None


class Healthcheck(Model):
    test: list[str] | None = None
    interval: str | None = None
    timeout: str | None = None
    retries: int | None = None
    start_period: str | None = None
    start_interval: str | None = None
    disable: bool | None = None


class ServiceNetwork(Model):
    aliases: list[str] | None = None
    ipv4_address: str | None = None
    ipv6_address: str | None = None
    link_local_ips: list[str] | None = None
    mac_address: str | None = None
    priority: int | None = None
    driver_opts: dict[str, str] | None = None
    gw_priority: int | None = None


class ResourceSpec(Model):
    cpus: float | str | None = None
    memory: int | str | None = None
    pids: int | None = None


class Resources(Model):
    limits: ResourceSpec | None = None
    reservations: ResourceSpec | None = None


class RestartPolicy(Model):
    condition: str | None = None
    delay: str | None = None
    max_attempts: int | None = None
    window: str | None = None


class Deploy(Model):
    mode: str | None = None
    replicas: int | None = None
    labels: dict[str, str] | None = None
    resources: Resources | None = None
    restart_policy: RestartPolicy | None = None
    update_config: dict[str, Any] | None = None
    rollback_config: dict[str, Any] | None = None
    placement: dict[str, Any] | None = None
    endpoint_mode: str | None = None


# `develop.watch[].action`: what `stack watch` does when a file under the rule's path changes.
WatchAction = Literal["sync", "rebuild", "restart", "sync+restart", "sync+exec"]
SYNC_ACTIONS: frozenset[str] = frozenset({"sync", "sync+restart", "sync+exec"})


class WatchExec(Model):
    """`develop.watch[].exec`: the command a `sync+exec` rule runs in each container."""

    command: list[str] | None = None
    user: str | None = None
    privileged: bool | None = None
    working_dir: str | None = None
    environment: dict[str, str | None] = Field(default_factory=dict)


class WatchRule(Model):
    """One `develop.watch` rule; `path` is absolute (the loader resolved it)."""

    path: str
    action: WatchAction
    target: str | None = None
    exec: WatchExec | None = None
    ignore: list[str] = Field(default_factory=list)
    include: list[str] = Field(default_factory=list)
    initial_sync: bool | None = None

    @property
    def syncs(self) -> bool:
        return self.action in SYNC_ACTIONS


class Develop(Model):
    watch: list[WatchRule] | None = None


class Logging(Model):
    driver: str | None = None
    options: dict[str, str | None] | None = None


class Ulimit(Model):
    """`nofile: 1024` (single: soft = hard) or `nofile: {soft: 1024, hard: 2048}`."""

    soft: int | None = None
    hard: int | None = None
    single: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _single(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return {"single": value}
        return value

    @model_serializer(mode="wrap")
    def _as_compose(self, handler: SerializerFunctionWrapHandler) -> Any:
        if self.single is not None:
            return self.single  # printed back in the short form, as Compose does
        return handler(self)


class SecretRef(Model):
    source: str
    target: str | None = None
    uid: str | None = None
    gid: str | None = None
    # Compose prints file modes as octal text ("0440"); the model holds the number (0o440).
    mode: int | None = None

    @field_validator("mode", mode="before")
    @classmethod
    def _octal_mode(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return int(value, 8)
            except ValueError:
                raise ValueError(f"invalid file mode {value!r} (use octal, like 0440)") from None
        return value


ConfigRef = SecretRef


class Service(Model):
    """One service, in canonical form.  `name` is filled in by the loader from the key."""

    name: str = Field(default="", exclude=True)
    # sha256 of the canonical dict this service was loaded from (stack.spec.digest); the loader
    # fills it in, the engine puts it on containers so a no-op `up` is recognised without models.
    spec_digest: str = Field(default="", exclude=True)

    image: str | None = None
    build: BuildConfig | None = None
    command: list[str] | None = None
    entrypoint: list[str] | None = None
    environment: dict[str, str | None] = Field(default_factory=dict)
    env_file: list[dict[str, Any]] | None = None
    ports: list[Port] = Field(default_factory=list)
    expose: list[str] = Field(default_factory=list)
    volumes: list[VolumeMount] = Field(default_factory=list)
    tmpfs: list[str] = Field(default_factory=list)
    networks: dict[str, ServiceNetwork | None] = Field(default_factory=dict)
    network_mode: str | None = None
    depends_on: dict[str, DependsOn] = Field(default_factory=dict)
    healthcheck: Healthcheck | None = None
    restart: str | None = None
    deploy: Deploy | None = None
    scale: int | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    container_name: str | None = None
    hostname: str | None = None
    domainname: str | None = None
    working_dir: str | None = None
    user: str | None = None
    init: bool | None = None
    stop_signal: str | None = None
    stop_grace_period: str | None = None
    cap_add: list[str] = Field(default_factory=list)
    cap_drop: list[str] = Field(default_factory=list)
    privileged: bool | None = None
    read_only: bool | None = None
    security_opt: list[str] = Field(default_factory=list)
    sysctls: dict[str, str] = Field(default_factory=dict)
    ulimits: dict[str, Ulimit] = Field(default_factory=dict)
    extra_hosts: list[str] = Field(default_factory=list)
    dns: list[str] = Field(default_factory=list)
    dns_search: list[str] = Field(default_factory=list)
    dns_opt: list[str] = Field(default_factory=list)
    logging: Logging | None = None
    secrets: list[SecretRef] = Field(default_factory=list)
    configs: list[SecretRef] = Field(default_factory=list)
    profiles: list[str] = Field(default_factory=list)
    pull_policy: str | None = None
    tty: bool | None = None
    stdin_open: bool | None = None
    mem_limit: int | str | None = None
    mem_reservation: int | str | None = None
    cpus: float | str | None = None
    shm_size: int | str | None = None
    pid: str | None = None
    ipc: str | None = None
    platform: str | None = None
    devices: list[Any] = Field(default_factory=list)
    group_add: list[str] = Field(default_factory=list)
    develop: Develop | None = None
    runtime: str | None = None
    links: list[str] = Field(default_factory=list)
    external_links: list[str] = Field(default_factory=list)
    volumes_from: list[str] = Field(default_factory=list)
    annotations: dict[str, str] = Field(default_factory=dict)
    pids_limit: int | None = None
    oom_score_adj: int | None = None
    mac_address: str | None = None
    userns_mode: str | None = None
    # A service run by a provider (`provider: {type, options}`), not as a container.
    provider: dict[str, Any] | None = None

    @property
    def replicas(self) -> int:
        """Desired number of containers: `scale`, else `deploy.replicas`, else 1."""
        if self.scale is not None:
            return self.scale
        if self.deploy is not None and self.deploy.replicas is not None:
            return self.deploy.replicas
        return 1


class IPAMPool(Model):
    subnet: str | None = None
    ip_range: str | None = None
    gateway: str | None = None
    aux_addresses: dict[str, str] | None = None


class IPAM(Model):
    driver: str | None = None
    config: list[IPAMPool] | None = None
    options: dict[str, str] | None = None


class Network(Model):
    spec_digest: str = Field(default="", exclude=True)  # as Service.spec_digest
    name: str | None = None
    driver: str | None = None
    driver_opts: dict[str, str] | None = None
    external: bool | None = None
    internal: bool | None = None
    attachable: bool | None = None
    enable_ipv6: bool | None = None
    ipam: IPAM | None = None
    labels: dict[str, str] | None = None


class Volume(Model):
    name: str | None = None
    driver: str | None = None
    driver_opts: dict[str, str] | None = None
    external: bool | None = None
    labels: dict[str, str] | None = None


class SecretOrConfig(Model):
    name: str | None = None
    file: str | None = None
    environment: str | None = None
    content: str | None = None
    external: bool | None = None
    labels: dict[str, str] | None = None
    driver: str | None = None
    template_driver: str | None = None


class Project(Model):
    """A resolved stack: what `stack config` prints, plus where it came from."""

    name: str
    services: dict[str, Service] = Field(default_factory=dict)
    networks: dict[str, Network] = Field(default_factory=dict)
    volumes: dict[str, Volume] = Field(default_factory=dict)
    secrets: dict[str, SecretOrConfig] = Field(default_factory=dict)
    configs: dict[str, SecretOrConfig] = Field(default_factory=dict)

    # Where the project came from; not part of `config` output.
    working_dir: str = Field(default="", exclude=True)
    config_files: list[str] = Field(default_factory=list, exclude=True)
    environment: dict[str, str] = Field(default_factory=dict, exclude=True)
    # Where each key was written (stack.spec.sourcemap.SourceMap), for errors found after loading.
    source_map: Any = Field(default=None, exclude=True)
    active_profiles: list[str] = Field(default_factory=list, exclude=True)
    # Services defined in the files but switched off by profiles (kept so that naming one on
    # the command line can enable it, and so that `down` knows they belong to us).
    disabled_services: dict[str, Service] = Field(default_factory=dict, exclude=True)

    def service(self, name: str) -> Service:
        return self.services[name]
