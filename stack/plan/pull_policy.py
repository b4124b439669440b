"""`pull_policy` as Compose reads it: which policy, and for the refresh policies how long a pulled
image stays fresh.

As compose-go's `ServiceConfig.GetPullPolicy`: `always`, `never`, `build` as written;
`missing` and `if_not_present` (and anything else it does not know, `refresh` included) pull a
missing image only; `daily`, `weekly` and `every_<duration>` refresh: the image is pulled when
it is missing, or when the daemon last tagged it longer ago than the window (Compose's
`mustPull`: `now > LastTagTime + window`).  The duration is Go's with days and weeks added
(`every_12h`, `every_2d`, `every_1w2d`, `every_90m`), as the `str2duration` package Compose
uses reads it.  Pure: no daemon, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from stack.errors import StackFileError
from stack.plan.naming import service_image
from stack.spec.models import Project, Service

PullKind = Literal["always", "never", "missing", "build", "refresh"]

DAY = 24 * 3600.0
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": DAY,
    "w": 7 * DAY,
}
_FIXED: dict[str, PullKind] = {"always": "always", "never": "never", "build": "build"}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w)")


@dataclass(frozen=True)
class PullPolicy:
    kind: PullKind
    every: float = 0.0  # seconds, for `refresh`: how long a pulled image stays fresh
    written: str = "missing"  # as the stack file says it ("missing" when it says nothing)

    def describe(self) -> str:
        return f"pull_policy: {self.written}"


def parse_duration(text: str) -> float:
    """`12h`, `2d`, `1w2d`, `1.5h` -> seconds (str2duration's syntax: Go's units plus d and w).
    ValueError on anything else, zero and negative durations included."""
    pos, total = 0, 0.0
    while match := _PART.match(text, pos):
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if not text or pos != len(text):
        raise ValueError(f"invalid duration {text!r}: use a number and a unit (s, m, h, d, w), e.g. 12h, 2d, 1w")
    if total <= 0:
        raise ValueError(f"invalid duration {text!r}: it must be longer than zero")
    return total


def parse_pull_policy(value: str | None) -> PullPolicy:
    """The policy `value` names; ValueError only for an `every_` whose duration cannot be read."""
    written = value or "missing"
    fixed = _FIXED.get(written)
    if fixed is not None:
        return PullPolicy(fixed, written=written)
    if written == "daily":
        return PullPolicy("refresh", DAY, written)
    if written == "weekly":
        return PullPolicy("refresh", 7 * DAY, written)
    if written.startswith("every_"):
        return PullPolicy("refresh", parse_duration(written.removeprefix("every_")), written)
    return PullPolicy("missing", written=written)


def service_pull_policy(name: str, service: Service) -> PullPolicy:
    """The service's policy; a bad `every_` is a stack-file error naming the key."""
    try:
        return parse_pull_policy(service.pull_policy)
    except ValueError as exc:
        raise StackFileError(
            f"invalid pull_policy {service.pull_policy!r}: {exc}",
            path=f"services.{name}.pull_policy",
            hint="use always, missing, never, build, daily, weekly or every_<duration> (every_12h, every_2d)",
        ) from None


def refresh_references(project: Project) -> list[str]:
    """The image references whose services refresh them (daily, weekly, every_X): the ones whose
    last tag time `observe` must look up.  A policy that cannot be read is left to the planner,
    which reports it."""
    refs: set[str] = set()
    for name, service in {**project.disabled_services, **project.services}.items():
        try:
            policy = parse_pull_policy(service.pull_policy)
        except ValueError:
            continue
        if policy.kind == "refresh":
            refs.add(service_image(project.name, name, service))
    return sorted(refs)


def is_stale(policy: PullPolicy, last_tagged: float, now: float) -> bool:
    """Compose's rule for a refresh policy and a present image: pull when `now` is past the last
    tag time plus the window.  `last_tagged` 0 (never tagged: Docker 20.10 stamps no time on a
    pull) is always stale, as in Compose."""
    return policy.kind == "refresh" and now > last_tagged + policy.every


def stale_cause(policy: PullPolicy, last_tagged: float, now: float) -> str:
    """The plan's cause for pulling a stale image: `pull_policy: daily, pulled 1d2h ago`."""
    age = f"pulled {describe_age(now - last_tagged)} ago" if last_tagged else "pull time unknown"
    return f"{policy.describe()}, {age}"


def describe_age(seconds: float) -> str:
    """`3h12m`, `2d4h`, `45s`: how long ago, for a plan's cause."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d{hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h{minutes}m" if minutes else f"{hours}h"
    if minutes:
        return f"{minutes}m{secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


# ---- `stack pull` and `stack push`: which images, as Compose chooses them ------------------------


def tag_of(ref: str) -> str | None:
    """The tag of an image reference (`latest` when none is written), None for a digest."""
    if "@" in ref:
        return None
    last = ref.rsplit("/", 1)[-1]
    return last.partition(":")[2] if ":" in last else "latest"


@dataclass(frozen=True)
class Transfer:
    service: str
    image: str


def choose_pulls(
    project: Project,
    services: list[str],
    present: Mapping[str, bool],
    *,
    policy: str | None = None,
    ignore_buildable: bool = False,
) -> tuple[list[Transfer], dict[str, str]]:
    """What `stack pull` pulls, and why it skips the others (service -> Compose's words), as
    Compose's `pull`: a service without `image:` has nothing to pull; `--policy` replaces each
    service's pull_policy; `never` and `build` skip; a written `missing`/`if_not_present`
    skips an image that is present unless its tag is `latest` (no policy at all pulls);
    `--ignore-buildable` skips services with `build:`; an image that another service pulls
    already is pulled once.  Every other policy (`always`, the refresh ones) pulls: an explicit
    pull is always due."""
    pulls: list[Transfer] = []
    skipped: dict[str, str] = {}
    pulling: dict[str, str] = {}
    for name in services:
        service = project.services.get(name) or project.disabled_services[name]
        if not service.image:
            skipped[name] = "Skipped - No image to be pulled"
            continue
        written = policy or service.pull_policy
        chosen = parse_pull_policy(policy) if policy else service_pull_policy(name, service)
        if chosen.kind in ("never", "build"):
            skipped[name] = "Skipped"
            continue
        if written and chosen.kind == "missing" and present.get(service.image) and tag_of(service.image) != "latest":
            skipped[name] = "Skipped - Image is already present locally"
            continue
        if service.build is not None and ignore_buildable:
            skipped[name] = "Skipped - Image can be built"
            continue
        if service.image in pulling:
            skipped[name] = f"Skipped - Image is already being pulled by {pulling[service.image]}"
            continue
        pulling[service.image] = name
        pulls.append(Transfer(name, service.image))
    return pulls, skipped


def choose_pushes(project: Project, services: list[str]) -> tuple[list[Transfer], dict[str, str]]:
    """What `stack push` pushes, as Compose's `push`: the images of services that build theirs
    and name it (`build:` and `image:`), under the image's name and each of `build.tags`; the
    others are skipped."""
    pushes: list[Transfer] = []
    skipped: dict[str, str] = {}
    seen: set[str] = set()
    for name in services:
        service = project.services.get(name) or project.disabled_services[name]
        if service.build is None:
            skipped[name] = "Skipped - not built by this stack (no build:)"
            continue
        if not service.image:
            skipped[name] = "Skipped - no image: to push to"
            continue
        for ref in [service.image, *service.build.tags]:
            if ref not in seen:
                seen.add(ref)
                pushes.append(Transfer(name, ref))
    return pushes, skipped
