"""`depends_on` as init containers that wait, and the shell scripts they run.

- service_started: the dependency's Service name resolves (`nslookup`);
- service_healthy: a TCP connection to the dependency's Service port succeeds, because a
  ClusterIP Service routes only to ready pods, and a pod is ready once its readinessProbe (the
  healthcheck) passed; a dependency without ports has a headless Service, whose name resolves
  only to ready pods, so there the wait is for the name;
- service_completed_successfully: the dependency is a Job; the init container asks the
  Kubernetes API (curl, with the pod's service-account token) until the Job has the condition
  Complete, and fails when it has the condition Failed.

The scripts read the name to wait for from `WAIT_HOST` (or `WAIT_JOB`), which the manifest sets
to the fully qualified Service name (`db.$(POD_NAMESPACE).svc.cluster.local`: BusyBox's
nslookup does not use the search domains of resolv.conf).  Tests run the very same scripts in a
BusyBox container on a Docker network, with WAIT_HOST naming the container there.
"""

from __future__ import annotations

from typing import Any

from stack.convert.kubernetes.model import dns_label

__all__ = [
    "WAIT_HOST",
    "WAIT_JOB",
    "connect_script",
    "job_complete_script",
    "job_started_script",
    "job_wait_container",
    "resolve_script",
    "service_wait_container",
]

WAIT_HOST = "WAIT_HOST"
WAIT_JOB = "WAIT_JOB"
POLL_SECONDS = 2


def resolve_script(service: str) -> str:
    return (
        f'until nslookup "${WAIT_HOST}" >/dev/null 2>&1; do\n'
        f'  echo "waiting for service {service}: ${WAIT_HOST} does not resolve yet"\n'
        f"  sleep {POLL_SECONDS}\n"
        "done\n"
        f'echo "service {service}: ${WAIT_HOST} resolves"\n'
    )


def connect_script(service: str, port: int) -> str:
    # `nc -z` is not in every BusyBox build: nc reads an empty stdin and exits 0 once the peer
    # closes; a peer that keeps the connection open is connected too (timeout ends nc: 124/143).
    return (
        "connected() {\n"
        f'  timeout 5 nc -w 2 "${WAIT_HOST}" {port} </dev/null >/dev/null 2>&1\n'
        "  code=$?\n"
        '  [ "$code" -eq 0 ] || [ "$code" -eq 124 ] || [ "$code" -eq 143 ]\n'
        "}\n"
        "until connected; do\n"
        f'  echo "waiting for service {service}: no ready endpoint at ${WAIT_HOST}:{port} yet"\n'
        f"  sleep {POLL_SECONDS}\n"
        "done\n"
        f'echo "service {service}: ${WAIT_HOST}:{port} accepts connections"\n'
    )


def _job_script(until: str, waiting: str, done: str) -> str:
    return (
        "sa=/var/run/secrets/kubernetes.io/serviceaccount\n"
        "job_status() {\n"
        '  curl -sS --max-time 10 --cacert "$sa/ca.crt" -H "Authorization: Bearer $(cat "$sa/token")" \\\n'
        f'    "https://kubernetes.default.svc/apis/batch/v1/namespaces/$(cat "$sa/namespace")/jobs/${WAIT_JOB}" \\\n'
        "    | tr -d ' \\n'\n"
        "}\n"
        "until\n"
        "  status=$(job_status)\n"
        '  case "$status" in\n'
        f"    {until}) true ;;\n"
        f'    *\'"type":"Failed","status":"True"\'*) echo "job ${WAIT_JOB} failed"; exit 1 ;;\n'
        "    *) false ;;\n"
        "  esac\n"
        "do\n"
        f'  echo "waiting for job ${WAIT_JOB} {waiting}"\n'
        f"  sleep {POLL_SECONDS}\n"
        "done\n"
        f'echo "job ${WAIT_JOB} {done}"\n'
    )


def job_complete_script() -> str:
    return _job_script('*\'"type":"Complete","status":"True"\'*', "to complete", "completed")


def job_started_script() -> str:
    return _job_script("*'\"startTime\":'*", "to start", "started")


def _namespace_env() -> dict[str, Any]:
    return {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}


def service_wait_container(
    dependency: str, service_name: str, port: int | None, *, image: str, cluster_domain: str
) -> dict[str, Any]:
    """The init container waiting for `dependency` (stack-file key), whose Service is
    `service_name`: for a ready endpoint at `port`, or (port None) for the name to resolve."""
    script = resolve_script(dependency) if port is None else connect_script(dependency, port)
    return {
        "name": dns_label(f"wait-for-{dependency}"),
        "image": image,
        "command": ["sh", "-c", script],
        "env": [
            _namespace_env(),
            {"name": WAIT_HOST, "value": f"{service_name}.$(POD_NAMESPACE).svc.{cluster_domain}"},
        ],
    }


def job_wait_container(dependency: str, job_name: str, *, image: str, complete: bool) -> dict[str, Any]:
    """The init container waiting for the Job `job_name` to complete (or just to start)."""
    return {
        "name": dns_label(f"wait-for-{dependency}"),
        "image": image,
        "command": ["sh", "-c", job_complete_script() if complete else job_started_script()],
        "env": [{"name": WAIT_JOB, "value": job_name}],
    }
