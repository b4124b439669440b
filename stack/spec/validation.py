"""Validation of stack files: known keys and types (against the Compose schema) and project rules.

Two passes, both raising a located `StackFileError` (file, line, column, key path, what is
wrong, what is accepted) built by the source map:

* `check_schema(data, smap)`: one file's mapping after interpolation, walked against the
  vendored Compose JSON schema. Unknown keys (outside `x-`) get a "did you mean" suggestion.
* `check_project(project, smap)`: the merged, canonical project: references to undefined
  services/networks/volumes/secrets/configs, `container_name` with replicas, `scale` versus
  `deploy.replicas`, a service with neither image nor build, dependency cycles.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from functools import cache
from typing import Any, Protocol

from stack.errors import DependencyCycleError, Location, StackFileError
from stack.spec.autoscale import check_autoscale
from stack.spec.develop import check_develop
from stack.spec.graph import find_cycle
from stack.spec.limits import clip, listing, parse_int, range_for
from stack.spec.schema_keys import Schema, compose_schema, known_keys, resolve
from stack.spec.update_policy import PolicyProblem, read_policy

# A service meant to exit 0 and stay exited (a migration, a seed job): `up --wait` then takes
# exit 0 as done (stack.plan.expectations).  Compose has no key for it; an `x-` key keeps the
# file valid for Compose.  Its value must be a boolean.
RUN_ONCE_KEY = "x-stack-run-once"

KeyPath = tuple[str | int, ...]


class SourceMapLike(Protocol):
    """What validation needs of S1's `SourceMap`."""

    def locate(self, path: KeyPath) -> Location | None: ...

    def error(self, path: KeyPath, message: str, hint: str | None = None) -> StackFileError: ...


def format_path(path: KeyPath) -> str:
    """("services", "api", "ports", 1) -> "services.api.ports[1]"."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


# ---------------------------------------------------------------------------------------------
# schema walk

Problem = tuple[KeyPath, str, str | None]  # (path, message, hint)

_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "a boolean",
    "null": "null",
}


_JSON_TYPES: dict[type, str] = {
    type(None): "null",
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value)) or type(value).__name__


def _type_ok(value: Any, expected: str) -> bool:
    actual = _json_type(value)
    if expected == "number":
        return actual in ("integer", "number")
    return actual == expected


def _describe(value: Any) -> str:
    kind = _json_type(value)
    if kind in ("object", "array"):
        return _TYPE_WORDS[kind]
    return f"{_TYPE_WORDS.get(kind, kind)} ({clip(value)})"


def _types_of(schema: Schema) -> list[str]:
    t = schema.get("type")
    if t is None:
        return []
    return [t] if isinstance(t, str) else t


@cache
def _pattern(text: str) -> re.Pattern[str]:
    return re.compile(text)


def _walk(value: Any, schema: Schema, path: KeyPath) -> Problem | None:
    if "$ref" in schema:
        schema = resolve(schema)
    if schema.get("type") == "string" and type(value) is str and "enum" not in schema and "pattern" not in schema:
        return None  # the most common node: a plain string where a string belongs
    for combinator in ("oneOf", "anyOf"):
        if combinator in schema:
            problem = _walk_branches(value, schema[combinator], path)
            if problem is not None:
                return problem
    types = _types_of(schema)
    if types and not any(_type_ok(value, t) for t in types):
        words = " or ".join(_TYPE_WORDS.get(t, t) for t in types)
        return path, f"must be {words}, not {_describe(value)}", None
    if "enum" in schema and value not in schema["enum"]:
        accepted = ", ".join(str(v) for v in schema["enum"])
        return path, f"invalid value {clip(value)}", f"use one of: {accepted}"
    if "pattern" in schema and isinstance(value, str) and not _pattern(schema["pattern"]).search(value):
        return path, f"invalid value {clip(value)}", f"it must match {schema['pattern']}"
    if isinstance(value, dict):
        return _walk_mapping(value, schema, path)
    if isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for index, item in enumerate(value):
                problem = _walk(item, items, (*path, index))
                if problem is not None:
                    return problem
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if _numeric(types):
            problem = _out_of_range(value, path)
            if problem is not None:
                return problem
        if "minimum" in schema and value < schema["minimum"]:
            return path, f"must be at least {schema['minimum']}, not {value}", None
        if "maximum" in schema and value > schema["maximum"]:
            return path, f"must be at most {schema['maximum']}, not {value}", None
    return None


def _numeric(types: list[str]) -> bool:
    """A field that holds a number (not one of the mappings of strings, where a number is text)."""
    return ("integer" in types or "number" in types) and "boolean" not in types and "null" not in types


def _out_of_range(value: float, path: KeyPath, written: str | None = None) -> Problem | None:
    """The numeric field at `path` holds `value` (read from the string `written`): within bounds?"""
    bounds = range_for(path)
    problem = bounds.problem(value, written)
    return None if problem is None else (path, problem, bounds.hint)


def _walk_branches(value: Any, branches: list[Schema], path: KeyPath) -> Problem | None:
    """None when a branch accepts `value`; else the most telling branch's problem."""
    problems: list[Problem] = []
    for branch in branches:
        problem = _walk(value, branch, path)
        if problem is None:
            return None
        problems.append(problem)
    # Prefer the branch whose type matches the value: its problem is deeper and more precise.
    matching = [
        p
        for branch, p in zip(branches, problems, strict=True)
        if any(_type_ok(value, t) for t in _types_of(resolve(branch)))
    ]
    if matching:
        return max(matching, key=lambda p: len(p[0]))
    words: list[str] = []
    for branch in branches:
        for t in _types_of(resolve(branch)):
            word = _TYPE_WORDS.get(t, t)
            if word not in words:
                words.append(word)
    return path, f"must be {' or '.join(words)}, not {_describe(value)}", None


# Required keys that an override file may leave to an earlier file (checked after the merge,
# as Compose does): depends_on.<service>.condition.
_REQUIRED_AFTER_MERGE = frozenset({"condition"})
# Fields typed [integer, string] that are not plain integers (sizes, "all", port specs), and
# [boolean, string] ones that are text to Compose (build attestations: `provenance: mode=max`).
_KEEP_AS_TEXT = frozenset({"published", "shm_size", "mem_reservation", "count", "provenance", "sbom"})
_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_FALSE = frozenset({"0", "f", "F", "false", "FALSE", "False"})


def _coerce(text: str, schema: Schema, path: KeyPath) -> Any:
    """A string where the schema also allows a boolean or an integer becomes one, as Compose
    does (such fields accept strings so that `${VAR}` can fill them). A Problem if it cannot."""
    types = set(_types_of(resolve(schema)))
    if types == {"boolean", "string"}:
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return path, f"must be a boolean, not {clip(text)}", "use true or false"
    if types == {"integer", "string"} or (types == {"number", "string"} and path[-1] == "retries"):
        number = parse_int(text)
        if number is None:
            return path, f"must be an integer, not {clip(text)}", "use a whole number"
        return _out_of_range(number, path, text) or number
    return text


def _walk_mapping(value: dict[str, Any], schema: Schema, path: KeyPath) -> Problem | None:
    props: dict[str, Schema] = schema.get("properties", {})
    patterns: dict[str, Schema] = schema.get("patternProperties", {})
    additional = schema.get("additionalProperties", True)
    for key, item in value.items():
        key_path = (*path, key)
        if not isinstance(key, str):
            return key_path, f"keys must be strings, not {_describe(key)}", None
        if key in props:
            problem = _walk(item, props[key], key_path)
            if problem is not None:
                return problem
            if isinstance(item, str) and key not in _KEEP_AS_TEXT:
                converted = _coerce(item, props[key], key_path)
                if isinstance(converted, tuple):
                    return converted
                value[key] = converted
            continue
        matched = False
        for pattern, sub in patterns.items():
            if _pattern(pattern).search(key):
                matched = True
                problem = _walk(item, sub, key_path)
                if problem is not None:
                    return problem
                break
        if matched:
            continue
        if additional is False or (patterns and not props and additional is True):
            # A mapping of names (networks, volumes, ...) whose name fits no pattern: malformed.
            return _unknown_key(key, schema, path)
        if isinstance(additional, dict):
            problem = _walk(item, additional, key_path)
            if problem is not None:
                return problem
    for required in schema.get("required", []):
        if required not in value and required not in _REQUIRED_AFTER_MERGE:
            enum = resolve(props.get(required, {})).get("enum")
            hint = f"add `{required}:`" + (f" (one of: {', '.join(map(str, enum))})" if enum else "")
            return path, f"missing required key {clip(required)}", hint
    return None


def _unknown_key(key: str, schema: Schema, path: KeyPath) -> Problem:
    known = known_keys(schema)
    where = f" in {format_path(path)}" if path else " at the top level"
    if not known:
        # A mapping of names (services, networks, ...): the name itself is malformed.
        return (
            (*path, key),
            f"invalid name {clip(key)}{where}",
            "names may contain only letters, digits, '.', '_' and '-'",
        )
    import difflib  # only on the error path

    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f"did you mean {clip(close[0])}?" if close else None
    accepted = "custom keys must start with 'x-'"
    hint = f"{hint} ({accepted})" if hint else accepted
    return (*path, key), f"unknown key {clip(key)}{where}", hint


def check_schema(data: Any, smap: SourceMapLike) -> None:
    """Raise a located StackFileError for the first unknown key, wrong type or invalid value."""
    if not isinstance(data, dict):
        raise smap.error((), f"a stack file must be a mapping at the top level, not {_describe(data)}")
    problem = _walk(data, compose_schema(), ())
    if problem is not None:
        path, message, hint = problem
        raise smap.error(path, message, hint)


# ---------------------------------------------------------------------------------------------
# project rules (canonical, merged data)


def check_project(project: dict[str, Any], smap: SourceMapLike, disabled: Collection[str] | None = None) -> None:
    """Cross-reference checks over the merged canonical project; raises a located error.

    `disabled`: services defined but switched off by profiles. A dependency on one of them is
    fine when it is `required: false` (as in Compose). When None (not known), every
    `required: false` dependency is accepted.
    """
    services: dict[str, Any] = project.get("services") or {}
    for name, service in services.items():
        _check_service(name, service, project, smap, disabled)
    edges = {
        name: [dep for dep in (service.get("depends_on") or {}) if dep in services]
        for name, service in services.items()
    }
    cycle = find_cycle(edges)
    if cycle is not None:
        where = smap.locate(("services", cycle[0], "depends_on"))
        raise DependencyCycleError(
            f"dependency cycle: {listing(cycle, ' -> ')}",
            location=where,
            path=format_path(("services", cycle[0], "depends_on")),
            hint="remove one of these depends_on entries",
        )


def _check_service(
    name: str,
    service: dict[str, Any],
    project: dict[str, Any],
    smap: SourceMapLike,
    disabled: Collection[str] | None,
) -> None:
    base: KeyPath = ("services", name)
    services = project.get("services") or {}
    if not service.get("image") and not service.get("build") and not service.get("provider"):
        raise smap.error(base, f"service {clip(name)} has neither an image nor a build context", "set image: or build:")
    check_develop(name, service, smap)
    check_autoscale(name, service, smap)
    for dep, spec in (service.get("depends_on") or {}).items():
        if dep in services:
            continue
        required = (spec or {}).get("required", True)
        if disabled is None and not required:
            continue
        if disabled is not None and dep in disabled:
            if not required:
                continue
            raise smap.error(
                (*base, "depends_on", dep),
                f"service {clip(name)} depends on {clip(dep)}, which is disabled by its profiles",
                f"enable a profile of {clip(dep)} (--profile), or mark the dependency `required: false`",
            )
        raise smap.error(
            (*base, "depends_on", dep),
            f"service {clip(name)} depends on undefined service {clip(dep)}",
            _suggest(dep, services, "services"),
        )
    _check_refs(base, "networks", [(n, n) for n in service.get("networks") or {}], project, smap)
    _check_refs(base, "models", [(m, m) for m in service.get("models") or {}], project, smap)
    volume_refs = [
        (index, v.get("source"))
        for index, v in enumerate(service.get("volumes") or [])
        if isinstance(v, dict) and v.get("type") == "volume" and v.get("source")
    ]
    _check_refs(base, "volumes", volume_refs, project, smap)
    for kind in ("secrets", "configs"):
        refs = [(i, ref.get("source")) for i, ref in enumerate(service.get(kind) or []) if isinstance(ref, dict)]
        _check_refs(base, kind, refs, project, smap)
    replicas = _replicas(service)
    if service.get("container_name") and replicas is not None and replicas > 1:
        raise smap.error(
            (*base, "container_name"),
            f"service {clip(name)} sets container_name but asks for {replicas} replicas; "
            "container names must be unique",
            "remove container_name or set a single replica",
        )
    resources = (service.get("deploy") or {}).get("resources") or {}
    for key, kind, field in (
        ("mem_limit", "limits", "memory"),
        ("mem_reservation", "reservations", "memory"),
        ("cpus", "limits", "cpus"),
    ):
        deploy_value = (resources.get(kind) or {}).get(field)
        if service.get(key) is not None and deploy_value is not None and service[key] != deploy_value:
            raise smap.error(
                (*base, key),
                f"service {clip(name)}: {key} ({service[key]}) and deploy.resources.{kind}.{field} "
                f"({deploy_value}) disagree",
                "set only one of them, or the same value in both",
            )
    if RUN_ONCE_KEY in service and not isinstance(service[RUN_ONCE_KEY], bool):
        raise smap.error(
            (*base, RUN_ONCE_KEY),
            f"service {clip(name)}: {RUN_ONCE_KEY} must be true or false, not {clip(str(service[RUN_ONCE_KEY]))}",
            f"write `{RUN_ONCE_KEY}: true` for a service meant to exit 0 and stay exited",
        )
    for block in ("update_config", "rollback_config"):
        raw = (service.get("deploy") or {}).get(block)
        if isinstance(raw, dict):
            try:
                read_policy(raw, rollback=block == "rollback_config")
            except PolicyProblem as problem:
                raise smap.error(
                    (*base, "deploy", block, problem.key), f"service {clip(name)}: {problem.message}", problem.hint
                ) from None
    scale = service.get("scale")
    deploy_replicas = (service.get("deploy") or {}).get("replicas")
    if scale is not None and deploy_replicas is not None and scale != deploy_replicas:
        raise smap.error(
            (*base, "scale"),
            f"service {clip(name)}: scale ({scale}) and deploy.replicas ({deploy_replicas}) disagree",
            "set only one of them, or the same value in both",
        )


def _replicas(service: dict[str, Any]) -> int | None:
    if service.get("scale") is not None:
        return int(service["scale"])
    deploy_replicas = (service.get("deploy") or {}).get("replicas")
    return int(deploy_replicas) if deploy_replicas is not None else None


def _check_refs(
    base: KeyPath,
    kind: str,
    refs: Sequence[tuple[str | int, Any]],
    project: dict[str, Any],
    smap: SourceMapLike,
) -> None:
    """`refs`: (key or index under service.<kind>, referenced name) pairs."""
    defined: dict[str, Any] = project.get(kind) or {}
    for where, ref in refs:
        if ref in defined or (kind == "networks" and ref == "default"):
            continue
        path: KeyPath = (*base, kind, where)
        singular = kind[:-1]
        raise smap.error(
            path,
            f"service {clip(base[-1])} refers to undefined {singular} {clip(ref)}",
            _suggest(str(ref), defined, kind),
        )


def _suggest(name: str, defined: dict[str, Any], kind: str) -> str:
    import difflib  # only on the error path

    close = difflib.get_close_matches(name, list(defined), n=1, cutoff=0.6)
    if close:
        return f"did you mean {clip(close[0])}?"
    if defined:
        return f"defined {kind}: {listing(sorted(defined))}"
    return f"define it under the top-level `{kind}:` key"
