"""Dependency cycles between services (depends_on), found without recursion."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def service_reference(value: object) -> str | None:
    """x of `service:x` (network_mode, ipc, pid): the service whose container's namespace it
    joins; None for any other value.  The one place this syntax is read."""
    if isinstance(value, str) and value.startswith("service:"):
        return value.removeprefix("service:") or None
    return None


def find_cycle(edges: Mapping[str, Iterable[str]]) -> list[str] | None:
    """One dependency cycle as a closed walk (`["a", "b", "a"]`), or None when there is none.

    `edges[x]` are the nodes x depends on; names not in `edges` are leaves. Nodes are visited in
    sorted order so the reported cycle is the same on every run.
    """
    white, grey, black = 0, 1, 2
    colour: dict[str, int] = dict.fromkeys(edges, white)
    for root in sorted(edges):
        if colour[root] != white:
            continue
        colour[root] = grey
        stack: list[tuple[str, list[str]]] = [(root, sorted(edges[root]))]
        while stack:
            node, pending = stack[-1]
            if not pending:
                colour[node] = black
                stack.pop()
                continue
            nxt = pending.pop(0)
            state = colour.get(nxt, black)
            if state == grey:
                names = [name for name, _ in stack]
                return [*names[names.index(nxt) :], nxt]
            if state == white:
                colour[nxt] = grey
                stack.append((nxt, sorted(edges[nxt])))
    return None
