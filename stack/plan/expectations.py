"""What the stack file leads us to expect of a service's containers once they start: whether
they report health, whether the daemon starts them again after an exit, and whether they are
meant to exit at all.  The planner, the dependency waits and `up --wait` all ask here.
"""

from __future__ import annotations

from stack.spec.models import Project, Service
from stack.spec.validation import RUN_ONCE_KEY


def healthcheck_state(service: Service) -> bool | None:
    """True: the file gives a healthcheck that runs; False: it disables one (`disable: true`,
    `test: [NONE]`); None: it says nothing, so the image's own healthcheck, if any, applies."""
    check = service.healthcheck
    if check is None:
        return None
    return not (check.disable or (check.test and check.test[0] == "NONE"))


def restarts_after_exit(service: Service, exit_code: int) -> bool:
    """Whether the daemon starts the container again after it exits with `exit_code` (its
    `restart:` policy, else `deploy.restart_policy`; a retry limit is not tracked here)."""
    policy = (service.restart or "").partition(":")[0]
    if not policy and service.deploy is not None and service.deploy.restart_policy is not None:
        condition = str(service.deploy.restart_policy.condition or "")
        policy = {"any": "always", "on-failure": "on-failure"}.get(condition, "no")
    if policy in ("always", "unless-stopped"):
        return True
    return policy == "on-failure" and exit_code != 0


def runs_once(project: Project, name: str) -> bool:
    """A one-shot service: another service waits for it with `service_completed_successfully`
    (as Compose's `up --wait` sees it), or it is marked `x-stack-run-once: true`."""
    service = project.services.get(name)
    if service is not None and (service.model_extra or {}).get(RUN_ONCE_KEY) is True:
        return True
    return any(
        edge.condition == "service_completed_successfully"
        for other in project.services.values()
        for dep, edge in other.depends_on.items()
        if dep == name
    )
