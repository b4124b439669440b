"""`stack autoscale` and `stack up --autoscale` against the real daemon.

* CPU: a busybox service burning CPU while a load switch (a file in a shared volume) is on goes
  from 1 replica to max, counting new replicas only once healthy, and back to min once the switch
  is off, the newest replicas first; Ctrl-C (130) leaves the replicas as they are.
* Drain: under a steady, bounded HTTP load through an nginx frontend that resolves the service's
  name per request (`proxy_next_upstream off`: no retry hides a failure), an autoscaled scale-down
  fails no request.  The replicas have no stop grace period, so only the drain's wait keeps their
  in-flight requests: with that wait switched off the same test saw 17 of 147 requests fail (502),
  and a plain `stack scale web=1` under this load failed 18 of 161.
* The alias swap keeps an open connection to the replica, and Ctrl-C in the middle of a drain
  puts the replica back in the DNS.
* Request rate (log-derived): the load scales the service up and back down; no request fails
  while the new replicas start (their server listens a second after start; they join the DNS only
  when healthy: without that gate this test saw 16 requests fail).

The timings of each run are printed (`pytest -s` shows them).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker

from stack.plan import labels as L
from tests.integration.cli_helpers import Background, StackCLI, exec_output, in_background, poll

BURNER = (
    "sleep 1.5; touch /tmp/ready; trap 'exit 0' TERM; "
    "while true; do if [ -e /load/on ]; then i=0; while [ $$i -lt 5000 ]; do i=$$((i+1)); done; "
    "else sleep 0.2; fi; done"
)

CPU_STACK = f"""
services:
  burn:
    image: stack-test/busybox:latest
    command: ["sh", "-c", "{BURNER}"]
    volumes: [load:/load]
    stop_grace_period: 2s
    healthcheck:
      test: ["CMD", "test", "-e", "/tmp/ready"]
      interval: 500ms
      retries: 60
    x-autoscale:
      min: 1
      max: 3
      cpu: 10%
      interval: 1s
      cooldown_up: 1s
      cooldown_down: 2s
      window_down: 4s
      drain_timeout: 5s
      drain_quiet: 0s
volumes:
  load: {{}}
"""

NGINX = """
worker_processes 1;
pid /tmp/nginx.pid;
error_log stderr warn;
events { worker_connections 256; }
http {
    access_log off;
    server {
        listen 80;
        # Docker's DNS, answers kept 1 s: a replica out of the DNS gets no new request after that.
        resolver 127.0.0.11 valid=1s ipv6=off;
        location = /health { return 200 "ok\\n"; }
        location / {
            set $backend http://web:80;
            proxy_pass $backend;
            proxy_connect_timeout 2s;
            proxy_read_timeout 10s;
            # No retry on another replica: a request cut by the scale-down is a failure here.
            proxy_next_upstream off;
        }
    }
}
"""

# A busybox httpd whose CGI answers after 0.4 s with the replica's hostname: requests stay in
# flight long enough for a drain to meet some.
WEB_SCRIPT = (
    "mkdir -p /www/cgi-bin; echo ok > /www/ok; "
    "printf '#!/bin/sh\\nusleep 400000\\nprintf \"Content-Type: text/plain\\\\r\\\\n\\\\r\\\\n\"\\nhostname\\n'"
    " > /www/cgi-bin/slow; chmod +x /www/cgi-bin/slow; exec httpd -f -p 80 -h /www"
)

HTTP_STACK = """
services:
  web:
    image: stack-test/busybox:latest
    command: ["sh", "-c", {script}]
    scale: 3
    # No grace: the stop kills the requests in flight, so only the drain's wait keeps them.
    stop_grace_period: 0s
    x-autoscale:
      min: 1
      max: 3
      cpu: 50%
      interval: 1s
      cooldown_down: 2s
      window_down: 6s
      drain_timeout: 15s
      drain_quiet: 1500ms
  frontend:
    image: stack-local/nginx:bookworm
    command: ["nginx", "-g", "daemon off;", "-c", "/etc/nginx/drain.conf"]
    volumes:
      - ./nginx.conf:/etc/nginx/drain.conf:ro
    ports:
      - "127.0.0.1::80"
    depends_on: [web]
"""


def background(cli: StackCLI, *args: str, ready: str) -> contextlib.AbstractContextManager[Background]:
    """`stack -p PROJECT ARGS` in the background until `ready` is on its stderr; Ctrl-C at the end."""
    return in_background(cli, *args, ready=ready)


def replicas(client: docker.APIClient, project: str, service: str) -> list[str]:
    """Names of the service's running containers."""
    found = client.containers(filters={**L.container_filter(project), "status": ["running"]})
    return sorted(str(c["Names"][0]).lstrip("/") for c in found if (c.get("Labels") or {}).get(L.SERVICE) == service)


def decisions(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_cpu_load_scales_up_to_max_counting_healthy_replicas_and_back_to_min_after(
    tmp_path: Path, project_name: str, docker_client: docker.APIClient
) -> None:
    cli = StackCLI(tmp_path, project_name)
    cli.write(CPU_STACK)
    cli.ok("up", "-d", "--wait")
    log = tmp_path / "decisions.jsonl"
    first = f"{project_name}-burn-1"
    with background(cli, "autoscale", "--log", str(log), ready="Autoscaling burn") as run:
        poll("a first decision", lambda: decisions(log), 30)
        assert decisions(log)[0]["action"] == "hold", str(run)

        code, out = exec_output(docker_client, first, "touch", "/load/on")  # the load switch: on
        assert code == 0, out
        load_on = time.monotonic()
        poll("3 burn replicas, counted ready", lambda: any(d["metrics"]["replicas"] == 3 for d in decisions(log)), 60)
        scaled_up = time.monotonic() - load_on
        assert len(replicas(docker_client, project_name, "burn")) == 3, str(run)

        code, out = exec_output(docker_client, first, "rm", "/load/on")  # off
        assert code == 0, out
        load_off = time.monotonic()
        poll("back to 1 burn replica", lambda: len(replicas(docker_client, project_name, "burn")) == 1, 60)
        scaled_down = time.monotonic() - load_off
        poll("the scale-down reported", lambda: "burn: 1 replicas after" in run.err(), 30)
    print(
        f"\nCPU autoscaling: 1 -> 3 ready in {scaled_up:.1f}s after the load began;"
        f" 3 -> 1 in {scaled_down:.1f}s after it ended"
    )

    # Ctrl-C: exit 130, the replicas left as they were.
    assert run.proc.returncode == 130, str(run)
    assert replicas(docker_client, project_name, "burn") == [first], "the newest replicas go first"

    log_entries = decisions(log)
    ups = [d for d in log_entries if d["action"] == "up"]
    downs = [d for d in log_entries if d["action"] == "down"]
    assert ups and downs, str(run)
    # Every decision says why, with the values behind it.
    assert all(d["metrics"]["cpu%"] > 10 for d in ups), ups
    assert all(d["metrics"]["cpu%"] < 10 for d in downs), downs
    # Scale-up counted the new replicas only once healthy: the decision after each scale-up
    # already counts them all (their healthcheck passes 1.5 s after start), and the autoscaler
    # said so only after that.
    for up in ups:
        after = log_entries[log_entries.index(up) + 1]
        assert after["metrics"]["replicas"] == up["desired"], (up, after)
    ready = [float(s) for s in re.findall(r"burn: \d replicas ready after ([\d.]+)s", run.err())]
    assert ready and min(ready) >= 1.5, run.err()


@dataclass
class Load:
    """A bounded HTTP load: `workers` clients in a loop until stopped (or the deadline)."""

    url: str
    workers: int = 6
    deadline: float = 90.0
    served: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _client(self) -> None:
        end = time.monotonic() + self.deadline
        while not self.stop.is_set() and time.monotonic() < end:
            try:
                with urllib.request.urlopen(self.url, timeout=10) as response:
                    body = response.read().decode().strip()
                with self._lock:
                    self.served[body] += 1
            except (urllib.error.URLError, OSError) as exc:
                with self._lock:
                    self.failures.append(repr(exc))

    @contextlib.contextmanager
    def running(self) -> Iterator[Load]:
        threads = [threading.Thread(target=self._client, daemon=True) for _ in range(self.workers)]
        for thread in threads:
            thread.start()
        try:
            yield self
        finally:
            self.stop.set()
            for thread in threads:
                thread.join(timeout=15)

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.served.values()) + len(self.failures)


def test_an_autoscaled_scale_down_under_http_load_fails_no_request(
    tmp_path: Path, project_name: str, docker_client: docker.APIClient
) -> None:
    cli = StackCLI(tmp_path, project_name)
    (tmp_path / "nginx.conf").write_text(NGINX)
    cli.write(HTTP_STACK.format(script=json.dumps(WEB_SCRIPT)))
    # Attached `up --autoscale`: 3 web replicas, the autoscaler beside the logs.
    with background(cli, "up", "--autoscale", ready="Autoscaling web") as run:
        port = cli.ok("port", "frontend", "80").out.strip().rsplit(":", 1)[1]
        url = f"http://127.0.0.1:{port}/cgi-bin/slow"

        def answers() -> bool:
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=5) as response:
                return bool(response.status == 200)
            return False

        poll("the frontend answering through web", answers, 30)
        ids = {
            docker_client.inspect_container(n)["Config"]["Hostname"]: n
            for n in replicas(docker_client, project_name, "web")
        }
        assert len(ids) == 3, str(run)
        began = time.monotonic()
        with Load(url).running() as load:
            poll("the load flowing", lambda: load.total >= 20, 30)
            poll("web scaled down to 1", lambda: "web: 1 replicas after" in run.err(), 60)
            scaled_down = time.monotonic() - began
            left = replicas(docker_client, project_name, "web")
            settled = load.total
            poll("more requests after the scale-down", lambda: load.total >= settled + 20, 30)
    print(
        f"\nHTTP drain: {load.total} requests, {len(load.failures)} failed;"
        f" scale-down done {scaled_down:.1f}s into the load"
    )
    print("\n".join(line for line in run.err().splitlines() if "removed" in line))

    if load.failures:
        _, dns = exec_output(docker_client, f"{project_name}-frontend-1", "getent", "ahostsv4", "web")
        raise AssertionError(
            f"{len(load.failures)} failed: {load.failures[:5]}; `web` resolves in the frontend to {dns!r}"
            " (nothing: the daemon's DNS of this network was wiped, as a swarm init/leave on a Docker 20.10"
            f" daemon does to every existing network; see `docker info`)\n{run}"
        )
    assert run.proc.returncode == 130, str(run)  # Ctrl-C on the attached up
    assert load.total >= 60, load.served
    assert left == [f"{project_name}-web-1"], "the newest replicas go first"
    # The removed replicas did serve requests under this load before they left ...
    removed = [host for host, name in ids.items() if not name.endswith("-web-1")]
    assert all(load.served[host] > 0 for host in removed), (load.served, ids)
    # ... and had requests in flight when they left the DNS, which the drain waited out.
    in_flight = [int(n) for n in re.findall(r"(\d+) in-flight request\(s\) when it left", run.err())]
    assert len(in_flight) == 2 and sum(in_flight) > 0, run.err()
    assert "address changed" not in run.err(), run.err()


def addresses(client: docker.APIClient, container: str, name: str) -> set[str]:
    """The IPv4 addresses Docker's DNS answers for `name`, asked from inside `container`."""
    _, out = exec_output(client, container, "nslookup", "-type=a", name, "127.0.0.11")
    return {line.split()[-1] for line in out.splitlines() if line.startswith("Address") and "127.0.0.11" not in line}


def established_to_port_80(client: docker.APIClient, container: str) -> int:
    code, out = exec_output(client, container, "cat", "/proc/net/tcp", "/proc/net/tcp6")
    assert code in (0, 1), out
    rows = [line.split() for line in out.splitlines()]
    return sum(1 for r in rows if len(r) > 3 and r[1].endswith(":0050") and r[3] == "01")


HOLD_STACK = """
services:
  web:
    image: stack-test/busybox:latest
    command: ["httpd", "-f", "-p", "80", "-h", "/"]
    scale: 2
    stop_grace_period: 1s
    x-autoscale:
      min: 1
      max: 2
      cpu: 50%
      interval: 1s
      window_down: 2s
      cooldown_down: 0s
      drain_timeout: 60s
"""


def test_a_drain_keeps_open_connections_and_ctrl_c_puts_the_replica_back_in_the_dns(
    tmp_path: Path, project_name: str, docker_client: docker.APIClient
) -> None:
    cli = StackCLI(tmp_path, project_name)
    cli.write(HOLD_STACK)
    cli.ok("up", "-d", "--wait")
    one, two = f"{project_name}-web-1", f"{project_name}-web-2"
    both = addresses(docker_client, one, "web")
    assert len(both) == 2, both
    # A client in web-1 holds a connection to web-2 open (an HTTP request never finished).
    hold = docker_client.exec_create(one, ["sh", "-c", f"sleep 120 | nc {two} 80"])["Id"]
    docker_client.exec_start(hold, detach=True)
    poll("the held connection", lambda: established_to_port_80(docker_client, two) == 1, 15)

    with background(cli, "autoscale", ready="Autoscaling web") as run:
        poll("web-2 being drained", lambda: f"draining {two}" in run.err(), 30)
        # Out of the DNS while still running, its open connection not cut by the swap ...
        poll("web-2 out of the DNS", lambda: len(addresses(docker_client, one, "web")) == 1, 15)
        assert established_to_port_80(docker_client, two) == 1, "the swap cut the open connection"
        assert two in replicas(docker_client, project_name, "web")
    # ... and Ctrl-C in the middle of the drain puts it back, as it was.
    assert run.proc.returncode == 130, str(run)
    assert replicas(docker_client, project_name, "web") == [one, two]
    assert addresses(docker_client, one, "web") == both
    assert "address changed" not in run.err(), run.err()


REQUESTS_STACK = """
services:
  web:
    image: stack-test/busybox:latest
    command: ["sh", "-c", {script}]
    stop_grace_period: 1s
    # Ready once httpd answers: the autoscaler lets a new replica into the DNS only then.
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/ok"]
      interval: 500ms
      retries: 60
    x-autoscale:
      min: 1
      max: 3
      requests: {{target: 3/s, log: "url:/cgi-bin/"}}
      interval: 1s
      cooldown_up: 1s
      cooldown_down: 1s
      window_down: 3s
      drain_quiet: 1500ms
  frontend:
    image: stack-local/nginx:bookworm
    command: ["nginx", "-g", "daemon off;", "-c", "/etc/nginx/drain.conf"]
    volumes:
      - ./nginx.conf:/etc/nginx/drain.conf:ro
    ports:
      - "127.0.0.1::80"
    depends_on: [web]
"""


def test_the_request_rate_in_the_logs_scales_up_and_back_down(
    tmp_path: Path, project_name: str, docker_client: docker.APIClient
) -> None:
    cli = StackCLI(tmp_path, project_name)
    (tmp_path / "nginx.conf").write_text(NGINX)
    # httpd -vv logs one `url:/cgi-bin/slow` line per request; it listens only a second after its
    # container starts, so a replica in the DNS before it is ready would fail requests (502).
    script = WEB_SCRIPT.replace("exec httpd -f", "sleep 1; exec httpd -vv -f")
    cli.write(REQUESTS_STACK.format(script=json.dumps(script)))
    cli.ok("up", "-d", "--wait")
    port = cli.ok("port", "frontend", "80").out.strip().rsplit(":", 1)[1]
    log = tmp_path / "decisions.jsonl"
    with background(cli, "autoscale", "--log", str(log), ready="Autoscaling web") as run:
        with Load(f"http://127.0.0.1:{port}/cgi-bin/slow").running() as load:
            began = time.monotonic()
            poll("3 web replicas", lambda: any(d["metrics"]["replicas"] == 3 for d in decisions(log)), 45)
            scaled_up = time.monotonic() - began
        ended = time.monotonic()
        poll("back to 1 web replica", lambda: "web: 1 replicas after" in run.err(), 45)
        scaled_down = time.monotonic() - ended
    print(f"\nRequest rate: 1 -> 3 in {scaled_up:.1f}s under load; 3 -> 1 in {scaled_down:.1f}s after it")
    assert load.failures == [], load.failures[:5]
    ups = [d for d in decisions(log) if d["action"] == "up"]
    assert ups and all(d["metrics"]["req/s/replica"] > 3 for d in ups), ups
    assert replicas(docker_client, project_name, "web") == [f"{project_name}-web-1"]
