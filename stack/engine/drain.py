"""A replica's membership of its service's DNS name, changed while it runs: a replica being removed
is drained (out of the DNS, its in-flight requests finished, then stopped), a new one joins the DNS
only once it is ready (healthy, or running without a healthcheck).

Docker (20.10 at least) cannot take a network alias away from a running container: the
aliases belong to the network endpoint, and the only way to change them is to disconnect the
container from the network and connect it again.  A disconnect tears the endpoint down (the
veth pair, the address), which is why `stack.plan.rollout` stops old replicas instead.  What we
found against the real daemon, and what this module relies on:

1. **An immediate reconnect gets the same address back.**  Docker refuses a fixed address on a
   network without a user-configured subnet ("user specified IP address is supported only when
   connecting to networks with user configured subnets"), which is what Compose and stack create
   by default.  But the default IPAM driver hands out the *lowest free* address (its bitmap is
   not allocated serially unless `com.docker.network.ipam.serial` is set), so the address just
   released is the one the reconnect receives, unless another container took it in between: we
   hold the project's lock (no other stack command starts one), and the autoscaler's own starts,
   swaps and removals take turns (`swaps`, one lock for all its services; two replicas swapped at
   once were seen to trade addresses).  On a network with a user-configured subnet, we ask for the
   old address explicitly, which Docker accepts.  The MAC address Docker gives an endpoint is
   02:42 followed by its IPv4 address, so the peers' ARP caches stay right too.
2. **Established TCP connections survive.**  The sockets live in the container's network
   namespace, not on the interface: while the interface is gone for the few milliseconds of the
   swap, segments to the address are lost and retransmitted; when the same address comes back,
   the connections carry on (measured: a client's stream across a disconnect/reconnect kept
   going without a reset; tests/integration/test_autoscale.py holds a connection open across a
   drain's swap and finds it still ESTABLISHED).  If the address did come back different, we
   say so: connections on that network were lost.
3. **The reconnect names no alias**, so the service's name (and the configured aliases, and the
   container-name alias Compose adds) no longer resolve to the replica; Docker's DNS still
   answers the container's own name, which nothing balances on.  New requests go to the other
   replicas (a client or proxy that resolves the name again; nginx needs a `resolver` with a
   short `valid=`).
4. **In-flight requests are counted in the replica's own network namespace**: `cat
   /proc/net/tcp /proc/net/tcp6` through exec lists its sockets; the connections to one of its
   listening ports that are established (or half-open, or closing with a response still to
   write) are the requests it serves.  We poll that (with a deadline, `drain_timeout`) until it
   has been zero for `drain_quiet` seconds, the time a resolver that cached the old answer needs
   to let go; then the replica is stopped (SIGTERM, its stop_grace_period) and removed.

The same swap, the other way, lets a new replica take traffic only once it is ready: it is created
(not started) by `up`, its endpoints are rewritten without the aliases (on a created container
that only edits its configuration), it is started, and once healthy (or running, without a
healthcheck) the aliases are put back by a swap; Docker's DNS would otherwise answer with it from
its start, before its server listens.

An image without `cat` cannot be looked into: the replica then leaves the DNS and is stopped
with its grace period (as a rolling update does), and the drain says so.  A cancelled drain
(Ctrl-C) puts the aliases back the same way, so the replica serves as before.

Seen on this Docker 20.10 daemon, not caused by the swaps: a swarm init/leave on the daemon wipes
the embedded DNS records of every existing local network (names and aliases stop resolving, in
every project that was up); networks created afterwards are fine.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from stack.engine.docker_api import DockerAPI
from stack.engine.waits import last_log_lines
from stack.errors import DockerAPIError, DockerNotFoundError, ServiceFailedError, WaitTimeoutError

# How often the connections are counted while draining (a poll, bounded by the drain timeout).
_POLL = 0.2
# Bound of the alias swap itself (a disconnect and a connect per network), and of the put back.
_SWAP_TIMEOUT = 30.0
# TCP states (include/net/tcp_states.h) of a connection a server is still serving.
_SERVING = {"01", "03", "08"}  # ESTABLISHED, SYN_RECV, CLOSE_WAIT
_LISTEN = "0A"


# Networks that refused a fixed address (no user-configured subnet), by name, for this process.
_REFUSES_FIXED: set[str] = set()


@dataclass(frozen=True)
class Endpoint:
    """What a container's endpoint on one network was, to connect it again the same way."""

    network: str
    address: str
    address_v6: str
    aliases: tuple[str, ...]
    static_v4: str | None  # an address asked for by the stack file (ipv4_address), or the old one on a subnet
    static_v6: str | None
    links: tuple[str, ...] = ()


@dataclass
class DrainReport:
    container: str
    left_dns: float = 0.0  # seconds the alias swap took
    drained: float = 0.0  # seconds until no request was in flight (and stayed so)
    in_flight_at_start: int = 0  # connections being served when it left the DNS
    peak: int = 0  # most connections seen while draining
    stopped: float = 0.0  # seconds the stop and removal took
    timed_out: bool = False
    blind: bool = False  # the container's sockets could not be read (no `cat`)
    address_changed: list[str] = field(default_factory=list)  # networks where the address came back different

    def describe(self) -> str:
        parts = [f"{self.container}: out of DNS in {self.left_dns:.2f}s"]
        if self.blind:
            parts.append("connections not readable in the container (no cat): stopped with its grace period")
        elif self.timed_out:
            parts.append(f"requests still in flight after the drain timeout ({self.drained:.1f}s): stopping anyway")
        else:
            parts.append(
                f"{self.in_flight_at_start} in-flight request(s) when it left (peak {self.peak}),"
                f" none left after {self.drained:.2f}s"
            )
        parts.append(f"stopped and removed in {self.stopped:.1f}s")
        if self.address_changed:
            parts.append(f"address changed on {', '.join(self.address_changed)}: its connections there were cut")
        return "; ".join(parts)


def serving_connections(tables: str) -> int:
    """The connections to a listening port in `/proc/net/tcp` + `/proc/net/tcp6` text."""
    rows = [line.split() for line in tables.splitlines()]
    rows = [r for r in rows if len(r) > 3 and r[0].endswith(":") and ":" in r[1]]
    listening = {r[1].rsplit(":", 1)[1] for r in rows if r[3].upper() == _LISTEN}
    return sum(1 for r in rows if r[3].upper() in _SERVING and r[1].rsplit(":", 1)[1] in listening)


async def count_connections(api: DockerAPI, container: str) -> int | None:
    """Requests the container is serving now; None when its sockets cannot be read."""
    try:
        exec_id = await api.exec_create(container, ["cat", "/proc/net/tcp", "/proc/net/tcp6"])
        output = await api.exec_output(exec_id)
        status = await api.exec_inspect(exec_id)
    except DockerNotFoundError:
        return 0
    except DockerAPIError:
        return None
    text = output.decode(errors="replace")
    if status.get("ExitCode") not in (0, 1) or "local_address" not in text:  # 1: no tcp6 (IPv6 off)
        return None
    return serving_connections(text)


async def endpoints(api: DockerAPI, container: str) -> list[Endpoint]:
    """The container's endpoints, as they are now."""
    info = await api.inspect_container(container)
    found: list[Endpoint] = []
    networks: dict[str, Any] = (info.get("NetworkSettings") or {}).get("Networks") or {}
    for name, ep in sorted(networks.items()):
        ipam = ep.get("IPAMConfig") or {}
        found.append(
            Endpoint(
                network=name,
                address=str(ep.get("IPAddress") or ""),
                address_v6=str(ep.get("GlobalIPv6Address") or ""),
                aliases=tuple(ep.get("Aliases") or ()),
                static_v4=ipam.get("IPv4Address") or None,
                static_v6=ipam.get("IPv6Address") or None,
                links=tuple(ep.get("Links") or ()),
            )
        )
    return found


async def _reconnect(api: DockerAPI, container: str, ep: Endpoint, aliases: Sequence[str]) -> None:
    """Disconnect and connect again at once, at the same address, with `aliases` only.

    The old address is asked for explicitly (a network with a user-configured subnet accepts
    that); a network without one refuses it, and the plain connect that follows gets the lowest
    free address: the one just released."""
    await api.disconnect_network(container, ep.network)
    kwargs: dict[str, Any] = {"aliases": list(aliases)}
    if ep.links:
        kwargs["links"] = list(ep.links)
    asked = {"ipv4_address": ep.static_v4 or ep.address or None, "ipv6_address": ep.static_v6 or ep.address_v6 or None}
    asked = {k: v for k, v in asked.items() if v}
    try:
        if asked and ep.network not in _REFUSES_FIXED:
            try:
                await api.connect_network(container, ep.network, **kwargs, **asked)
                return
            except DockerAPIError as exc:
                if "user configured subnets" not in str(exc) or ep.static_v4 or ep.static_v6:
                    raise
                _REFUSES_FIXED.add(ep.network)  # the next swap there goes straight to the plain connect
        await api.connect_network(container, ep.network, **kwargs)
    except DockerAPIError:
        # Never leave the replica off its network: back as it was (aliases too), then report.
        with contextlib.suppress(DockerAPIError):
            await api.connect_network(container, ep.network, aliases=list(ep.aliases))
        raise


@contextlib.contextmanager
def _bounded_swap(container: str) -> Iterator[None]:
    """A network swap, bounded: a daemon that does not finish it in time is a WaitTimeoutError."""
    try:
        with anyio.fail_after(_SWAP_TIMEOUT):
            yield
    except TimeoutError:
        raise WaitTimeoutError(
            f"the daemon did not finish moving {container[:12]} between its network endpoints in {_SWAP_TIMEOUT:g}s"
        ) from None


async def leave_dns(api: DockerAPI, container: str, before: list[Endpoint]) -> list[str]:
    """Swap every endpoint for one without aliases; the networks whose address changed."""
    changed: list[str] = []
    with _bounded_swap(container):
        for ep in before:
            await _reconnect(api, container, ep, [])
        for ep in await endpoints(api, container):
            old = next((b for b in before if b.network == ep.network), None)
            if old is not None and (old.address != ep.address or old.address_v6 != ep.address_v6):
                changed.append(ep.network)
    return changed


async def restore_dns(api: DockerAPI, container: str, before: list[Endpoint]) -> None:
    """Put the aliases back (a drain cancelled before the stop)."""
    short = container[:12]
    with _bounded_swap(container):
        for ep in before:
            await _reconnect(api, container, ep, [a for a in ep.aliases if a != short])


async def wait_drained(api: DockerAPI, container: str, *, timeout: float, quiet: float, report: DrainReport) -> None:
    """Poll the container's serving connections until zero for `quiet` seconds, or `timeout`."""
    began = time.monotonic()
    deadline = began + timeout
    zero_since: float | None = None
    while True:
        count = await count_connections(api, container)
        now = time.monotonic()
        if count is None:
            report.blind = True
            return
        report.peak = max(report.peak, count)
        if count == 0:
            zero_since = zero_since if zero_since is not None else now
            if now - zero_since >= quiet:
                report.drained = now - began
                return
        else:
            zero_since = None
        if now >= deadline:
            report.timed_out, report.drained = True, now - began
            return
        await anyio.sleep(_POLL)  # poll interval, bounded by the deadline above


async def drain_and_remove(
    api: DockerAPI,
    container: str,
    name: str,
    *,
    timeout: float,
    quiet: float,
    stop_timeout: int | None,
    swaps: anyio.Lock | None = None,
) -> DrainReport:
    """Take `container` out of its service's DNS, wait out its requests, stop and remove it.

    Replicas drained together share `swaps`: one alias swap at a time, or two replicas of one
    network could swap addresses (each reconnect takes the lowest free one); one removal at a time."""
    report = DrainReport(container=name)
    swaps = swaps or anyio.Lock()
    async with swaps:
        try:
            before = await endpoints(api, container)
        except DockerNotFoundError:
            return report
        report.in_flight_at_start = report.peak = await count_connections(api, container) or 0
        began = time.monotonic()
        with anyio.CancelScope(shield=True):  # a swap is never left half done (bounded: _SWAP_TIMEOUT)
            report.address_changed = await leave_dns(api, container, before)
        report.left_dns = time.monotonic() - began
    try:
        await wait_drained(api, container, timeout=timeout, quiet=quiet, report=report)
    except anyio.get_cancelled_exc_class():
        with anyio.CancelScope(shield=True):
            async with swaps:
                await restore_dns(api, container, before)
        raise
    began = time.monotonic()
    # Once out of DNS and drained, it goes (never half-removed), one removal at a time: this
    # daemon's network layer can wedge after concurrent removals.
    with anyio.CancelScope(shield=True):
        async with swaps:
            try:
                await api.stop_container(container, timeout=stop_timeout)
                await api.remove_container(container)
            except DockerNotFoundError:
                pass
    report.stopped = time.monotonic() - began
    return report


async def _hide(api: DockerAPI, container: str, before: list[Endpoint]) -> None:
    """A created (not started) container: its endpoints without the aliases."""
    for ep in before:
        await api.disconnect_network(container, ep.network)
        kwargs: dict[str, Any] = {"aliases": []}
        if ep.static_v4:
            kwargs["ipv4_address"] = ep.static_v4
        if ep.static_v6:
            kwargs["ipv6_address"] = ep.static_v6
        if ep.links:
            kwargs["links"] = list(ep.links)
        await api.connect_network(container, ep.network, **kwargs)


async def wait_ready(api: DockerAPI, container: str, name: str, timeout: float) -> None:
    """Poll (with a deadline) until the container runs and, with a healthcheck, is healthy."""
    deadline = time.monotonic() + timeout
    while True:
        state = (await api.inspect_container(container)).get("State") or {}
        health = (state.get("Health") or {}).get("Status")
        if state.get("Status") == "running" and health in (None, "healthy"):
            return
        if state.get("Status") in ("exited", "dead") or health == "unhealthy":
            why = "is unhealthy" if health == "unhealthy" else f"exited ({state.get('ExitCode')})"
            logs = await last_log_lines(api, container)
            raise ServiceFailedError(f"new replica {name} {why}" + (f"; its last lines:\n{logs}" if logs else ""))
        if time.monotonic() >= deadline:
            raise WaitTimeoutError(f"new replica {name} was not ready (healthy) after {timeout:g}s")
        await anyio.sleep(_POLL)  # poll interval, bounded by the deadline above


async def start_when_ready(api: DockerAPI, container: str, name: str, *, timeout: float, swaps: anyio.Lock) -> float:
    """Start a created replica out of the service's DNS; put it in once ready.  The seconds it took.

    A replica that fails (exits, unhealthy, not ready in `timeout`) is stopped and removed, and
    the error raised: it never took a request."""
    began = time.monotonic()
    before = await endpoints(api, container)
    try:
        with anyio.CancelScope(shield=True), _bounded_swap(container):
            await _hide(api, container, before)
        async with swaps:  # its start takes the lowest free address: not during another's swap
            await api.start_container(container)
        await wait_ready(api, container, name, timeout)
    except (ServiceFailedError, DockerAPIError, anyio.get_cancelled_exc_class()):
        with anyio.CancelScope(shield=True):  # a replica that never joined goes: nothing to drain
            async with swaps:
                try:
                    await api.stop_container(container, timeout=1)
                    await api.remove_container(container)
                except DockerAPIError:
                    pass
        raise
    short = container[:12]
    async with swaps:
        with anyio.CancelScope(shield=True), _bounded_swap(container):
            for ep in before:
                await _reconnect(api, container, ep, [a for a in ep.aliases if a != short])
    return time.monotonic() - began
