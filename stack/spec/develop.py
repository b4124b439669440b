"""Checks of a service's `develop.watch` rules beyond what the Compose schema says.

The schema already refuses an unknown `action` and a rule without `path` or `action`.  What it
cannot say, checked here on the canonical (merged) service with the file and line of the rule:

* a rule that copies files (`sync`, `sync+restart`, `sync+exec`) needs a `target` in the
  container (compose-go refuses it too: "target is required for non-rebuild actions");
* `sync+exec` needs `exec.command` (Compose only finds out when `watch` starts).

A `rebuild` rule on a service without `build:` is left to `watch` itself, as in Compose: `up`
and `config` of such a file work, only watching it cannot.
"""

from __future__ import annotations

from typing import Any, Protocol

from stack.errors import StackFileError
from stack.spec.limits import clip

KeyPath = tuple[str | int, ...]

_COPYING = ("sync", "sync+restart", "sync+exec")


class _ErrorAt(Protocol):
    def error(self, path: KeyPath, message: str, hint: str | None = None) -> StackFileError: ...


def check_develop(name: str, service: dict[str, Any], smap: _ErrorAt) -> None:
    """Raise a located StackFileError for the first watch rule that cannot work."""
    develop = service.get("develop")
    rules = develop.get("watch") if isinstance(develop, dict) else None
    if not isinstance(rules, list):
        return
    for index, rule in enumerate(rules):
        if not isinstance(rule, dict):
            continue
        base: KeyPath = ("services", name, "develop", "watch", index)
        action = rule.get("action")
        if action in _COPYING and not rule.get("target"):
            raise smap.error(
                base,
                f"service {clip(name)}: a `{action}` watch rule needs a `target`",
                "add `target:`, the path in the container the files under `path` are copied to",
            )
        hook = rule.get("exec")
        command = hook.get("command") if isinstance(hook, dict) else None
        if action == "sync+exec" and not command:
            raise smap.error(
                (*base, "exec"),
                f"service {clip(name)}: a `sync+exec` watch rule needs `exec.command`",
                "add `exec: {command: ...}`, the command run in the container after each sync",
            )
