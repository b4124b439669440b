"""The stack model as Kubernetes objects: `translate(project, options)`.

Per Pod (one service, or the services joined by `network_mode: service:x` / `volumes_from`):
- a Job when another service depends on it with `service_completed_successfully`; else a
  StatefulSet when it mounts a named volume and runs one replica; else a Deployment;
- a Service named as the service (the root of the Pod), so DNS names keep working: ClusterIP
  with the ports the file names (`ports` targets, `expose`), or headless (clusterIP None) when
  it names none, whose name then resolves to the ready pods' addresses (any port reaches
  them, as on a Docker network); a second Service `{name}-published` (NodePort or
  LoadBalancer) for published ports;
- init containers waiting for its dependencies (stack.convert.kubernetes.waits), and for Jobs a
  ServiceAccount, Role and RoleBinding that let them read Jobs.
Shared objects: a PersistentVolumeClaim per named volume, a Secret per secret, a ConfigMap per
config.  Every key the output cannot honour is listed with its file and line.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from stack.convert.kubernetes.containers import HANDLED_KEYS, WHY_NOT, container_of, port_list
from stack.convert.kubernetes.context import Context
from stack.convert.kubernetes.model import KubernetesOptions, KubernetesStack, dns_label, parse_version
from stack.convert.kubernetes.pods import PodGroup, group_pods, volumes_from_source
from stack.convert.kubernetes.storage import PodStorage, data_objects, persistent_claims
from stack.convert.kubernetes.waits import job_wait_container, service_wait_container
from stack.convert.unsupported import sort_by_location
from stack.errors import UsageError
from stack.plan.graph import ServiceGraph, volumes_from
from stack.spec.graph import service_reference
from stack.spec.models import Project, Service
from stack.spec.units import duration_seconds

__all__ = ["translate"]

Condition = Literal["service_started", "service_healthy", "service_completed_successfully"]
_STRENGTH = {"service_started": 0, "service_healthy": 1, "service_completed_successfully": 2}
_KIND_ORDER = [
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "Secret",
    "ConfigMap",
    "PersistentVolumeClaim",
    "Service",
    "Job",
    "StatefulSet",
    "Deployment",
]
_LABEL_NAME = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")
_LABEL_PREFIX = re.compile(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?")
WAIT_ACCOUNT = "job-waiter"  # {project}-job-waiter: ServiceAccount, Role and RoleBinding


def _is_label(key: str, value: str) -> bool:
    prefix, _, name = key.rpartition("/")
    if prefix and not _LABEL_PREFIX.fullmatch(prefix):
        return False
    return bool(_LABEL_NAME.fullmatch(name)) and (value == "" or bool(_LABEL_NAME.fullmatch(value)))


def _split_labels(ctx: Context, path: tuple[str, ...], labels: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """Stack-file labels as (Kubernetes labels, annotations): those that are not valid label
    syntax become annotations (said in a note)."""
    good: dict[str, str] = {}
    other: dict[str, str] = {}
    for key, value in sorted(labels.items()):
        if _is_label(key, str(value)):
            good[key] = str(value)
        else:
            other[key] = str(value)
            ctx.note((*path, key), "not valid as a Kubernetes label: kept as an annotation")
    return good, other


class _Translation:
    def __init__(self, project: Project, options: KubernetesOptions) -> None:
        self.project = project
        self.ctx = Context(project, options, KubernetesStack(project.name, options))
        self.order = ServiceGraph(project.services).topological_order()
        self.jobs = {
            dep
            for service in project.services.values()
            for dep, edge in service.depends_on.items()
            if edge.condition == "service_completed_successfully" and dep in project.services
        }
        self.groups = group_pods(project, self.order)
        self.root_of = {member: group.root for group in self.groups for member in group.members}
        self.names = {group.root: dns_label(group.root) for group in self.groups}
        self.ports = {
            group.root: [p for m in group.members for p in port_list(project.services[m])] for group in self.groups
        }
        self.claims: set[str] = set()
        self.data_used: dict[str, set[str]] = {"secrets": set(), "configs": set()}
        self.needs_account = False

    def _written(self, path: tuple[str, ...]) -> bool:
        """Whether the file wrote `path` (the loader adds depends_on for network_mode: service:x
        and volumes_from, which a shared Pod honours by itself)."""
        smap = self.project.source_map
        return smap is None or smap.locate_exact(path) is not None

    # -- keys -------------------------------------------------------------------------------

    def unconverted_keys(self, key: str, service: Service) -> None:
        ctx, base = self.ctx, ("services", key)
        keys = {k for k in service.model_fields_set if k not in ("name", "spec_digest")}
        keys |= {k for k in (service.model_extra or {}) if not k.startswith("x-")}
        for name in sorted(keys - HANDLED_KEYS):
            value = getattr(service, name, None)
            if value in (None, [], {}, False, ""):
                continue
            ctx.warn((*base, name), WHY_NOT.get(name, f"{name} is not converted to Kubernetes"))
        if service.container_name:
            ctx.note((*base, "container_name"), "Kubernetes names pods itself")
        if service.develop is not None:
            ctx.note((*base, "develop"), "develop (stack watch) acts on local containers only")
        for net, attachment in service.networks.items():
            if attachment is None:
                continue
            for field in ("aliases", "ipv4_address", "ipv6_address", "link_local_ips", "mac_address", "priority"):
                if getattr(attachment, field, None):
                    ctx.warn((*base, "networks", net, field), f"{field} is not converted: one flat Pod network")
        mode = service.network_mode
        if mode and service_reference(mode) is None and mode not in ("host", "bridge", "default"):
            ctx.warn((*base, "network_mode"), f"network_mode {mode} is not converted")
        for index, entry in enumerate(volumes_from(service)):
            if volumes_from_source(entry)[0] is None:
                ctx.warn((*base, "volumes_from", index), f"{entry}: a container outside the stack is not converted")
        for dep, edge in service.depends_on.items():
            if edge.restart and self._written(("services", key, "depends_on", dep, "restart")):
                ctx.note(
                    (*base, "depends_on", dep, "restart"), "not converted: pods are not restarted with their dependency"
                )
        deploy = service.deploy
        if deploy is not None:
            for name, why in (
                ("placement", "placement is not converted (use nodeSelector or affinity)"),
                ("rollback_config", "rollback_config is not converted (kubectl rollout undo)"),
            ):
                if getattr(deploy, name):
                    ctx.warn((*base, "deploy", name), why)
            if deploy.mode not in (None, "replicated"):
                ctx.warn((*base, "deploy", "mode"), f"mode {deploy.mode} is not converted: a Deployment is emitted")
            if deploy.endpoint_mode == "dnsrr":
                ctx.note((*base, "deploy", "endpoint_mode"), "dnsrr: clients get pod addresses from a headless Service")

    def network_notes(self) -> None:
        for key, network in sorted(self.project.networks.items()):
            if key != "default" and not network.external:
                self.ctx.note(("networks", key), "not converted: Kubernetes has one flat Pod network (no isolation)")

    # -- one Pod ---------------------------------------------------------------------------------

    def _waits(self, group: PodGroup) -> tuple[list[dict[str, Any]], bool]:
        """The init containers of a Pod, and whether one of them reads Jobs (needs the account)."""
        ctx, options = self.ctx, self.ctx.options
        wanted: dict[str, tuple[str, Condition]] = {}
        for member in group.members:
            for dep, edge in sorted(self.project.services[member].depends_on.items()):
                if dep not in self.project.services:
                    continue
                dep_root = self.root_of[dep]
                path = ("services", member, "depends_on", dep)
                if dep_root == group.root:
                    if self._written(path) and edge.condition != "service_started":
                        ctx.warn(path, f"{dep} is in the same Pod: its containers start together, nobody waits")
                    continue
                condition: Condition = edge.condition
                if condition == "service_completed_successfully" and dep != dep_root:
                    ctx.warn(path, f"{dep} shares the Pod of {dep_root}, not a Job: waiting for it to start only")
                    condition = "service_started"
                before = wanted.get(dep_root)
                if before is None or _STRENGTH[condition] > _STRENGTH[before[1]]:
                    wanted[dep_root] = (dep, condition)
        waits: list[dict[str, Any]] = []
        reads_jobs = False
        for dep_root in [k for k in self.order if k in wanted]:
            dep, condition = wanted[dep_root]
            if dep_root in self.jobs:
                reads_jobs = True
                complete = condition == "service_completed_successfully"
                if condition == "service_healthy":
                    ctx.note(
                        ("services", group.root, "depends_on"),
                        f"{dep} runs as a Job, which has no readiness: waiting for it to start",
                    )
                waits.append(
                    job_wait_container(dep, self.names[dep_root], image=options.api_wait_image, complete=complete)
                )
                continue
            ports = self.ports[dep_root]
            port = ports[0][0] if condition == "service_healthy" and ports else None
            waits.append(
                service_wait_container(
                    dep, self.names[dep_root], port, image=options.wait_image, cluster_domain=options.cluster_domain
                )
            )
        return waits, reads_jobs

    def _pod_spec(self, group: PodGroup) -> tuple[dict[str, Any], PodStorage]:
        ctx = self.ctx
        storage = PodStorage(ctx)
        containers = []
        for member in group.members:
            service = self.project.services[member]
            container = container_of(ctx, member, service, storage)
            for entry in volumes_from(service):
                source, read_only = volumes_from_source(entry)
                if source is None or source not in self.project.services:
                    continue
                shared = storage.mounts(source, self.project.services[source], shared_only=True)
                for mount in shared:
                    if read_only:
                        mount["readOnly"] = True
                taken = {m["mountPath"] for m in container.get("volumeMounts", [])}
                container.setdefault("volumeMounts", []).extend(m for m in shared if m["mountPath"] not in taken)
            for kind in ("secrets", "configs"):
                self.data_used[kind].update(ref.source for ref in getattr(service, kind))
            containers.append(container)
        self.claims |= storage.claims
        spec: dict[str, Any] = {}
        waits, reads_jobs = self._waits(group)
        if waits:
            spec["initContainers"] = waits
        spec["containers"] = containers
        spec["enableServiceLinks"] = False  # no Docker-links style *_PORT variables: a stack file sets none
        root = self.project.services[group.root]
        if reads_jobs:
            self.needs_account = True
            spec["serviceAccountName"] = dns_label(f"{self.project.name}-{WAIT_ACCOUNT}")
        if root.network_mode == "host":
            spec["hostNetwork"] = True
            spec["dnsPolicy"] = "ClusterFirstWithHostNet"
        if root.hostname:
            if dns_label(root.hostname) == root.hostname:
                spec["hostname"] = root.hostname
            else:
                ctx.warn(("services", group.root, "hostname"), "not a valid Pod hostname (an RFC 1123 label)")
        grace = [
            duration_seconds(self.project.services[m].stop_grace_period)
            for m in group.members
            if self.project.services[m].stop_grace_period is not None
        ]
        if grace:
            spec["terminationGracePeriodSeconds"] = math.ceil(max(grace))
        aliases: dict[str, list[str]] = {}
        sysctls: dict[str, str] = {}
        for member in group.members:
            service = self.project.services[member]
            for index, entry in enumerate(service.extra_hosts):
                host, sep, ip = entry.partition("=") if "=" in entry else entry.partition(":")
                if not sep or ip == "host-gateway":
                    ctx.warn(("services", member, "extra_hosts", index), f"{entry} is not converted (needs an IP)")
                    continue
                aliases.setdefault(ip.strip("[]"), []).append(host)
            sysctls.update(service.sysctls)
        if aliases:
            spec["hostAliases"] = [{"ip": ip, "hostnames": names} for ip, names in aliases.items()]
        if sysctls:
            spec["securityContext"] = {"sysctls": [{"name": k, "value": str(v)} for k, v in sorted(sysctls.items())]}
        if storage.volumes:
            spec["volumes"] = list(storage.volumes.values())
        return spec, storage

    def _template(self, group: PodGroup, spec: dict[str, Any]) -> dict[str, Any]:
        labels: dict[str, str] = {}
        annotations: dict[str, str] = {}
        for member in group.members:
            service = self.project.services[member]
            good, other = _split_labels(self.ctx, ("services", member, "labels"), service.labels)
            labels.update(good)
            annotations.update(other)
            annotations.update(service.annotations)
        labels.update(self.ctx.selector(self.names[group.root]))
        meta: dict[str, Any] = {"labels": labels}
        if annotations:
            meta["annotations"] = annotations
        return {"metadata": meta, "spec": spec}

    def _workload_meta(self, group: PodGroup) -> dict[str, Any]:
        root = self.project.services[group.root]
        deploy_labels = (root.deploy.labels if root.deploy is not None else None) or {}
        good, other = _split_labels(self.ctx, ("services", group.root, "deploy", "labels"), deploy_labels)
        meta = self.ctx.metadata(self.names[group.root], {**good, **self.ctx.selector(self.names[group.root])})
        if other:
            meta["annotations"] = other
        return meta

    def _replicas(self, group: PodGroup) -> int:
        root = self.project.services[group.root]
        for member in group.joined:
            if self.project.services[member].replicas != root.replicas:
                self.ctx.warn(
                    ("services", member),
                    f"runs in the Pod of {group.root}, with its {root.replicas} replica(s), not its own count",
                )
        return root.replicas

    def _restart_for_long_running(self, group: PodGroup) -> None:
        for member in group.members:
            service = self.project.services[member]
            if service.restart in ("no", "on-failure") or (service.restart or "").startswith("on-failure:"):
                self.ctx.warn(
                    ("services", member, "restart"),
                    f"restart {service.restart}: the pods of a Deployment or StatefulSet always restart"
                    " (only a Job, for a service_completed_successfully dependency, runs once)",
                )
            policy = service.deploy.restart_policy if service.deploy is not None else None
            if policy is not None and policy.condition not in (None, "any"):
                self.ctx.warn(
                    ("services", member, "deploy", "restart_policy"),
                    "the pods of a Deployment or StatefulSet always restart",
                )

    def _update_strategy(self, group: PodGroup) -> dict[str, Any] | None:
        root = self.project.services[group.root]
        config = root.deploy.update_config if root.deploy is not None else None
        if not config:
            return None
        path = ("services", group.root, "deploy", "update_config")
        parallelism = int(config.get("parallelism", 1) or 1)
        order = config.get("order", "stop-first")
        for key in sorted(set(config) - {"parallelism", "order"}):
            self.ctx.note((*path, key), f"{key} is not converted: a Deployment rolls on readiness")
        if order == "start-first":
            return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": parallelism, "maxUnavailable": 0}}
        return {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": parallelism}}

    def _job(self, group: PodGroup, spec: dict[str, Any]) -> None:
        root = self.project.services[group.root]
        restart = root.restart or "no"
        backoff = 0
        if restart.startswith("on-failure"):
            _, _, count = restart.partition(":")
            backoff = int(count) if count.isdigit() else 6
        elif restart in ("always", "unless-stopped"):
            self.ctx.warn(
                ("services", group.root, "restart"),
                f"restart {restart}: it runs as a Job (others wait for it to complete), not restarted once done",
            )
            backoff = 6
        policy = root.deploy.restart_policy if root.deploy is not None else None
        if policy is not None and policy.max_attempts is not None:
            backoff = policy.max_attempts
        spec["restartPolicy"] = "Never"
        replicas = self._replicas(group)
        body: dict[str, Any] = {"backoffLimit": backoff}
        if replicas != 1:
            body["completions"] = replicas
            body["parallelism"] = replicas
        body["template"] = self._template(group, spec)
        if self.ports[group.root]:
            self.ctx.note(("services", group.root, "ports"), "a Job's pods are not behind a Service")
        self.ctx.add("Job", "batch/v1", self.names[group.root], {"metadata": self._workload_meta(group), "spec": body})

    def _services(self, group: PodGroup) -> None:
        ctx, name = self.ctx, self.names[group.root]
        if name != group.root:
            ctx.warn(
                ("services", group.root),
                f"{group.root!r} is not a valid Kubernetes Service name: clients must use {name!r}",
            )
        ports = self.ports[group.root]
        spec: dict[str, Any] = {"selector": ctx.selector(name)}
        if ports:
            spec["type"] = "ClusterIP"
            spec["ports"] = [
                {"name": f"{proto.lower()}-{number}", "port": number, "targetPort": number, "protocol": proto}
                for number, proto in ports
            ]
        else:
            spec["clusterIP"] = "None"  # headless: the name resolves to the ready pods, any port
        ctx.add("Service", "v1", name, {"metadata": ctx.metadata(name), "spec": spec}, group.root)
        published: list[dict[str, Any]] = []
        for member in group.members:
            for index, port in enumerate(self.project.services[member].ports):
                path = ("services", member, "ports", index)
                # Docker publishes every `ports` entry: on the port given, else on a free one.
                shown = port.published or f"(any) for {port.target}"
                if ctx.options.published == "none":
                    ctx.warn(path, f"published port {shown}: not offered outside the cluster (--published none)")
                    continue
                if port.host_ip:
                    ctx.warn(
                        path, f"host_ip {port.host_ip} is not converted: the Service listens on every node address"
                    )
                number = int(port.published) if port.published and port.published.isdigit() else port.target
                entry: dict[str, Any] = {
                    "name": f"{port.protocol.lower()}-{number}",
                    "port": number,
                    "targetPort": port.target,
                    "protocol": port.protocol.upper(),
                }
                if ctx.options.published == "nodeport" and port.published:
                    if 30000 <= number <= 32767:
                        entry["nodePort"] = number
                    else:
                        ctx.note(
                            path,
                            f"published port {number} is outside the NodePort range 30000-32767: the cluster picks"
                            " the node port (kubectl get service shows it; --published loadbalancer keeps the port)",
                        )
                published.append(entry)
        if published:
            kind = "NodePort" if ctx.options.published == "nodeport" else "LoadBalancer"
            pub_name = dns_label(f"{name}-published")
            pub_spec = {"type": kind, "selector": ctx.selector(name), "ports": published}
            ctx.add("Service", "v1", pub_name, {"metadata": ctx.metadata(pub_name), "spec": pub_spec}, group.root)

    def pod(self, group: PodGroup) -> None:
        job = group.root in self.jobs
        spec, storage = self._pod_spec(group)
        if job:
            self._job(group, spec)
            return
        self._services(group)
        self._restart_for_long_running(group)
        replicas = self._replicas(group)
        body: dict[str, Any] = {
            "replicas": replicas,
            "selector": {"matchLabels": self.ctx.selector(self.names[group.root])},
        }
        name = self.names[group.root]
        if storage.claims and replicas == 1:
            body["serviceName"] = name
            body["template"] = self._template(group, spec)
            self.ctx.add("StatefulSet", "apps/v1", name, {"metadata": self._workload_meta(group), "spec": body})
            return
        for claim in sorted(storage.claims):
            self.ctx.note(
                ("volumes", claim),
                f"{replicas} replicas of {group.root} share it: the claim needs x-kubernetes.access_modes"
                " [ReadWriteMany] unless they run on one node",
            )
        strategy = self._update_strategy(group)
        if strategy is not None:
            body["strategy"] = strategy
        body["template"] = self._template(group, spec)
        self.ctx.add("Deployment", "apps/v1", name, {"metadata": self._workload_meta(group), "spec": body})

    def rbac(self) -> None:
        ctx = self.ctx
        name = dns_label(f"{self.project.name}-{WAIT_ACCOUNT}")
        ctx.add("ServiceAccount", "v1", name, {})
        rules = [{"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get"]}]
        ctx.add("Role", "rbac.authorization.k8s.io/v1", name, {"rules": rules})
        namespace = ctx.options.namespace
        if namespace is None:
            namespace = "default"
            ctx.note(
                ("services",),
                "the RoleBinding letting init containers read Jobs names its ServiceAccount in namespace default:"
                " convert with --namespace to apply elsewhere",
            )
        subject = {"kind": "ServiceAccount", "name": name, "namespace": namespace}
        ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}
        ctx.add("RoleBinding", "rbac.authorization.k8s.io/v1", name, {"subjects": [subject], "roleRef": ref})

    def run(self) -> KubernetesStack:
        for key in self.order:
            self.unconverted_keys(key, self.project.services[key])
        self.network_notes()
        for group in self.groups:
            self.pod(group)
        persistent_claims(self.ctx, self.claims)
        data_objects(self.ctx, self.data_used)
        if self.needs_account:
            self.rbac()
        result = self.ctx.result
        result.manifests.sort(key=lambda m: _KIND_ORDER.index(m.kind))
        sort_by_location(result.unsupported)
        sort_by_location(result.notes)
        return result


def translate(project: Project, options: KubernetesOptions | None = None) -> KubernetesStack:
    """The Kubernetes objects of `project` (every enabled service), and the keys they cannot
    honour (`.unsupported`) or honour with a caveat (`.notes`), each with its file and line.
    Raises UsageError for bad options, StackFileError (located) for values that cannot be
    translated at all."""
    options = options or KubernetesOptions()
    try:
        parse_version(options.version)
    except ValueError as error:
        raise UsageError(str(error)) from None
    if options.namespace is not None and dns_label(options.namespace) != options.namespace:
        raise UsageError(f"namespace {options.namespace!r} is not a valid Kubernetes namespace (an RFC 1123 label)")
    return _Translation(project, options).run()
