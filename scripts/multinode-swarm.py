#!/usr/bin/env python3
"""A three-node Docker Swarm of Docker-in-Docker nodes on this machine, and a real
`stack swarm deploy --wait` on it (issue 15's stretch goal).

Steps (every wait polls with a deadline and says what it waits for):

1. build the node image stack-test/dind:bookworm (tests/images/dind/build.sh: cached);
2. a private bridge network `PREFIX-net` (label dev.stack.test=multinode) and Debian's
   docker-registry on the host, bound to that network's gateway address (the one address every
   node reaches; each node's dockerd is started with --insecure-registry for it: plain HTTP);
3. three node containers `PREFIX-node1..3` (a volume each on /var/lib/docker, so the inner
   dockerd uses overlay2), whose dockerd listens on tcp :2375 (no TLS) of its private address
   only. They run --privileged, or, where this machine's capability bounding set lacks a
   capability (runc then refuses --privileged: "unable to apply caps"), with every capability
   but those, seccomp and the masked /proc paths unconfined, and all devices allowed;
4. `docker swarm init` on node 1 (advertising its private address), nodes 2 and 3 join as
   workers (one manager is enough to deploy through, and a worker shows that tasks land on
   nodes that are not managers);
5. `stack swarm deploy --wait` from the host with DOCKER_HOST=tcp://NODE1:2375: a `build:`
   service whose image names the registry (stack builds it on node 1 and pushes it; the other
   nodes pull it), 3 replicas with max_replicas_per_node 1, endpoint_mode dnsrr, on an overlay
   network (no `mode: host` port: stack's build step refuses a fixed host port with replicas > 1,
   although Swarm would place them on different nodes);
6. checks: one running task per node; the task on node 2 resolves `tasks.web` to the three
   tasks' overlay addresses and reaches the task on node 3 (exec through the node's docker);
   `stack swarm ps` shows all nodes;
7. `stack swarm rm`, then teardown in a `finally` (also on failure and Ctrl-C): node containers
   one at a time (stop, then remove), their volumes, the network, the registry process.

Prints a short report of timings; exits 0 when everything worked, 1 on a failure.
Usage: .venv/bin/python scripts/multinode-swarm.py [--nodes 3] [--keep-on-failure]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TypeVar

ROOT = Path(__file__).resolve().parent.parent
BUILD_SCRIPT = ROOT / "tests" / "images" / "dind" / "build.sh"
IMAGE = "stack-test/dind:bookworm"
LABEL = "dev.stack.test"
LABEL_VALUE = "multinode"
RUN_LABEL = "dev.stack.test.multinode-run"
DOCKERD_PORT = 2375
SERVICE = "web"
SERVICE_PORT = 8080
BUSYBOX = Path("/bin/busybox")
# Linux capabilities by bit, as far as Docker 20.10's `--cap-add=ALL` goes (0 .. AUDIT_READ).
CAPABILITIES = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
]

BUILD_TIMEOUT = 1200.0  # mmdebstrap of docker.io: minutes when not cached
DOCKERD_TIMEOUT = 120.0
SWARM_TIMEOUT = 90.0
DEPLOY_TIMEOUT = 300.0
CHECK_TIMEOUT = 60.0
COMMAND_TIMEOUT = 120.0
STOP_TIMEOUT = 60  # seconds `docker stop` gives a node (its dockerd stops its own containers)

T = TypeVar("T")


class Failure(Exception):
    """A step failed: the message says which and why."""


class Fatal(Failure):
    """A failure that waiting longer cannot mend (a node or the registry exited)."""


def log(message: str) -> None:
    print(f"multinode: {message}", file=sys.stderr, flush=True)


def run(
    args: Sequence[str],
    *,
    timeout: float = COMMAND_TIMEOUT,
    check: bool = True,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a command with a timeout; `check`: Failure (with its output) when it exits non-zero."""
    try:
        done = subprocess.run(
            list(args), capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise Failure(f"`{' '.join(args)}` did not finish within {timeout:g} s") from exc
    if check and done.returncode != 0:
        raise Failure(
            f"`{' '.join(args)}` exited {done.returncode}:\n{done.stderr.strip()}\n{done.stdout.strip()}".rstrip()
        )
    return done


def wait_for(what: str, probe: Callable[[], T | None], *, timeout: float, interval: float = 0.5) -> T:
    """Poll `probe` until it returns a value other than None (exceptions count as not yet),
    at most `timeout` seconds; Failure naming `what` and the last error otherwise."""
    log(f"waiting for {what} (at most {timeout:g} s)")
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while True:
        try:
            value = probe()
            if value is not None:
                return value
        except Fatal:
            raise
        except (Failure, OSError, ValueError) as exc:
            last = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        if time.monotonic() > deadline:
            raise Failure(f"timed out after {timeout:g} s waiting for {what} (last: {last})")
        time.sleep(interval)  # poll interval, not a synchronisation


@dataclass
class Node:
    name: str  # the container's name on the host
    hostname: str  # the swarm node's name
    volume: str
    ip: str = ""

    @property
    def docker_host(self) -> str:
        return f"tcp://{self.ip}:{DOCKERD_PORT}"

    def docker(
        self, *args: str, timeout: float = COMMAND_TIMEOUT, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """The docker CLI against this node's dockerd (over its private tcp address)."""
        return run(["docker", "--host", self.docker_host, *args], timeout=timeout, check=check)


@dataclass
class Cluster:
    prefix: str
    workdir: Path
    network: str = ""
    gateway: str = ""
    subnet: str = ""
    registry: str = ""  # GATEWAY:PORT
    registry_process: subprocess.Popen[bytes] | None = None
    nodes: list[Node] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def labels(self) -> list[str]:
        return ["--label", f"{LABEL}={LABEL_VALUE}", "--label", f"{RUN_LABEL}={self.prefix}"]


@contextlib.contextmanager
def timed(cluster: Cluster, name: str) -> Iterator[None]:
    started = time.monotonic()
    try:
        yield
    finally:
        cluster.timings[name] = time.monotonic() - started


# -- setup ------------------------------------------------------------------------------------


def build_image() -> None:
    log(f"building {IMAGE} ({BUILD_SCRIPT.relative_to(ROOT)}, cached by its recipe)")
    done = run(["bash", str(BUILD_SCRIPT)], timeout=BUILD_TIMEOUT, check=True)
    for line in (done.stderr or "").strip().splitlines():
        log(line)


def create_network(cluster: Cluster) -> None:
    name = f"{cluster.prefix}-net"
    run(["docker", "network", "create", "--driver", "bridge", *cluster.labels, name])
    cluster.network = name
    config = json.loads(run(["docker", "network", "inspect", name]).stdout)[0]["IPAM"]["Config"][0]
    cluster.subnet, cluster.gateway = str(config["Subnet"]), str(config["Gateway"])
    log(f"network {name}: {cluster.subnet}, gateway {cluster.gateway}")


def _free_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        return int(sock.getsockname()[1])


def start_registry(cluster: Cluster) -> None:
    """Debian's docker-registry on the host, on the private network's gateway address."""
    binary = shutil.which("docker-registry")
    if binary is None:
        raise Failure("docker-registry is not installed (Debian package docker-registry)")
    root = cluster.workdir / "registry"
    root.mkdir()
    address = f"{cluster.gateway}:{_free_port(cluster.gateway)}"
    config = [
        "version: 0.1",
        "log:",
        "  level: warn",
        "  accesslog: {disabled: true}",
        "storage:",
        f"  filesystem: {{rootdirectory: {root / 'data'}}}",
        "  delete: {enabled: true}",
        "http:",
        f"  addr: {address}",
        "  secret: stack-multinode",
    ]
    (root / "config.yml").write_text("\n".join(config) + "\n")
    with (root / "registry.log").open("wb") as out:
        cluster.registry_process = subprocess.Popen(
            [binary, "serve", str(root / "config.yml")], stdout=out, stderr=subprocess.STDOUT, cwd=root
        )
    cluster.registry = address
    process = cluster.registry_process

    def answers() -> bool | None:
        if process.poll() is not None:
            raise Fatal(f"docker-registry exited {process.returncode}: {(root / 'registry.log').read_text()}")
        try:
            with urllib.request.urlopen(f"http://{address}/v2/", timeout=2) as response:
                return True if response.status == 200 else None
        except urllib.error.URLError:
            return None

    wait_for(f"docker-registry to answer on http://{address}/v2/", answers, timeout=20, interval=0.1)


def missing_capabilities() -> list[str]:
    """Capabilities absent from this machine's bounding set (read from PID 1: the daemon's
    machine, since the nodes' network is a local bridge)."""
    status = Path("/proc/1/status").read_text()
    found = re.search(r"^CapBnd:\s*([0-9a-fA-F]+)$", status, flags=re.MULTILINE)
    if found is None:
        return []
    bounding = int(found.group(1), 16)
    return [name for bit, name in enumerate(CAPABILITIES) if not (bounding >> bit) & 1]


def node_security() -> list[str]:
    """`--privileged`, or where the bounding set lacks a capability (runc then refuses a
    privileged container: "unable to apply caps: operation not permitted") the same minus those
    capabilities; the node's entrypoint remounts /sys and its cgroups read-write."""
    missing = missing_capabilities()
    if not missing:
        return ["--privileged"]
    log(f"not --privileged: this machine's capability bounding set lacks {', '.join(missing)}")
    return [
        "--cap-add=ALL",
        *(f"--cap-drop={name}" for name in missing),
        "--security-opt=seccomp=unconfined",
        "--security-opt=systempaths=unconfined",
        "--device-cgroup-rule=a *:* rwm",
    ]


def start_nodes(cluster: Cluster, count: int) -> None:
    security = node_security()
    for index in range(1, count + 1):
        node = Node(
            name=f"{cluster.prefix}-node{index}", hostname=f"node{index}", volume=f"{cluster.prefix}-node{index}-data"
        )
        run(["docker", "volume", "create", *cluster.labels, node.volume])
        cluster.nodes.append(node)  # before `run`: a half-started node is torn down too
        run(
            [
                "docker", "run", "--detach", *security,
                "--name", node.name, "--hostname", node.hostname,
                "--network", cluster.network, *cluster.labels,
                "--volume", f"{node.volume}:/var/lib/docker",
                IMAGE,
                f"--insecure-registry={cluster.registry}",
            ]
        )  # fmt: skip
        inspected = json.loads(run(["docker", "container", "inspect", node.name]).stdout)[0]
        node.ip = str(inspected["NetworkSettings"]["Networks"][cluster.network]["IPAddress"])
        log(f"{node.name}: {node.ip}")
    for node in cluster.nodes:

        def answers(node: Node = node) -> str | None:
            state = json.loads(run(["docker", "container", "inspect", node.name]).stdout)[0]["State"]
            if not state["Running"]:
                logs = run(["docker", "logs", "--tail", "20", node.name], check=False)
                raise Fatal(f"{node.name} exited ({state['ExitCode']}): {logs.stderr.strip()} {logs.stdout.strip()}")
            done = node.docker("version", "--format", "{{.Server.Version}}", timeout=10, check=False)
            return done.stdout.strip() if done.returncode == 0 else None

        version = wait_for(
            f"the dockerd of {node.name} to answer on {node.docker_host}", answers, timeout=DOCKERD_TIMEOUT
        )
        driver = node.docker("info", "--format", "{{.Driver}}").stdout.strip()
        log(f"{node.name}: dockerd {version}, storage driver {driver}")


def form_swarm(cluster: Cluster) -> None:
    manager, workers = cluster.nodes[0], cluster.nodes[1:]
    manager.docker("swarm", "init", "--advertise-addr", manager.ip, "--listen-addr", f"{manager.ip}:2377")
    token = manager.docker("swarm", "join-token", "--quiet", "worker").stdout.strip()
    for worker in workers:
        worker.docker("swarm", "join", "--token", token, "--advertise-addr", worker.ip, f"{manager.ip}:2377")

    def all_ready() -> list[str] | None:
        lines = manager.docker("node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.Availability}}").stdout
        ready = [line.split()[0] for line in lines.splitlines() if line.split()[1:] == ["Ready", "Active"]]
        return ready if len(ready) == len(cluster.nodes) else None

    ready = wait_for(
        f"{len(cluster.nodes)} nodes Ready in the swarm of {manager.name}", all_ready, timeout=SWARM_TIMEOUT
    )
    log(f"swarm formed: {', '.join(sorted(ready))} (manager {manager.hostname})")


# -- the deploy and its checks ----------------------------------------------------------------


def stack_program() -> str:
    beside = Path(sys.executable).parent / "stack"
    found = str(beside) if beside.exists() else shutil.which("stack")
    if found is None:
        raise Failure("the stack command is not installed (pip install -e . in the venv)")
    return found


def write_project(cluster: Cluster) -> Path:
    project = cluster.workdir / "project"
    app = project / SERVICE
    app.mkdir(parents=True)
    shutil.copy(BUSYBOX, app / "busybox")  # the nodes have no image to start FROM: scratch + busybox
    (app / "Dockerfile").write_text(
        'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nCMD ["sh"]\n'
    )
    (project / "stack.yaml").write_text(
        f"""services:
  {SERVICE}:
    build: ./{SERVICE}
    image: {cluster.registry}/multinode/{SERVICE}:1
    command: [sh, -c, 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p {SERVICE_PORT} -h /www']
    init: true
    networks: [mesh]
    deploy:
      replicas: {len(cluster.nodes)}
      endpoint_mode: dnsrr
      placement: {{max_replicas_per_node: 1}}
networks:
  mesh: {{driver: overlay}}
"""
    )
    return project


def stack(
    cluster: Cluster, project: Path, *args: str, timeout: float = COMMAND_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_HOST": cluster.nodes[0].docker_host}
    return run(
        [stack_program(), "-f", str(project / "stack.yaml"), "-p", cluster.prefix, *args],
        timeout=timeout,
        env=env,
        cwd=project,
    )


def task_container(node: Node, service: str) -> str | None:
    ids = node.docker(
        "ps", "--quiet", "--filter", f"label=com.docker.swarm.service.name={service}", "--filter", "status=running"
    ).stdout.split()
    if len(ids) > 1:
        raise Fatal(f"{node.hostname} runs {len(ids)} tasks of {service}, expected at most one")
    return ids[0] if ids else None


def overlay_ip(node: Node, container: str, network: str) -> str:
    networks = json.loads(node.docker("container", "inspect", container).stdout)[0]["NetworkSettings"]["Networks"]
    if network not in networks:
        raise Failure(f"task {container[:12]} on {node.hostname} is not on {network} (on {sorted(networks)})")
    return str(networks[network]["IPAddress"])


def check(cluster: Cluster, project: Path) -> None:
    service, network = f"{cluster.prefix}_{SERVICE}", f"{cluster.prefix}_mesh"
    manager = cluster.nodes[0]

    def placement() -> dict[str, str] | None:
        lines = manager.docker(
            "service", "ps", service, "--filter", "desired-state=running", "--format", "{{.Node}} {{.CurrentState}}"
        ).stdout.splitlines()
        running = [line.split()[0] for line in lines if " Running " in f"{line} "]
        if sorted(running) != sorted(n.hostname for n in cluster.nodes):
            raise Failure(f"running tasks on {sorted(running)}")
        found = {n.hostname: task_container(n, service) for n in cluster.nodes}
        return {k: v for k, v in found.items() if v} if all(found.values()) else None

    tasks = wait_for(f"one running task of {service} on each node", placement, timeout=CHECK_TIMEOUT)
    log("one task per node: " + ", ".join(f"{k}={v[:12]}" for k, v in sorted(tasks.items())))

    image = manager.docker("service", "inspect", "--format", "{{.Spec.TaskTemplate.ContainerSpec.Image}}", service)
    name, _, digest = image.stdout.strip().partition("@")
    repository = name.rsplit(":", 1)[0] if ":" in name.rsplit("/", 1)[-1] else name
    if not digest or not repository.startswith(f"{cluster.registry}/"):
        raise Failure(f"{service} runs {image.stdout.strip()!r}, not an image of {cluster.registry} by digest")
    for node in cluster.nodes:  # node 1 built and pushed it; the others can only have pulled it
        node.docker("image", "inspect", "--format", "{{.Id}}", f"{repository}@{digest}")
    log(f"every node has {repository}@{digest[:19]}... (built on node1, pushed, pulled by the others)")

    ips = {n.hostname: overlay_ip(n, tasks[n.hostname], network) for n in cluster.nodes}
    source, target = cluster.nodes[1], cluster.nodes[-1]

    def resolved() -> set[str] | None:
        done = source.docker("exec", tasks[source.hostname], "nslookup", f"tasks.{SERVICE}", check=False, timeout=20)
        answer = set(re.findall(r"Address:\s*(\d+\.\d+\.\d+\.\d+)\s*$", done.stdout, flags=re.MULTILINE))
        answer.discard("127.0.0.11")
        return answer if answer == set(ips.values()) else None

    answer = wait_for(
        f"tasks.{SERVICE}, resolved in the task on {source.hostname}, to be the tasks' {sorted(ips.values())}",
        resolved,
        timeout=CHECK_TIMEOUT,
    )
    log(f"tasks.{SERVICE} on {source.hostname} -> {sorted(answer)}")

    def reached() -> str | None:
        done = source.docker(
            "exec", tasks[source.hostname], "wget", "-q", "-O", "-",  # no -T: it segfaults in busybox 1.35
            f"http://{ips[target.hostname]}:{SERVICE_PORT}/",
            check=False, timeout=20,
        )  # fmt: skip
        return done.stdout.strip() if done.returncode == 0 else None

    hostname = wait_for(
        f"the task on {source.hostname} to reach {target.hostname}'s task ({ips[target.hostname]}) over the overlay",
        reached,
        timeout=CHECK_TIMEOUT,
    )
    if not tasks[target.hostname].startswith(hostname):
        raise Failure(f"{ips[target.hostname]} answered {hostname!r}, not the task on {target.hostname}")
    log(f"{source.hostname} -> {target.hostname} over the overlay: answered by task {hostname}")

    ps = stack(cluster, project, "swarm", "ps").stdout
    print(ps, end="", flush=True)
    # Its NODE column is the node's ID (12 characters), not its hostname.
    listed = manager.docker("node", "ls", "--format", "{{.ID}} {{.Hostname}}").stdout.split()
    ids = dict(zip(listed[1::2], listed[0::2], strict=True))
    missing = [name for name, node_id in sorted(ids.items()) if not re.search(rf"\b{node_id[:12]}\b", ps)]
    if missing or len(ids) != len(cluster.nodes):
        raise Failure(f"`stack swarm ps` does not show the nodes {missing} (IDs {ids})")
    log("stack swarm ps shows every node: " + ", ".join(f"{k}={v[:12]}" for k, v in sorted(ids.items())))


def deploy_and_check(cluster: Cluster) -> None:
    project = write_project(cluster)
    log(f"stack swarm deploy --wait with DOCKER_HOST={cluster.nodes[0].docker_host}, image from {cluster.registry}")
    with timed(cluster, "deploy --wait"):
        deployed = stack(
            cluster,
            project,
            "swarm",
            "deploy",
            "--wait",
            "--timeout",
            str(DEPLOY_TIMEOUT),
            timeout=DEPLOY_TIMEOUT + 120,
        )
    for line in deployed.stderr.strip().splitlines():
        log(f"  {line}")
    check(cluster, project)
    with timed(cluster, "swarm rm"):
        stack(cluster, project, "swarm", "rm", timeout=180)
    left = cluster.nodes[0].docker(
        "service", "ls", "--quiet", "--filter", f"label=dev.stack.swarm.project={cluster.prefix}"
    )
    if left.stdout.strip():
        raise Failure(f"`stack swarm rm` left services: {left.stdout.split()}")
    log("stack swarm rm: no service left")


# -- teardown ---------------------------------------------------------------------------------


def teardown(cluster: Cluster) -> list[str]:
    """Remove everything this run created, one node at a time; the errors (nothing raised)."""
    errors: list[str] = []
    log(f"tearing down {cluster.prefix} (Ctrl-C is ignored until it is done)")

    def attempt(args: list[str], timeout: float = COMMAND_TIMEOUT) -> None:
        try:
            run(args, timeout=timeout)
        except Failure as exc:
            if "No such" not in str(exc):
                errors.append(str(exc))

    for node in reversed(cluster.nodes):  # one at a time: stop, then remove
        log(f"removing {node.name}")
        attempt(["docker", "stop", "--time", str(STOP_TIMEOUT), node.name], timeout=STOP_TIMEOUT + 60)
        attempt(["docker", "rm", node.name])
        attempt(["docker", "volume", "rm", node.volume])
    if cluster.network:
        attempt(["docker", "network", "rm", cluster.network])
    process = cluster.registry_process
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    shutil.rmtree(cluster.workdir, ignore_errors=True)
    return errors


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Ctrl-C and SIGTERM ignored (in the main thread) while tearing down: a second Ctrl-C must
    not leave half the nodes behind; every command of the teardown has its own timeout."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def new_cluster() -> Cluster:
    """A run: its unique prefix (names, labels) and its scratch directory."""
    return Cluster(prefix=f"mn{uuid.uuid4().hex[:8]}", workdir=Path(tempfile.mkdtemp(prefix="stack-multinode-")))


def multinode_swarm(cluster: Cluster, *, nodes: int = 3, build: bool = True, keep_on_failure: bool = False) -> None:
    """Every step above, timed in `cluster.timings`; raises Failure (or KeyboardInterrupt) after
    tearing down everything it created."""
    if nodes < 3:
        raise Failure("at least 3 nodes: the checks reach a task on node 3 from node 2")
    failed = True
    try:
        if build:
            with timed(cluster, "image build"):
                build_image()
        with timed(cluster, "nodes up"):
            create_network(cluster)
            start_registry(cluster)
            start_nodes(cluster, nodes)
        with timed(cluster, "swarm formed"):
            form_swarm(cluster)
        deploy_and_check(cluster)
        failed = False
    finally:
        if failed and keep_on_failure:
            pid = cluster.registry_process.pid if cluster.registry_process else None
            log(f"kept (--keep-on-failure): objects labelled {RUN_LABEL}={cluster.prefix}, registry pid {pid}")
        else:
            with timed(cluster, "teardown"), signals_ignored():
                errors = teardown(cluster)
            for error in errors:
                log(f"teardown: {error}")


def report(cluster: Cluster) -> str:
    return "\n".join(f"  {name:<14} {seconds:7.1f} s" for name, seconds in cluster.timings.items())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--nodes", type=int, default=3, help="how many DinD nodes (default 3; node 1 is the manager)")
    parser.add_argument("--no-build", action="store_true", help=f"do not run the build script ({IMAGE} must exist)")
    parser.add_argument("--keep-on-failure", action="store_true", help="leave the nodes running when a step fails")
    options = parser.parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _terminate)
    started = time.monotonic()
    cluster = new_cluster()
    status, outcome = 1, "FAILED"
    try:
        multinode_swarm(
            cluster, nodes=options.nodes, build=not options.no_build, keep_on_failure=options.keep_on_failure
        )
        status, outcome = 0, "deploy and checks passed"
    except Failure as exc:
        log(f"FAILED: {exc}")
    except KeyboardInterrupt:
        status, outcome = 130, "interrupted (torn down)"
    finally:
        signal.signal(signal.SIGTERM, previous)
    total = time.monotonic() - started
    print(f"multinode swarm of {options.nodes} DinD nodes ({cluster.prefix}): {outcome}, {total:.1f} s in all")
    print(report(cluster))
    return status


if __name__ == "__main__":
    sys.exit(main())
