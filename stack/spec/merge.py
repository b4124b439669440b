"""Merging canonical stack data: several `-f` files, and a service with what it `extends`.

The rules of the Compose Specification's merge chapter (and compose-go's `override`
package), applied to data already in canonical (long) form:

* mappings merge recursively, the later file winning for scalars;
* `command`, `entrypoint`, `healthcheck.test` are replaced, never merged;
* sequences of records merge by their key: `ports` by (host_ip, published, target, protocol),
  `volumes` by target, `secrets`/`configs` by target, `devices` by target, `env_file` by path,
  `ipam.config` by subnet; an entry with the same key replaces the earlier one in place;
* other sequences (`dns`, `cap_add`, `extra_hosts`, `networks.*.aliases`...) are appended,
  dropping entries already present;
* `logging` merges only when both sides name the same driver (or one names none);
* `!reset` (in the later file) drops the key, whatever value it is given there;
  `!override` replaces the earlier value instead of merging.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from stack.spec.sourcemap import KeyPath
from stack.spec.yamlpos import Tag

__all__ = ["drop_resets", "hashable", "merge"]

Indexer = Callable[[Any], Any]

_REPLACED_FIELDS = frozenset({"command", "entrypoint"})


def _port_key(item: Any) -> Any:
    if isinstance(item, dict):
        return (
            item.get("host_ip"),
            str(item.get("published")) if item.get("published") is not None else None,
            item.get("target"),
            item.get("protocol") or "tcp",
        )
    return hashable(item)


def _target_key(default_dir: str) -> Indexer:
    def key(item: Any) -> Any:
        if isinstance(item, dict):
            target = item.get("target")
            if target is None:
                return f"{default_dir}/{item.get('source')}"
            return target
        if isinstance(item, str):
            return f"{default_dir}/{item}"
        return hashable(item)

    return key


def _volume_key(item: Any) -> Any:
    if isinstance(item, dict) and "target" in item:
        return item["target"]
    return hashable(item)


def _env_file_key(item: Any) -> Any:
    if isinstance(item, dict):
        return item.get("path")
    return hashable(item)


def _subnet_key(item: Any) -> Any:
    if isinstance(item, dict) and item.get("subnet"):
        return item["subnet"]
    return hashable(item)


def hashable(item: Any) -> Any:
    """A hashable stand-in for plain data: the same data (and types) give the same key."""
    if isinstance(item, dict):
        return ("dict", tuple(sorted((str(k), hashable(v)) for k, v in item.items())))
    if isinstance(item, list):
        return ("list", tuple(hashable(v) for v in item))
    return (type(item).__name__, item)


# Service fields whose list items are records merged by key.
_SERVICE_LIST_KEYS: dict[str, Indexer] = {
    "ports": _port_key,
    "volumes": _volume_key,
    "secrets": _target_key("/run/secrets"),
    "configs": _target_key(""),
    "devices": _volume_key,
    "env_file": _env_file_key,
}


def _indexer_for(path: KeyPath) -> Indexer:
    if len(path) == 3 and path[0] == "services":
        field = path[2]
        if isinstance(field, str) and field in _SERVICE_LIST_KEYS:
            return _SERVICE_LIST_KEYS[field]
    if len(path) == 4 and path[0] == "networks" and path[2:] == ("ipam", "config"):
        return _subnet_key
    return hashable


def _merge_lists(base: list[Any], other: list[Any], path: KeyPath) -> list[Any]:
    index = _indexer_for(path)
    result = list(base)
    positions: dict[Any, int] = {}
    for i, item in enumerate(result):
        positions.setdefault(index(item), i)
    for item in other:
        key = index(item)
        at = positions.get(key)
        if at is None:
            positions[key] = len(result)
            result.append(item)
        else:
            result[at] = item
    return result


def _is_replaced(path: KeyPath) -> bool:
    if len(path) == 3 and path[0] == "services":
        return path[2] in _REPLACED_FIELDS
    return len(path) == 4 and path[0] == "services" and path[2:] == ("healthcheck", "test")


class _Merger:
    def __init__(self, tags: Mapping[KeyPath, Tag]) -> None:
        self.by_parent: dict[KeyPath, dict[str | int, Tag]] = {}
        for tag_path, tag in tags.items():
            if tag_path:
                self.by_parent.setdefault(tag_path[:-1], {})[tag_path[-1]] = tag

    def value(self, base: Any, other: Any, path: KeyPath) -> Any:
        if isinstance(base, dict) and isinstance(other, dict):
            if path[-1:] == ("logging",) and len(path) == 3:
                driver, other_driver = base.get("driver"), other.get("driver")
                if driver and other_driver and driver != other_driver:
                    return other
            return self.mapping(base, other, path)
        if isinstance(base, list) and isinstance(other, list) and not _is_replaced(path):
            return _merge_lists(base, other, path)
        return other

    def mapping(self, base: dict[str, Any], other: dict[str, Any], path: KeyPath) -> dict[str, Any]:
        tags = self.by_parent.get(path)
        for key, value in other.items():
            tag = tags.get(key) if tags else None
            if key not in base or tag is not None:
                base[key] = value
            else:
                base[key] = self.value(base[key], value, (*path, key))
        if tags:
            for tagged, kind in tags.items():
                if kind == "reset" and isinstance(tagged, str) and tagged not in other:
                    base.pop(tagged, None)
        return base


def merge(
    base: dict[str, Any],
    other: dict[str, Any],
    tags: Mapping[KeyPath, Tag] | None = None,
    path: KeyPath = (),
) -> dict[str, Any]:
    """Merge `other` (a later file, or an extending service) into `base`, which is updated.

    `tags` are the `!reset`/`!override` tags of `other`, by key path; `path` is where
    `base` and `other` sit in the project (`("services", "web")` when merging a service).
    Values taken from `other` are not copied: do not reuse `other` afterwards.
    """
    return _Merger(tags or {}).mapping(base, other, path)


def drop_resets(data: Any, tags: Mapping[KeyPath, Tag]) -> None:
    """Remove what is tagged `!reset` from the file that holds it, whatever its value: the key
    of a mapping, the item of a sequence (as compose-go's ResetProcessor does).  `merge` then
    removes the key from what the earlier files said."""
    items: list[tuple[list[Any], int]] = []
    for tag_path, tag in tags.items():
        if tag != "reset" or not tag_path:
            continue
        parent = data
        for part in tag_path[:-1]:
            if isinstance(parent, dict) and isinstance(part, str):
                parent = parent.get(part)
            elif isinstance(parent, list) and isinstance(part, int) and part < len(parent):
                parent = parent[part]
            else:
                parent = None
                break
        last = tag_path[-1]
        if isinstance(parent, dict) and isinstance(last, str):
            parent.pop(last, None)
        elif isinstance(parent, list) and isinstance(last, int) and last < len(parent):
            items.append((parent, last))
    for sequence, index in sorted(items, key=lambda item: -item[1]):  # the last first: indexes hold
        del sequence[index]


def deep_copy(data: Any) -> Any:
    """A copy safe to merge into (merge updates its base in place)."""
    return copy.deepcopy(data)
