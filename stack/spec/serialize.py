"""`stack config` output: the resolved project as Docker Compose prints it (JSON or YAML).

Compose's two formats differ a little and we follow both:
* JSON (`--format json`): keys sorted at the project, service and resource-map level, struct
  fields (ports, mounts) in Compose's field order, `command: null`/`entrypoint: null` and
  empty `ipam: {}` printed, service-level `x-` extensions left out.
* YAML (default): block style, lists indented under their key, `name` then `services`,
  `networks`, `volumes`, `secrets`, `configs`, then top-level `x-` keys; empty structs and
  null `command`/`entrypoint` omitted; strings that would read back as another type are
  double-quoted (`"80"`, `"true"`), as go-yaml does.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from stack.spec.models import Project

__all__ = ["dump_json", "dump_yaml", "to_config_dict"]

_TOP_ORDER = ("name", "services", "networks", "volumes", "secrets", "configs", "models")
_RESOURCE_KINDS = ("networks", "volumes", "secrets", "configs", "models")
# Struct fields Compose omits in YAML when empty.
_YAML_OMIT_EMPTY = frozenset({"ipam", "placement", "resources"})


# compose-go's ServiceConfig field order: Compose prints service keys in this order.
_SERVICE_ORDER = {
    key: index
    for index, key in enumerate(
        """name profiles annotations attach build develop blkio_config cap_add cap_drop cgroup_parent
        cgroup cpu_count cpu_percent cpu_period cpu_quota cpu_rt_period cpu_rt_runtime cpus cpuset
        cpu_shares command configs container_name credential_spec depends_on deploy
        device_cgroup_rules devices dns dns_opt dns_search dockerfile domainname entrypoint provider
        environment env_file expose extends external_links extra_hosts group_add gpus hostname
        healthcheck image init ipc isolation labels label_file links logging mem_limit
        mem_reservation mem_swappiness memswap_limit mac_address models network_mode networks
        oom_kill_disable oom_score_adj pid pids_limit platform ports privileged pull_policy
        read_only restart runtime scale secrets security_opt shm_size stdin_open stop_grace_period
        stop_signal storage_opt sysctls tmpfs tty ulimits use_api_socket user userns_mode uts
        volume_driver volumes volumes_from working_dir post_start pre_stop""".split()
    )
}
_BUILD_ORDER = {
    key: index
    for index, key in enumerate(
        """context dockerfile dockerfile_inline entitlements args ssh labels cache_from cache_to
        no_cache additional_contexts network provenance sbom pull target shm_size extra_hosts
        isolation privileged secrets tags ulimits platforms""".split()
    )
}


_HEALTHCHECK_ORDER = {
    k: i for i, k in enumerate("test timeout interval retries start_period start_interval disable".split())
}
# Mappings Compose holds as Go maps, which it prints with sorted keys.
_SORTED_MAPS = frozenset(
    {
        "environment",
        "labels",
        "annotations",
        "depends_on",
        "networks",
        "sysctls",
        "ulimits",
        "storage_opt",
        "args",
        "options",
        "driver_opts",
        "aux_addresses",
        "additional_contexts",
    }
)


def _sort_maps(value: Any) -> Any:
    """Sort the keys of every mapping that Compose holds as a Go map (found by its key)."""
    if isinstance(value, list):
        return [_sort_maps(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in _SORTED_MAPS and isinstance(item, dict):
            item = {k: _sort_maps(item[k]) for k in sorted(item)}
        else:
            item = _sort_maps(item)
        out[key] = item
    return out


def _by(order: dict[str, int], mapping: dict[str, Any]) -> dict[str, Any]:
    """`mapping` with keys in `order` first (in that order), the rest sorted after them."""
    keys = sorted(mapping, key=lambda k: (order.get(k, len(order)), k))
    return {k: mapping[k] for k in keys}


def to_config_dict(project: Project, *, for_json: bool = True) -> dict[str, Any]:
    """Exactly what `config --format json` prints for a loaded project.

    The loader builds the Project from the canonical dict, so the fields that were set are
    exactly the ones Compose prints (`exclude_unset`), explicit nulls included.
    """
    data = project.model_dump(mode="json", exclude_unset=True, by_alias=True)
    data["name"] = project.name
    for service in data.get("services", {}).values():
        for kind in ("secrets", "configs"):
            for ref in service.get(kind) or []:
                if isinstance(ref.get("mode"), int):
                    ref["mode"] = f"0{ref['mode']:o}"
    return ordered(data, for_json=for_json)


def ordered(data: dict[str, Any], *, for_json: bool = True) -> dict[str, Any]:
    """The project dict with Compose's key order (and, for JSON, without service `x-` keys)."""
    services = data.get("services") or {}
    out_services: dict[str, Any] = {}
    for name in sorted(services):
        service = _without_extensions(services[name]) if for_json else services[name]
        service = _sort_maps(_by(_SERVICE_ORDER, service))
        if isinstance(service.get("build"), dict):
            service["build"] = _by(_BUILD_ORDER, service["build"])
        if isinstance(service.get("healthcheck"), dict):
            service["healthcheck"] = _by(_HEALTHCHECK_ORDER, service["healthcheck"])
        out_services[name] = service
    if for_json:
        out: dict[str, Any] = {}
        for key in sorted(data):
            value = out_services if key == "services" else data[key]
            if key in _RESOURCE_KINDS and isinstance(value, dict):
                value = {k: _sort_maps(_without_extensions(value[k])) for k in sorted(value)}
            out[key] = value
        return out
    out = {}
    for key in _TOP_ORDER:
        if key in data:
            value = out_services if key == "services" else data[key]
            if key in _RESOURCE_KINDS and isinstance(value, dict):
                value = {k: _sort_maps(value[k]) for k in sorted(value)}
            out[key] = value
    for key in sorted(data):
        if key not in out:
            out[key] = data[key]
    return out


def _without_extensions(value: Any) -> Any:
    """Compose's JSON keeps `x-` keys only at the top level."""
    if isinstance(value, dict):
        return {k: _without_extensions(v) for k, v in value.items() if not str(k).startswith("x-")}
    if isinstance(value, list):
        return [_without_extensions(v) for v in value]
    return value


def dump_json(data: Any) -> str:
    """JSON as Compose prints it: two-space indent, non-ASCII kept, no trailing newline."""
    return json.dumps(data, indent=2, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# YAML

# Plain scalars that a YAML reader (1.1 or 1.2) would not read back as a string.
_NON_STRING = re.compile(
    r"""^(?:~|null|Null|NULL|true|True|TRUE|false|False|FALSE
    |y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF
    |[-+]?(?:0|[1-9][0-9_]*)(?::[0-5]?[0-9])*
    |0o?[0-7_]+|0x[0-9a-fA-F_]+|0b[01_]+
    |[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)
    |\d{4}-\d\d?-\d\d?.*)$""",
    re.VERBOSE,
)


class _Dumper(yaml.SafeDumper):
    """Block style with sequences indented under their key, as go-yaml v3 prints them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    tag = "tag:yaml.org,2002:str"
    if "\n" in value:
        return dumper.represent_scalar(tag, value, style="|")
    if value == "" or _NON_STRING.match(value):
        return dumper.represent_scalar(tag, value, style='"')
    return dumper.represent_scalar(tag, value)


def _represent_none(dumper: yaml.SafeDumper, value: None) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:null", "null")


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(type(None), _represent_none)


def _omit_empty(data: dict[str, Any]) -> dict[str, Any]:
    """Compose's YAML leaves out empty structs and the null command/entrypoint."""
    out = dict(data)
    for service_name, service in (out.get("services") or {}).items():
        service = {k: v for k, v in service.items() if not (k in ("command", "entrypoint") and v is None)}
        for key in ("deploy",):
            if isinstance(service.get(key), dict):
                service[key] = _strip_empty_structs(service[key])
        develop = service.get("develop")
        if isinstance(develop, dict) and isinstance(develop.get("watch"), list):
            rules = [
                {k: v for k, v in r.items() if not (k == "exec" and v == {"command": None})}
                if isinstance(r, dict)
                else r
                for r in develop["watch"]
            ]
            service["develop"] = {**develop, "watch": rules}
        if isinstance(service.get("volumes"), list):
            service["volumes"] = [
                _strip_empty_structs(v) if isinstance(v, dict) else v for v in service["volumes"]
            ]
        out["services"] = {**out["services"], service_name: service}
    for kind in _RESOURCE_KINDS:
        if isinstance(out.get(kind), dict):
            out[kind] = {
                k: _strip_empty_structs(v) if isinstance(v, dict) else v for k, v in out[kind].items()
            }
    return out


def _strip_empty_structs(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not (k in _YAML_OMIT_EMPTY and v == {})}


def dump_yaml(data: Any) -> str:
    """YAML as Compose prints it (block style, Compose's quoting, empty structs omitted)."""
    if isinstance(data, dict) and "services" in data:
        data = _omit_empty(data)
    text: str = yaml.dump(
        data,
        Dumper=_Dumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
        indent=2,
        width=1 << 16,
    )
    return text
