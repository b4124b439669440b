"""What `stack convert kubernetes` makes of each part of a stack file (no cluster, no daemon)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from stack.api.kubernetes import kubernetes_convert
from stack.convert.kubernetes import KubernetesOptions, KubernetesStack, translate
from stack.convert.kubernetes.probes import probe_command
from stack.convert.unsupported import UnconvertibleKeysError
from stack.errors import UsageError
from stack.spec.loader import LoadOptions, load_project
from tests.unit.kubernetes.validation import validation_errors


def convert(tmp_path: Path, text: str, **options: Any) -> KubernetesStack:
    (tmp_path / "stack.yaml").write_text(text)
    return translate(load_project(LoadOptions(files=[str(tmp_path / "stack.yaml")])), KubernetesOptions(**options))


def pod_spec(converted: KubernetesStack, kind: str, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = converted.find(kind, name)["spec"]["template"]["spec"]
    return spec


def container(converted: KubernetesStack, kind: str, name: str, index: int = 0) -> dict[str, Any]:
    found: dict[str, Any] = pod_spec(converted, kind, name)["containers"][index]
    return found


def test_probe_commands_keep_the_healthcheck_forms() -> None:
    assert probe_command(["CMD", "pg_isready", "-U", "app"]) == ["pg_isready", "-U", "app"]
    assert probe_command(["CMD-SHELL", "curl -f localhost || exit 1"]) == ["sh", "-c", "curl -f localhost || exit 1"]
    assert probe_command(["NONE"]) is None
    assert probe_command([]) is None


def test_healthcheck_becomes_readiness_liveness_and_startup_probes(tmp_path: Path) -> None:
    converted = convert(
        tmp_path,
        """services:
  db:
    image: postgres:16
    healthcheck:
      test: pg_isready
      interval: 4s
      timeout: 2s
      retries: 5
      start_period: 20s
      start_interval: 1s
  quiet:
    image: busybox
    healthcheck: {test: ["NONE"]}
  off:
    image: busybox
    healthcheck: {disable: true}
""",
    )
    db = container(converted, "Deployment", "db")
    expected = {
        "exec": {"command": ["sh", "-c", "pg_isready"]},
        "periodSeconds": 4,
        "timeoutSeconds": 2,
        "successThreshold": 1,
        "failureThreshold": 5,
    }
    assert db["readinessProbe"] == expected
    assert db["livenessProbe"] == expected
    # every second during the 20 s start period, then as many failures as `retries` allows
    assert db["startupProbe"]["periodSeconds"] == 1
    assert db["startupProbe"]["failureThreshold"] == 20 + 5
    for name in ("quiet", "off"):
        assert not {"readinessProbe", "livenessProbe", "startupProbe"} & set(container(converted, "Deployment", name))


def test_daemon_defaults_fill_what_the_healthcheck_leaves_out(tmp_path: Path) -> None:
    converted = convert(tmp_path, "services:\n  a:\n    image: x\n    healthcheck:\n      test: [CMD, 'true']\n")
    probe = container(converted, "Deployment", "a")["readinessProbe"]
    assert (probe["periodSeconds"], probe["timeoutSeconds"], probe["failureThreshold"]) == (30, 30, 3)
    assert "startupProbe" not in container(converted, "Deployment", "a")


def test_depends_on_conditions_become_waiting_init_containers(tmp_path: Path) -> None:
    converted = convert(
        tmp_path,
        """name: shop
services:
  cache: {image: redis, ports: ["6379"], healthcheck: {test: [CMD, redis-cli, ping]}}
  search: {image: opensearch}
  setup: {image: tool, command: [init]}
  app:
    image: app
    depends_on:
      cache: {condition: service_healthy}
      search: {condition: service_started}
      setup: {condition: service_completed_successfully}
""",
        namespace="prod",
    )
    waits = {c["name"]: c for c in pod_spec(converted, "Deployment", "app")["initContainers"]}
    assert set(waits) == {"wait-for-cache", "wait-for-search", "wait-for-setup"}
    cache = waits["wait-for-cache"]
    assert cache["image"] == "busybox:1.36"
    assert 'nc -w 2 "$WAIT_HOST" 6379' in cache["command"][2]
    assert {"name": "WAIT_HOST", "value": "cache.$(POD_NAMESPACE).svc.cluster.local"} in cache["env"]
    assert "nslookup" in waits["wait-for-search"]["command"][2]
    setup = waits["wait-for-setup"]
    assert setup["image"] == "curlimages/curl:8.11.1"
    assert {"name": "WAIT_JOB", "value": "setup"} in setup["env"]
    assert '"type":"Complete","status":"True"' in setup["command"][2]
    # the dependency runs once, as a Job; the waiting pod may read Jobs
    job = converted.find("Job", "setup")
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] == 0
    account = "shop-job-waiter"
    assert pod_spec(converted, "Deployment", "app")["serviceAccountName"] == account
    assert converted.find("Role", account)["rules"] == [
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get"]}
    ]
    binding = converted.find("RoleBinding", account)
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": "prod"}]
    assert all(m.body["metadata"]["namespace"] == "prod" for m in converted.manifests)
    assert validation_errors(converted.documents()) == []


def test_a_named_volume_with_one_replica_is_a_statefulset_with_its_claim(tmp_path: Path) -> None:
    converted = convert(
        tmp_path,
        """services:
  db: {image: postgres, volumes: ["data:/var/lib/postgresql/data"]}
  cache: {image: redis, volumes: ["cache:/data"], deploy: {replicas: 2}}
volumes:
  data: {x-kubernetes: {size: 5Gi}}
  cache: {}
""",
        volume_size="2Gi",
    )
    assert converted.find("StatefulSet", "db")["spec"]["serviceName"] == "db"
    assert converted.find("PersistentVolumeClaim", "data")["spec"]["resources"]["requests"]["storage"] == "5Gi"
    assert converted.find("PersistentVolumeClaim", "cache")["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert converted.find("Deployment", "cache")["spec"]["replicas"] == 2
    assert any("ReadWriteMany" in n.message for n in converted.notes)


def test_services_and_published_ports(tmp_path: Path) -> None:
    text = 'services:\n  web:\n    image: nginx\n    ports: ["8080:80", "31000:81/udp"]\n  worker: {image: w}\n'
    nodeport = convert(tmp_path, text)
    service = nodeport.find("Service", "web")["spec"]
    assert service["type"] == "ClusterIP"
    assert [(p["port"], p["protocol"]) for p in service["ports"]] == [(80, "TCP"), (81, "UDP")]
    published = nodeport.find("Service", "web-published")["spec"]
    assert published["type"] == "NodePort"
    assert [(p["port"], p["targetPort"], p.get("nodePort")) for p in published["ports"]] == [
        (8080, 80, None),
        (31000, 81, 31000),
    ]
    assert any("outside the NodePort range" in n.message for n in nodeport.notes)
    assert nodeport.find("Service", "worker")["spec"]["clusterIP"] == "None"  # headless: no ports named
    balancer = convert(tmp_path, text, published="loadbalancer")
    assert balancer.find("Service", "web-published")["spec"]["type"] == "LoadBalancer"
    hidden = convert(tmp_path, text, published="none")
    with pytest.raises(KeyError):
        hidden.find("Service", "web-published")
    assert {p.path for p in hidden.unsupported} == {"services.web.ports[0]", "services.web.ports[1]"}


def test_network_mode_service_and_volumes_from_make_one_pod(tmp_path: Path) -> None:
    converted = convert(
        tmp_path,
        """services:
  app: {image: app, volumes: ["/shared", "state:/state"], expose: ["80"]}
  proxy: {image: envoy, network_mode: "service:app"}
  backup: {image: restic, volumes_from: ["app:ro"]}
volumes:
  state: {}
""",
    )
    spec = pod_spec(converted, "StatefulSet", "app")
    names = [c["name"] for c in spec["containers"]]
    assert names[0] == "app" and sorted(names[1:]) == ["backup", "proxy"]  # the root first
    backup = spec["containers"][names.index("backup")]
    assert {(m["mountPath"], m.get("readOnly")) for m in backup["volumeMounts"]} == {
        ("/shared", True),
        ("/state", True),
    }
    assert {v["name"] for v in spec["volumes"]} == {"app-anon-0", "vol-state"}
    assert {m.name for m in converted.manifests if m.kind in ("Deployment", "StatefulSet")} == {"app"}
    assert {m.name for m in converted.manifests if m.kind == "Service"} == {"app"}


def test_bind_mounts_are_listed_with_their_line_unless_host_path_is_asked(tmp_path: Path) -> None:
    text = "services:\n  web:\n    image: nginx\n    volumes:\n      - ./html:/usr/share/nginx/html:ro\n"
    listed = convert(tmp_path, text)
    [problem] = listed.unsupported
    assert problem.render().startswith(f"{tmp_path / 'stack.yaml'}:5:")
    assert "--host-path" in problem.message
    assert "volumeMounts" not in container(listed, "Deployment", "web")
    mounted = convert(tmp_path, text, host_path=True)
    assert mounted.unsupported == []
    assert pod_spec(mounted, "Deployment", "web")["volumes"] == [
        {"name": "web-bind-0", "hostPath": {"path": str(tmp_path / "html")}}
    ]


def test_container_fields(tmp_path: Path) -> None:
    converted = convert(
        tmp_path,
        """services:
  api:
    image: api
    entrypoint: [/bin/app]
    command: [serve, "$$(literal)"]
    environment: {B: "2", A: "1", UNSET: null}
    user: "1000:1000"
    working_dir: /srv
    read_only: true
    cap_drop: [ALL]
    mem_limit: 64m
    cpus: 1.5
    stop_grace_period: 1m
    restart: unless-stopped
    labels: {team: core}
""",
    )
    api = container(converted, "Deployment", "api")
    assert api["command"] == ["/bin/app"]
    assert api["args"] == ["serve", "$$(literal)"]  # Kubernetes turns $$ into $: the literal $(literal)
    assert api["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert api["securityContext"] == {
        "runAsUser": 1000,
        "runAsGroup": 1000,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert api["resources"] == {"limits": {"cpu": "1500m", "memory": str(64 * 1024 * 1024)}}
    assert api["workingDir"] == "/srv"
    spec = pod_spec(converted, "Deployment", "api")
    assert spec["terminationGracePeriodSeconds"] == 60
    assert converted.find("Deployment", "api")["spec"]["template"]["metadata"]["labels"]["team"] == "core"
    assert converted.unsupported == []


def test_unconvertible_keys_are_listed_with_file_and_line(tmp_path: Path) -> None:
    converted = convert(
        tmp_path,
        """services:
  odd_name:
    image: x
    privileged: true
    devices: ["/dev/fuse"]
    ulimits: {nofile: 1024}
    restart: "no"
    networks:
      default:
        aliases: [other]
""",
    )
    found = {p.path: p for p in converted.unsupported}
    assert set(found) == {
        "services.odd_name",
        "services.odd_name.devices",
        "services.odd_name.ulimits",
        "services.odd_name.restart",
        "services.odd_name.networks.default.aliases",
    }
    assert found["services.odd_name.devices"].location.line == 5  # type: ignore[union-attr]
    assert "'odd-name'" in found["services.odd_name"].message  # its Service name, as clients must use it
    assert container(converted, "Deployment", "odd-name")["securityContext"] == {"privileged": True}


def test_strict_refuses_and_bad_options_are_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text("services:\n  a:\n    image: x\n    stop_signal: SIGINT\n")
    project = load_project(LoadOptions(files=[str(tmp_path / "stack.yaml")]))
    with pytest.raises(UnconvertibleKeysError) as refused:
        kubernetes_convert(project, strict=True)
    assert refused.value.exit_code == 2
    assert f"{tmp_path / 'stack.yaml'}:4:5: services.a.stop_signal" in str(refused.value.render())
    with pytest.raises(UsageError):
        translate(project, KubernetesOptions(version="1.19"))
    with pytest.raises(UsageError):
        translate(project, KubernetesOptions(namespace="Not_Valid"))


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "DOCKER_HOST": "unix:///nonexistent.sock"}
    return subprocess.run(
        [sys.executable, "-m", "stack", "-p", "demo", "convert", "kubernetes", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_cli_writes_yaml_to_stdout_or_one_file_per_object(tmp_path: Path) -> None:
    (tmp_path / "stack.yaml").write_text(
        'services:\n  web:\n    image: nginx\n    ports: ["8080:80"]\n    volumes: ["./site:/srv"]\n'
    )
    done = _cli(tmp_path, "--namespace", "demo")
    assert done.returncode == 0, done.stderr
    documents = [d for d in yaml.safe_load_all(done.stdout) if d]
    assert {(d["kind"], d["metadata"]["name"]) for d in documents} == {
        ("Service", "web"),
        ("Service", "web-published"),
        ("Deployment", "web"),
    }
    assert f"WARN: {tmp_path / 'stack.yaml'}:5:" in done.stderr
    written = _cli(tmp_path, "-o", "out")
    assert written.returncode == 0, written.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "deployment-web.yaml",
        "service-web-published.yaml",
        "service-web.yaml",
    ]
    refused = _cli(tmp_path, "--strict")
    assert refused.returncode == 2 and refused.stdout == ""
    assert "services.web.volumes[0]" in refused.stderr and "Traceback" not in refused.stderr


def test_a_port_without_a_published_number_is_still_published_and_x_kubernetes_typos_are_listed(
    tmp_path: Path,
) -> None:
    converted = convert(
        tmp_path,
        'services:\n  db:\n    image: postgres\n    ports: ["5432"]\n    volumes: ["data:/d"]\n'
        "volumes:\n  data:\n    x-kubernetes: {sise: 5Gi}\n",
    )
    published = converted.find("Service", "db-published")["spec"]
    assert published["ports"] == [{"name": "tcp-5432", "port": 5432, "targetPort": 5432, "protocol": "TCP"}]
    [typo] = converted.unsupported
    assert typo.path == "volumes.data.x-kubernetes.sise" and typo.location is not None and typo.location.line == 8
    assert converted.find("PersistentVolumeClaim", "data")["spec"]["resources"]["requests"]["storage"] == "1Gi"
