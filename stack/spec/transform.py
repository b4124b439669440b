"""Short syntax -> the canonical long shape Docker Compose prints, and Compose's project defaults.

Two entry points, called by the loader (see ARCHITECTURE.md and the loader's pipeline):

* `canonicalize_file(data, ctx)`: ONE file's mapping after interpolation. Validated against
  the Compose schema first (located errors), then every short syntax is expanded (ports,
  volumes, depends_on, environment, ...) and relative paths are made absolute against the
  directory of *that* file. Key paths are kept down to service-field level, so the merge step
  can still apply `!reset`/`!override` tags by path.
* `finalize(project, ctx)`: the merged project: env_file contents folded into environment,
  `command`/`entrypoint`/`networks` defaults, the implicit `default` network, resource
  names, unused resources dropped, then the cross-reference checks of `validation`.

Plain data in, plain data out: the pydantic models come after.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from stack.spec import shellwords
from stack.spec.graph import service_reference
from stack.spec.limits import DURATION_NS, PORT, SIZE, OutOfRange, clip, parse_int, range_for
from stack.spec.merge import hashable
from stack.spec.omitempty import omit_zero_fields
from stack.spec.sourcemap import KeyPath, SourceMap
from stack.spec.units import byte_size, format_duration_ns, parse_duration_ns
from stack.spec.validation import check_project, check_schema

__all__ = ["TransformContext", "canonicalize_file", "finalize", "select_services"]

RESOURCE_KINDS = ("networks", "volumes", "secrets", "configs")
# Top-level mappings of what services refer to by name; only RESOURCE_KINDS get a default name.
REFERENCED_KINDS = (*RESOURCE_KINDS, "models")


@dataclass
class TransformContext:
    """What the transform needs to know about the file (and project) it is working on."""

    project_name: str
    working_dir: str  # absolute directory that relative paths in THIS file resolve against
    file: str
    smap: SourceMap
    lookup: Callable[[str], str | None]  # the environment, for `environment: [A]` and `~`
    # False under --no-interpolate: `${VAR}` is still in the values, so short syntax holding
    # one is kept as written and references are not checked (they may name `${VAR}`).
    interpolated: bool = True

    def path(self, value: str) -> str:
        """A host path from this file, absolute: `~` expanded, relative joined to working_dir."""
        if value == "~" or value.startswith("~/"):
            home = self.lookup("HOME") or os.path.expanduser("~")
            value = home + value[1:]
        if os.path.isabs(value) or re.match(r"^[A-Za-z]:[\\/]", value):
            return value  # Compose keeps absolute (and Windows) paths exactly as written
        return os.path.normpath(os.path.join(self.working_dir, value))


Convert = Callable[[Any, KeyPath, TransformContext], Any]


# ---------------------------------------------------------------------------------------------
# scalars


def scalar_str(value: Any) -> str:
    """A YAML scalar as Compose turns it into a string (`true`, `1.5`, `3`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _duration(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    if value is None:
        return None
    try:
        return format_duration_ns(parse_duration_ns(value))
    except OutOfRange as e:
        raise ctx.smap.error(path, str(e), DURATION_NS.hint) from None
    except ValueError:
        raise ctx.smap.error(
            path, f"invalid duration {clip(value)}", "use a duration like 30s, 1m30s, 500ms or 2h"
        ) from None


def _bytes(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    if value is None:
        return None
    try:
        return str(byte_size(value))
    except OutOfRange as e:
        raise ctx.smap.error(path, str(e), SIZE.hint) from None
    except ValueError:
        raise ctx.smap.error(
            path, f"invalid byte size {clip(value)}", "use a size like 512m, 1g, 64k or a number of bytes"
        ) from None


def _float(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    """A number written as a string (`cpus: "0.5"`), within the field's bounds."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise ctx.smap.error(path, f"invalid number {clip(value)}", "use a number like 0.5 or 2") from None
        return _in_range(number, value, path, ctx)
    return value


def _int(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    """An integer written as a string, within the field's bounds."""
    if isinstance(value, str):
        number = parse_int(value)
        if number is None:
            raise ctx.smap.error(path, f"invalid integer {clip(value)}", "use a whole number")
        return _in_range(number, value, path, ctx)
    return value


def _in_range(number: float, written: str, path: KeyPath, ctx: TransformContext) -> float:
    """`number`, if it is within the bounds of the field at `path` (numbers that are not
    written as strings were checked against them by check_schema)."""
    bounds = range_for(path)
    problem = bounds.problem(number, written)
    if problem is not None:
        raise ctx.smap.error(path, problem, bounds.hint)
    return number


def _str_list(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    """string_or_list: `x` -> [`x`]."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [scalar_str(v) for v in value]
    return value


def _shell_words(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    """command/entrypoint: a string is split like a POSIX shell would (quotes, backslashes)."""
    if isinstance(value, str):
        try:
            return shellwords.split(value)
        except ValueError as e:
            raise ctx.smap.error(path, f"cannot split {clip(value)} into words: {e}", "check the quotes") from None
    return value


def _string_map(value: Any, path: KeyPath, ctx: TransformContext, *, null: str | None = "") -> Any:
    """labels/sysctls/annotations/...: list `k=v` or mapping -> {k: "v"}."""
    if isinstance(value, list):
        out: dict[str, Any] = {}
        for item in value:
            key, sep, val = str(item).partition("=")
            out[key] = val if sep else null
        return out
    if isinstance(value, dict):
        return {k: null if v is None else scalar_str(v) for k, v in value.items()}
    return value


def _labels(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    return _string_map(value, path, ctx)


def _environment(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    """List or mapping; a name without a value is taken from the environment, else null."""
    out: dict[str, str | None] = {}
    if isinstance(value, list):
        for index, item in enumerate(value):
            key, sep, val = str(item).partition("=")
            if key != key.rstrip():  # `A = 1` would set a variable named "A " (Compose refuses it)
                raise ctx.smap.error(
                    (*path, index), f"environment variable {clip(key)} is declared with a trailing space", "write A=1"
                )
            out[key] = val if sep else ctx.lookup(key)
        return out
    if isinstance(value, dict):
        for key, val in value.items():
            out[key] = ctx.lookup(key) if val is None else scalar_str(val)
        return out
    return value


def _build_args(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    """Build args: like environment, but a name missing from the environment is dropped."""
    out: dict[str, str | None] = {}
    items: Iterable[tuple[str, Any]]
    if isinstance(value, list):
        pairs = [str(item).partition("=") for item in value]
        items = [(k, v if sep else None) for k, sep, v in pairs]
    elif isinstance(value, dict):
        items = value.items()
    else:
        return value
    for key, val in items:
        if val is None:
            found = ctx.lookup(key)
            if found is not None:
                out[key] = found
        else:
            out[key] = scalar_str(val)
    return out


def _extra_hosts(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    """`host:ip` or `host=ip` list, or mapping (sorted; list values repeat) -> [`host=ip`]."""
    if isinstance(value, list):
        out = []
        for item in value:
            text = str(item)
            if "=" not in text:
                host, sep, ip = text.partition(":")
                text = f"{host}={ip}" if sep else text
            out.append(text)
        return sorted(out)
    if isinstance(value, dict):
        hosts: list[str] = []
        for host in sorted(value):
            ips = value[host]
            for ip in ips if isinstance(ips, list) else [ips]:
                hosts.append(f"{host}={scalar_str(ip)}")
        return hosts
    return value


def _ulimits(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    if isinstance(value, dict):
        return {k: dict(v) if isinstance(v, dict) else v for k, v in value.items()}
    return value


def _healthcheck(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    if not isinstance(value, dict):
        return value
    out = dict(value)
    test = out.get("test")
    if isinstance(test, str):
        out["test"] = ["CMD-SHELL", test]
    for key in ("interval", "timeout", "start_period", "start_interval"):
        if key in out:
            out[key] = _duration(out[key], (*path, key), ctx)
    return out


def _logging(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    if isinstance(value, dict) and isinstance(value.get("options"), dict):
        out = dict(value)
        out["options"] = {k: None if v is None else scalar_str(v) for k, v in value["options"].items()}
        return out
    return value


def _depends_on(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    if isinstance(value, list):
        return {name: {"condition": "service_started", "required": True} for name in value}
    if isinstance(value, dict):
        # No defaults here: an override file may set only `restart:` on a dependency whose
        # condition comes from an earlier file. finalize() fills them in after the merge.
        return {name: dict(spec or {}) for name, spec in value.items()}
    return value


def _service_networks(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    if isinstance(value, list):
        return dict.fromkeys(value)
    if isinstance(value, dict):
        out = {k: dict(v) if isinstance(v, dict) else v for k, v in value.items()}
        for key, spec in out.items():
            if isinstance(spec, dict) and isinstance(spec.get("driver_opts"), dict):
                spec["driver_opts"] = _string_map(spec["driver_opts"], (*path, key, "driver_opts"), ctx)
        return out
    return value


def _octal_mode(ref: dict[str, Any]) -> dict[str, Any]:
    """File modes print as Compose prints a Go FileMode in config: octal text (`0440`)."""
    mode = ref.get("mode")
    if isinstance(mode, int) and not isinstance(mode, bool):
        ref["mode"] = f"0{mode:o}"
    return ref


def _secret_refs(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    """secrets: `name` or a mapping without target -> target /run/secrets/<name>."""
    if not isinstance(value, list):
        return value
    out = []
    for item in value:
        ref = {"source": item} if isinstance(item, str) else dict(item)
        if "target" not in ref and isinstance(ref.get("source"), str):
            ref["target"] = f"/run/secrets/{ref['source']}"
        out.append(_octal_mode(ref))
    return out


def _config_refs(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    """configs: `name` -> {source: name} (Compose leaves the target to the engine)."""
    if not isinstance(value, list):
        return value
    return [{"source": item} if isinstance(item, str) else _octal_mode(dict(item)) for item in value]


def _devices(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    if not isinstance(value, list):
        return value
    out: list[Any] = []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            out.append(item)
            continue
        parts = item.split(":")
        if len(parts) > 3 or not parts[0]:
            raise ctx.smap.error(
                (*path, index), f"invalid device {clip(item)}", "use HOST_PATH[:CONTAINER_PATH[:PERMISSIONS]]"
            )
        source = parts[0]
        target = parts[1] if len(parts) > 1 else source
        perms = parts[2] if len(parts) > 2 else "rwm"
        out.append({"source": source, "target": target, "permissions": perms})
    return out


# ---------------------------------------------------------------------------------------------
# ports

_PORT_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


def _port_range(text: str, path: KeyPath, ctx: TransformContext, spec: str) -> tuple[int, int]:
    m = _PORT_RANGE.match(text)
    if not m:
        raise ctx.smap.error(
            path,
            f"invalid port {clip(spec)}: {clip(text)} is not a port number or range",
            "use [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL], e.g. 8080:80 or 127.0.0.1:53:53/udp",
        )
    low = parse_int(m.group(1))
    high = parse_int(m.group(2)) if m.group(2) else low
    if low is None or high is None or PORT.problem(low) or PORT.problem(high) or high < low:
        raise ctx.smap.error(path, f"invalid port range {clip(text)} in {clip(spec)}", f"{PORT.hint}, low-high")
    return low, high


def _is_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _short_port(spec: str, path: KeyPath, ctx: TransformContext) -> list[dict[str, Any]]:
    protocol = "tcp"
    body = spec
    if "/" in body:
        body, protocol = body.rsplit("/", 1)
    host_ip = ""
    published = ""
    if body.startswith("["):
        end = body.find("]")
        if end < 0 or body[end + 1 : end + 2] != ":":
            raise ctx.smap.error(path, f"invalid port {clip(spec)}", "write an IPv6 host IP as [::1]:8080:80")
        host_ip = body[1:end]
        rest = body[end + 2 :].split(":")
        if len(rest) != 2:
            raise ctx.smap.error(path, f"invalid port {clip(spec)}", "use [IPV6]:HOST_PORT:CONTAINER_PORT")
        published, target = rest
    else:
        parts = body.split(":")
        if len(parts) > 3:
            # An unbracketed IPv6 address: the last two parts are the ports.
            host_ip = ":".join(parts[:-2])
            published, target = parts[-2:]
        elif len(parts) == 3:
            host_ip, published, target = parts
        elif len(parts) == 2:
            published, target = parts
        else:
            target = parts[0]
    if host_ip and not _is_ip(host_ip):
        raise ctx.smap.error(
            path,
            f"invalid port {clip(spec)}: {clip(host_ip)} is not an IP address",
            "e.g. 127.0.0.1:8080:80 or [::1]:8080:80",
        )
    t_low, t_high = _port_range(target, path, ctx, spec)
    p_low = p_high = 0
    if published:
        p_low, p_high = _port_range(published, path, ctx, spec)
    count = t_high - t_low + 1
    ports: list[dict[str, Any]] = []
    if published and p_high > p_low and count == 1:
        # One container port on a range of host ports: the engine picks one of them.
        published_for: Callable[[int], str] = lambda _i: published  # noqa: E731
    elif published and p_high - p_low + 1 != count:
        raise ctx.smap.error(
            path,
            f"invalid port {clip(spec)}: host range {published} and container range {target} differ in size",
            "give ranges of the same length, e.g. 8000-8001:80-81",
        )
    elif published:
        published_for = lambda i: str(p_low + i)  # noqa: E731
    else:
        published_for = lambda _i: ""  # noqa: E731
    # A range expands to one entry per port, in Compose's order: by "PORT/PROTOCOL" as text.
    for i in sorted(range(count), key=lambda i: str(t_low + i)) if count > 1 else range(count):
        port: dict[str, Any] = {"mode": "ingress"}
        if host_ip:
            port["host_ip"] = host_ip
        port["target"] = t_low + i
        pub = published_for(i)
        if pub:
            port["published"] = pub
        port["protocol"] = protocol
        ports.append(port)
    return ports


def _ports(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    if not isinstance(value, list):
        return value
    out: list[dict[str, Any]] = []
    for index, item in enumerate(value):
        item_path = (*path, index)
        if isinstance(item, int | float) and not isinstance(item, bool):  # in range: see check_schema
            out.extend(_short_port(str(int(item)), item_path, ctx))
        elif isinstance(item, str):
            if not ctx.interpolated and "$" in item:
                out.append(item)  # type: ignore[arg-type]  # kept as written (not interpolated)
                continue
            out.extend(_short_port(item, item_path, ctx))
        elif isinstance(item, dict):
            port: dict[str, Any] = {"mode": item.get("mode", "ingress")}
            if item.get("host_ip"):
                port["host_ip"] = item["host_ip"]
            port["target"] = _int(item.get("target"), (*item_path, "target"), ctx)
            if item.get("published") is not None:
                port["published"] = scalar_str(item["published"])
            port["protocol"] = item.get("protocol", "tcp")
            for key, val in item.items():
                port.setdefault(key, val)
            out.append(port)
        else:
            out.append(item)
    # Compose drops exact duplicates (e.g. "3000" next to "3000-3002"), keeping the first.
    seen: set[Any] = set()
    unique: list[dict[str, Any]] = []
    for port in out:
        key = hashable(port)
        if key not in seen:
            seen.add(key)
            unique.append(port)
    return unique


def _expose(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    return [scalar_str(v) for v in value] if isinstance(value, list) else value


# ---------------------------------------------------------------------------------------------
# volumes

_PROPAGATIONS = {"rprivate", "private", "rshared", "shared", "rslave", "slave"}
_SELINUX = {"z", "Z"}


def _is_host_path(source: str) -> bool:
    if not source:
        return False
    if source[0] in "./~" or source.startswith("\\\\"):
        return True
    return len(source) > 1 and source[1] == ":" and source[0].isalpha()


def _clean(target: str) -> str:
    """Go's path.Clean for a container path (`/a/b/` -> `/a/b`)."""
    return posixpath.normpath(target) if target.startswith("/") else target


def _short_volume(spec: str, path: KeyPath, ctx: TransformContext) -> dict[str, Any]:
    """compose-go's ParseVolume: SOURCE:TARGET[:OPTIONS], or TARGET alone (anonymous)."""
    hint = "use [SOURCE:]TARGET[:ro|rw|z|Z|nocopy|shared|...], e.g. ./data:/data:ro"
    if not spec:
        raise ctx.smap.error(path, "empty volume", hint)
    parts = spec.split(":")
    # A Windows drive letter (`C:\x`) is part of the path, not a separator.
    merged: list[str] = []
    for part in parts:
        if merged and len(merged[-1]) == 1 and merged[-1].isalpha() and part[:1] in ("\\", "/"):
            merged[-1] += ":" + part
        else:
            merged.append(part)
    if any(not p for p in merged):
        raise ctx.smap.error(path, f"invalid volume {clip(spec)}: empty section between colons", hint)
    if len(merged) > 3:
        raise ctx.smap.error(path, f"invalid volume {clip(spec)}: too many colons", hint)
    source = merged[0] if len(merged) > 1 else ""
    target = _clean(merged[1] if len(merged) > 1 else merged[0])
    read_only = False
    bind: dict[str, Any] = {}
    volume: dict[str, Any] = {}
    if len(merged) == 3:
        for option in merged[2].split(","):
            if option == "ro":
                read_only = True
            elif option == "rw":
                read_only = False
            elif option == "nocopy":
                volume["nocopy"] = True
            elif option in _PROPAGATIONS:
                bind["propagation"] = option
            elif option in _SELINUX:
                bind["selinux"] = option
    out: dict[str, Any]
    if _is_host_path(source):
        out = {"type": "bind", "source": ctx.path(source), "target": target}
        bind["create_host_path"] = True
    else:
        out = {"type": "volume"}
        if source:
            out["source"] = source
        out["target"] = target
    if read_only:
        out["read_only"] = True
    if bind:
        out["bind"] = bind
    if out["type"] == "volume":
        out["volume"] = volume
    return out


def _volumes(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    if not isinstance(value, list):
        return value
    out: list[Any] = []
    for index, item in enumerate(value):
        item_path = (*path, index)
        if isinstance(item, str):
            if not ctx.interpolated and "$" in item:
                out.append(item)  # kept as written (not interpolated)
                continue
            out.append(_short_volume(item, item_path, ctx))
        elif isinstance(item, dict):
            mount = dict(item)
            source = mount.get("source")
            if mount.get("type") == "bind" and isinstance(source, str) and source:
                mount["source"] = ctx.path(source)
            if isinstance(mount.get("tmpfs"), dict) and "size" in mount["tmpfs"]:
                mount["tmpfs"] = dict(mount["tmpfs"])
                mount["tmpfs"]["size"] = _bytes(mount["tmpfs"]["size"], (*item_path, "tmpfs", "size"), ctx)
            out.append(mount)
        else:
            out.append(item)
    return _unique_targets(out)


def _unique_targets(mounts: list[Any]) -> list[Any]:
    """One mount per target, as Compose: a later mount replaces an earlier one in its place."""
    position: dict[Any, int] = {}
    out: list[Any] = []
    for mount in mounts:
        target = mount.get("target") if isinstance(mount, dict) else None
        if target is not None and target in position:
            out[position[target]] = mount
            continue
        if target is not None:
            position[target] = len(out)
        out.append(mount)
    return out


# ---------------------------------------------------------------------------------------------
# build, deploy, env_file


def _is_remote_context(context: str) -> bool:
    return "://" in context or context.startswith(("git@", "github.com/"))


def _build(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    if isinstance(value, str):
        value = {"context": value}
    if not isinstance(value, dict):
        return value
    out = dict(value)
    context = out.get("context")
    if isinstance(context, str) and not _is_remote_context(context):
        out["context"] = ctx.path(context)
    for key in ("provenance", "sbom"):  # text to Compose, even when written as a boolean
        if isinstance(out.get(key), bool):
            out[key] = scalar_str(out[key])
    contexts = out.get("additional_contexts")
    if isinstance(contexts, dict):  # a local directory is a host path; images, URLs are kept
        out["additional_contexts"] = {
            k: ctx.path(v) if isinstance(v, str) and not _is_remote_context(v) else v for k, v in contexts.items()
        }
    # The context and dockerfile defaults wait for finalize(): an override file that only adds
    # `args` must not reset the context of the file it overrides.
    converters: dict[str, Convert] = {
        "args": _build_args,
        "labels": _labels,
        "extra_hosts": _extra_hosts,
        "shm_size": _bytes,
        "ulimits": _ulimits,
        "secrets": _config_refs,  # build secrets have no default target
    }
    for key, convert in converters.items():
        if key in out:
            out[key] = convert(out[key], (*path, key), ctx)
    return out


def _resources(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    if not isinstance(value, dict):
        return value
    out = dict(value)
    for kind in ("limits", "reservations"):
        spec = out.get(kind)
        if isinstance(spec, dict):
            spec = dict(spec)
            if "cpus" in spec:
                spec["cpus"] = _float(spec["cpus"], (*path, kind, "cpus"), ctx)
            if "memory" in spec:
                spec["memory"] = _bytes(spec["memory"], (*path, kind, "memory"), ctx)
            if "devices" in spec:
                spec["devices"] = _device_requests(spec["devices"], (*path, kind, "devices"), ctx)
            out[kind] = spec
    return out


def _deploy(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    if not isinstance(value, dict):
        return value
    out = dict(value)
    if "labels" in out:
        out["labels"] = _labels(out["labels"], (*path, "labels"), ctx)
    out["resources"] = _resources(out.get("resources") or {}, (*path, "resources"), ctx)
    for block, keys in (
        ("restart_policy", ("delay", "window")),
        ("update_config", ("delay", "monitor")),
        ("rollback_config", ("delay", "monitor")),
    ):
        spec = out.get(block)
        if isinstance(spec, dict):
            spec = dict(spec)
            for key in keys:
                if key in spec:
                    spec[key] = _duration(spec[key], (*path, block, key), ctx)
            out[block] = spec
    out.setdefault("placement", {})
    return out


def _env_file(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    """string, list of strings or {path, required, format} -> [{path: absolute, required, ...}]."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        return value
    out = []
    for item in items:
        entry = {"path": item} if isinstance(item, str) else dict(item)
        if isinstance(entry.get("path"), str):
            entry["path"] = ctx.path(entry["path"])
        entry.setdefault("required", True)
        out.append(entry)
    return out


def _develop(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    """develop.watch: paths are host paths (made absolute), ignore/include lists, the exec hook's
    command split like `command` and its environment a mapping (bare names stay null: Compose
    does not look them up); Compose prints an empty exec hook."""
    if not isinstance(value, dict) or not isinstance(value.get("watch"), list):
        return value
    out = dict(value)
    rules = []
    for index, rule in enumerate(value["watch"]):
        if isinstance(rule, dict):
            rule = dict(rule)
            if isinstance(rule.get("path"), str):
                rule["path"] = ctx.path(rule["path"])
            for key in ("ignore", "include"):
                if key in rule:
                    rule[key] = _str_list(rule[key], (*path, "watch", index, key), ctx)
            hook = rule.get("exec")
            if isinstance(hook, dict):
                hook = dict(hook)
                if isinstance(hook.get("command"), str):
                    hook["command"] = _shell_words(hook["command"], (*path, "watch", index, "exec", "command"), ctx)
                if "environment" in hook:
                    hook["environment"] = _string_map(hook["environment"], path, ctx, null=None)
                rule["exec"] = hook
            rule.setdefault("exec", {"command": None})
        rules.append(rule)
    out["watch"] = rules
    return out


_RESTART = re.compile(r"no|always|unless-stopped|on-failure(:\d+)?")


def _restart(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    """Stricter than Compose (which leaves a bad policy for the daemon to refuse at `up`);
    "" means none, as in Compose."""
    if isinstance(value, str) and value and not _RESTART.fullmatch(value) and (ctx.interpolated or "$" not in value):
        raise ctx.smap.error(
            path,
            f"invalid restart policy {clip(value)}",
            "use one of: no, always, unless-stopped, on-failure, on-failure:MAX_RETRIES",
        )
    return value


def _gpus(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    """`gpus: all` is every GPU: Compose prints it as one device request with count -1."""
    return [{"count": -1}] if value == "all" else _device_requests(value, path, ctx)


def _device_requests(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    """Device requests (gpus, deploy.resources.*.devices): `count: all` is -1, options are text."""
    if not isinstance(value, list):
        return value
    out = []
    for item in value:
        if isinstance(item, dict):
            item = dict(item)
            if item.get("count") == "all":
                item["count"] = -1
            if isinstance(item.get("options"), dict):
                item["options"] = _string_map(item["options"], path, ctx)
        out.append(item)
    return out


def _hooks(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    """post_start/pre_stop: each hook's command string is split like `command`."""
    if not isinstance(value, list):
        return value
    out = []
    for index, hook in enumerate(value):
        if isinstance(hook, dict) and isinstance(hook.get("command"), str):
            hook = {**hook, "command": _shell_words(hook["command"], (*path, index, "command"), ctx)}
        out.append(hook)
    return out


def _service_models(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    """models: a list of names -> {name: null}; the mapping form as written."""
    if isinstance(value, list):
        return dict.fromkeys(str(name) for name in value)
    if isinstance(value, dict):
        return {k: dict(v) if isinstance(v, dict) else v for k, v in value.items()}
    return value


def _provider(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    """provider.options: each value is a list of strings (a scalar is a list of one)."""
    if not isinstance(value, dict) or not isinstance(value.get("options"), dict):
        return value
    options: dict[str, Any] = {}
    for key, option in value["options"].items():
        items = option if isinstance(option, list) else [option]
        options[key] = [scalar_str(item) for item in items if item is not None]
    return {**value, "options": options}


def _label_file(value: Any, path: KeyPath, ctx: TransformContext) -> Any:
    files = [value] if isinstance(value, str) else value
    return [ctx.path(f) for f in files] if isinstance(files, list) else value


# service key -> converter; keys not listed are kept as written.
SERVICE_FIELDS: dict[str, Convert] = {
    "annotations": _labels,
    "build": _build,
    "command": _shell_words,
    "configs": _config_refs,
    "cpus": _float,
    "depends_on": _depends_on,
    "deploy": _deploy,
    "develop": _develop,
    "devices": _devices,
    "dns": _str_list,
    "dns_search": _str_list,
    "entrypoint": _shell_words,
    "env_file": _env_file,
    "environment": _environment,
    "expose": _expose,
    "gpus": _gpus,
    "group_add": _str_list,
    "label_file": _label_file,
    "post_start": _hooks,
    "pre_stop": _hooks,
    "extra_hosts": _extra_hosts,
    "healthcheck": _healthcheck,
    "labels": _labels,
    "logging": _logging,
    "mem_limit": _bytes,
    "mem_reservation": _bytes,
    "memswap_limit": _bytes,
    "models": _service_models,
    "networks": _service_networks,
    "ports": _ports,
    "provider": _provider,
    "restart": _restart,
    "secrets": _secret_refs,
    "shm_size": _bytes,
    "stop_grace_period": _duration,
    "storage_opt": _labels,
    "sysctls": _labels,
    "tmpfs": _str_list,
    "ulimits": _ulimits,
    "volumes": _volumes,
}


def canonical_service(name: str, service: dict[str, Any], ctx: TransformContext) -> dict[str, Any]:
    """One service mapping in canonical long form (schema already checked)."""
    base: KeyPath = ("services", name)
    out: dict[str, Any] = {}
    for key, value in service.items():
        convert = SERVICE_FIELDS.get(key)
        out[key] = convert(value, (*base, key), ctx) if convert is not None and value is not None else value
    return out


def _resource(kind: str, key: str, value: Any, ctx: TransformContext) -> dict[str, Any]:
    out: dict[str, Any] = dict(value or {})
    path: KeyPath = (kind, key)
    if "labels" in out:
        out["labels"] = _labels(out["labels"], (*path, "labels"), ctx)
    if isinstance(out.get("driver_opts"), dict):
        out["driver_opts"] = opts = {k: scalar_str(v) for k, v in out["driver_opts"].items()}
        device = opts.get("device")
        # A local volume bound to a host directory: the device is a host path (Compose's rule).
        bound = kind == "volumes" and out.get("driver") == "local" and opts.get("o") == "bind"
        if bound and device is not None and (ctx.interpolated or "$" not in device):
            opts["device"] = ctx.path(device)
    if isinstance(out.get("external"), dict):
        # Legacy `external: {name: x}`: the name moves up.
        legacy = out["external"]
        out["external"] = True
        if legacy.get("name"):
            out["name"] = legacy["name"]
    if kind in ("secrets", "configs") and isinstance(out.get("file"), str):
        out["file"] = ctx.path(out["file"])
    return out


def canonicalize_file(data: dict[str, Any], ctx: TransformContext) -> dict[str, Any]:
    """One file's top-level mapping (after interpolation) in canonical long form.

    Raises a located StackFileError for unknown keys (with a "did you mean"), wrong types and
    invalid values.
    """
    check_schema(data, ctx.smap)
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "version":
            continue  # obsolete; Compose ignores it too
        if key == "services":
            out[key] = {name: canonical_service(name, svc, ctx) for name, svc in (value or {}).items()}
        elif key in RESOURCE_KINDS:
            out[key] = {name: _resource(key, name, spec, ctx) for name, spec in (value or {}).items()}
        elif key == "models":
            out[key] = {name: dict(spec or {}) for name, spec in (value or {}).items()}
        else:
            out[key] = value
    return out


# ---------------------------------------------------------------------------------------------
# finalize


def _read_env_file(path: str, ctx: TransformContext, env_format: str | None = None) -> dict[str, str]:
    """One env file's variables: `.env` syntax, or with `format: raw` each value as written."""
    from stack.spec.dotenv import parse_dotenv, parse_raw_env

    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except (OSError, UnicodeDecodeError) as e:
        raise ctx.smap.error((), f"cannot read env file {path}: {e}") from None
    if env_format == "raw":
        return parse_raw_env(text, path, ctx.lookup)
    return parse_dotenv(text, path, ctx.lookup)


def _fold_env_files(name: str, service: dict[str, Any], ctx: TransformContext) -> None:
    """Compose prints env_file contents inside `environment` (environment wins) and drops env_file."""
    entries = service.pop("env_file", None)
    if not entries:
        return
    merged: dict[str, Any] = {}
    for index, entry in enumerate(entries):
        file = entry.get("path")
        if not os.path.exists(file):
            if entry.get("required", True) in (True, "true"):
                raise ctx.smap.error(
                    ("services", name, "env_file", index),
                    f"env file {file} not found",
                    "create it, or mark it `required: false` in the long env_file syntax",
                )
            continue
        env_format = entry.get("format")
        if env_format not in (None, "", "raw"):
            raise ctx.smap.error(
                ("services", name, "env_file", index, "format"),
                f"unsupported env_file format {clip(env_format)}",
                "leave `format` out for the .env syntax, or use `format: raw`",
            )
        merged.update(_read_env_file(file, ctx, env_format))
    merged.update(service.get("environment") or {})
    service["environment"] = merged


def _merged_defaults(name: str, service: dict[str, Any], ctx: TransformContext) -> None:
    """Defaults that only make sense once every file is merged (see canonicalize_file)."""
    build = service.get("build")
    if isinstance(build, dict):
        build.setdefault("context", ctx.working_dir)
        if "dockerfile" not in build and "dockerfile_inline" not in build:
            build["dockerfile"] = "Dockerfile"
        service["build"] = {"context": build.pop("context"), **build}
    for dep, spec in (service.get("depends_on") or {}).items():
        if not isinstance(spec, dict):
            continue
        if "condition" not in spec:
            raise ctx.smap.error(
                ("services", name, "depends_on", dep),
                "missing required key 'condition'",
                "add `condition:` (one of: service_started, service_healthy, service_completed_successfully)",
            )
        spec.setdefault("required", True)


def _fold_label_files(name: str, service: dict[str, Any], ctx: TransformContext) -> None:
    """label_file contents go into `labels` (explicit labels win), as Compose prints them."""
    files = service.pop("label_file", None)
    if not files:
        return
    merged: dict[str, Any] = {}
    for index, file in enumerate(files):
        if not os.path.exists(file):
            raise ctx.smap.error(("services", name, "label_file", index), f"label file {file} not found")
        merged.update(_read_env_file(file, ctx))
    merged.update(service.get("labels") or {})
    service["labels"] = merged


def finalize(
    project: dict[str, Any], ctx: TransformContext, *, disabled: Collection[str] | None = None
) -> dict[str, Any]:
    """The merged project with Compose's defaults applied and cross-references checked.

    `disabled`: names of services switched off by profiles (a `required: false` dependency on
    one of them is accepted; a required one is an error).
    """
    out: dict[str, Any] = {k: v for k, v in project.items() if k not in ("version", "include")}
    out["name"] = ctx.project_name
    services: dict[str, Any] = out.get("services") or {}
    out["services"] = services
    for kind in REFERENCED_KINDS:
        out[kind] = {key: dict(spec or {}) for key, spec in (out.get(kind) or {}).items()}
    for name, service in services.items():
        _fold_env_files(name, service, ctx)
        _fold_label_files(name, service, ctx)
        _merged_defaults(name, service, ctx)
        deploy = service.get("deploy")
        if service.get("scale") is not None and isinstance(deploy, dict) and deploy.get("replicas") is None:
            deploy["replicas"] = service["scale"]  # Compose mirrors scale into deploy
        service.setdefault("command", None)
        service.setdefault("entrypoint", None)
        # A provider's service is no container: it joins no network unless told to.
        if "network_mode" not in service and "provider" not in service and not service.get("networks"):
            service["networks"] = {"default": None}
        _implied_dependencies(service)
        _omit_empty(service)
    if ctx.interpolated:
        check_project(out, ctx.smap, disabled)
    _drop_unused(out)
    for kind in RESOURCE_KINDS:
        resources = out[kind]
        if kind == "networks" and "default" not in resources and _uses_default_network(services):
            resources["default"] = {}
        for key, spec in list(resources.items()):
            # A name written as "" stays "" (and is left out of the output), as in Compose.
            name = spec.pop("name") if "name" in spec else key if spec.get("external") else f"{ctx.project_name}_{key}"
            resources[key] = spec = {"name": name, **spec}  # Compose prints the name first
            if kind == "networks":
                spec.setdefault("ipam", {})
        if not resources:
            del out[kind]
    if not out["models"]:
        del out["models"]
    omit_zero_fields(out)
    return out


def _implied_dependencies(service: dict[str, Any]) -> None:
    """links, `service:x` namespaces (network_mode, ipc, pid) and volumes_from need the other
    service: Compose adds a depends_on (restart: true but for volumes_from) for each, unless
    one is written."""
    needed: list[tuple[str, bool]] = []  # (service, restart with it)
    for link in service.get("links") or []:
        needed.append((str(link).split(":", 1)[0], True))
    for key in ("network_mode", "ipc", "pid"):
        provider = service_reference(service.get(key))
        if provider is not None:
            needed.append((provider, True))
    for source in service.get("volumes_from") or []:
        text = str(source)
        if not text.startswith("container:"):
            needed.append((text.split(":", 1)[0], False))
    if not needed:
        return
    depends_on = service.setdefault("depends_on", {})
    for name, restart in needed:
        implied: dict[str, Any] = {"condition": "service_started", "required": True}
        if restart:
            implied["restart"] = True
        depends_on.setdefault(name, implied)


# Collections Compose prints even when empty.
_EMPTY_KEPT = frozenset({"command", "entrypoint", "networks"})


def _omit_empty(service: dict[str, Any]) -> None:
    """What Compose's output omits besides zero scalars (`omitempty`): empty lists and maps,
    a bind mount's `create_host_path: false`, zero update delays.

    Done after the merge, so that an empty list in an override still overrides.
    """
    for key in [k for k, v in service.items() if v in ([], {}) and k not in _EMPTY_KEPT]:
        del service[key]
    for mount in service.get("volumes") or []:
        if not isinstance(mount, dict):
            continue
        bind = mount.get("bind")
        if isinstance(bind, dict) and bind.get("create_host_path") is False:
            del bind["create_host_path"]
    deploy = service.get("deploy")
    if isinstance(deploy, dict):
        for block in ("update_config", "rollback_config"):
            spec = deploy.get(block)
            if isinstance(spec, dict):
                for key in ("delay", "monitor"):
                    if spec.get(key) == "0s":
                        del spec[key]


def select_services(project: dict[str, Any], names: Collection[str]) -> dict[str, Any]:
    """The finalized project cut down to `names` and what they depend on (`config web`).

    Resources no remaining service uses are dropped. Unknown names raise KeyError(name).
    """
    services: dict[str, Any] = project.get("services") or {}
    wanted: list[str] = []
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in wanted:
            continue
        if name not in services:
            raise KeyError(name)
        wanted.append(name)
        pending.extend(dep for dep in services[name].get("depends_on") or {} if dep in services)
    out = dict(project)
    out["services"] = {k: v for k, v in services.items() if k in wanted}
    for kind in REFERENCED_KINDS:
        out[kind] = dict(out.get(kind) or {})
    _drop_unused(out)
    for kind in REFERENCED_KINDS:
        if not out[kind]:
            del out[kind]
    return out


def _uses_default_network(services: dict[str, Any]) -> bool:
    return any("default" in (s.get("networks") or {}) for s in services.values())


def _drop_unused(project: dict[str, Any]) -> None:
    """Compose drops networks, volumes, secrets, configs and models no enabled service uses."""
    used: dict[str, set[str]] = {kind: set() for kind in REFERENCED_KINDS}
    for service in project["services"].values():
        used["networks"].update(service.get("networks") or {})
        used["models"].update(service.get("models") or {})
        for mount in service.get("volumes") or []:
            if isinstance(mount, dict) and mount.get("type") == "volume" and mount.get("source"):
                used["volumes"].add(mount["source"])
        for kind in ("secrets", "configs"):
            used[kind].update(str(ref.get("source")) for ref in service.get(kind) or [] if isinstance(ref, dict))
        build = service.get("build")
        if isinstance(build, dict):
            used["secrets"].update(
                ref if isinstance(ref, str) else str(ref.get("source")) for ref in build.get("secrets") or []
            )
    for kind in REFERENCED_KINDS:
        project[kind] = {k: v for k, v in project[kind].items() if k in used[kind]}
