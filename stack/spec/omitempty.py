"""What Compose's output leaves out: the zero values of its struct fields tagged `omitempty`.

Compose prints its Go structs (compose-go's `types`), so a field written as `""`, `0` or
`false` disappears when the Go field is a plain string, number or bool (`image: ""`,
`cpus: 0`, `privileged: false`, `external: false`), and stays when the field is a pointer
(`init: false`, `scale: 0`, `enable_ipv6: false`).  The table below is that list, by struct;
`omit_zero_fields` applies it to the finalized project, after the merge, so that
`privileged: false` in an override file still overrides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["omit_zero_fields"]

Zero = Callable[[Any], bool]


def _string(value: Any) -> bool:
    return isinstance(value, str) and not value


def _number(value: Any) -> bool:
    return type(value) in (int, float) and not value


def _flag(value: Any) -> bool:
    return value is False


def _byte_size(value: Any) -> bool:
    """Byte sizes are kept as decimal text (`"536870912"`), as Compose prints them."""
    return value in ("0", "") or _number(value)


@dataclass(frozen=True)
class Struct:
    """One compose-go struct: its omitempty scalar fields, and the structs it holds."""

    zero: Mapping[str, Zero]
    # field -> (how it holds the struct: one, a list of them, a map of names to them; the struct)
    nested: Mapping[str, tuple[Literal["one", "list", "map"], Struct]] = field(default_factory=dict)


def _fields(strings: str = "", numbers: str = "", flags: str = "", sizes: str = "") -> dict[str, Zero]:
    table: dict[str, Zero] = {}
    for names, zero in ((strings, _string), (numbers, _number), (flags, _flag), (sizes, _byte_size)):
        table.update(dict.fromkeys(names.split(), zero))
    return table


_FILE_REF = Struct(_fields(strings="source target uid gid"))
_UPDATE = Struct(_fields(strings="failure_action order", numbers="max_failure_ratio"))
_RESOURCE = Struct(_fields(numbers="cpus pids", sizes="memory"))
_RESOURCES = Struct({}, {"limits": ("one", _RESOURCE), "reservations": ("one", _RESOURCE)})
_PORT = Struct(_fields(strings="name mode host_ip published protocol app_protocol", numbers="target"))
_IPAM = Struct(_fields(strings="driver"), {"config": ("list", Struct(_fields(strings="subnet gateway ip_range")))})

SERVICE = Struct(
    _fields(
        strings="""cgroup_parent cgroup cpuset container_name dockerfile domainname hostname image ipc
        isolation log_driver mac_address net network_mode pid platform pull_policy restart runtime
        stop_signal user userns_mode uts volume_driver working_dir""",
        numbers="""cpu_count cpu_percent cpu_period cpu_quota cpu_rt_period cpu_rt_runtime cpus cpu_shares
        oom_score_adj pids_limit""",
        flags="oom_kill_disable privileged read_only stdin_open tty use_api_socket",
        sizes="mem_limit mem_reservation memswap_limit mem_swappiness shm_size",
    ),
    {
        "build": (
            "one",
            Struct(
                _fields(
                    strings="context dockerfile dockerfile_inline provenance sbom isolation network target",
                    flags="no_cache pull privileged",
                    sizes="shm_size",
                ),
                {"secrets": ("list", _FILE_REF)},
            ),
        ),
        "configs": ("list", _FILE_REF),
        "secrets": ("list", _FILE_REF),
        "depends_on": ("map", Struct(_fields(strings="condition", flags="restart"))),
        "deploy": (
            "one",
            Struct(
                _fields(strings="mode endpoint_mode"),
                {
                    "update_config": ("one", _UPDATE),
                    "rollback_config": ("one", _UPDATE),
                    "restart_policy": ("one", Struct(_fields(strings="condition"))),
                    "resources": ("one", _RESOURCES),
                },
            ),
        ),
        "devices": ("list", Struct(_fields(strings="source target permissions"))),
        "extends": ("one", Struct(_fields(strings="file service"))),
        "healthcheck": ("one", Struct(_fields(flags="disable"))),
        "logging": ("one", Struct(_fields(strings="driver"))),
        "networks": (
            "map",
            Struct(
                _fields(strings="interface_name ipv4_address ipv6_address mac_address", numbers="gw_priority priority")
            ),
        ),
        "ports": ("list", _PORT),
        "provider": ("one", Struct(_fields(strings="type"))),
        "volumes": (
            "list",
            Struct(
                _fields(strings="type source target consistency", flags="read_only"),
                {
                    "bind": ("one", Struct(_fields(strings="selinux propagation recursive"))),
                    "volume": ("one", Struct(_fields(strings="subpath", flags="nocopy"))),
                    "tmpfs": ("one", Struct(_fields(numbers="mode", sizes="size"))),
                },
            ),
        ),
    },
)

# Top-level resources, by kind.
RESOURCES: dict[str, Struct] = {
    "networks": Struct(
        _fields(strings="name driver", flags="external internal attachable"),
        {"ipam": ("one", _IPAM)},
    ),
    "volumes": Struct(_fields(strings="name driver", flags="external")),
    "secrets": Struct(_fields(strings="name file environment content driver template_driver", flags="external")),
    "configs": Struct(_fields(strings="name file environment content driver template_driver", flags="external")),
    "models": Struct(_fields(strings="name model", numbers="context_size")),
}


def _omit(value: Any, struct: Struct, *, top: bool = False) -> None:
    if not isinstance(value, dict):
        return
    for key in [k for k, zero in struct.zero.items() if k in value and zero(value[k])]:
        del value[key]
    if not top:  # every list of these structs is a Go slice tagged omitempty (`test: []`)
        for key in [k for k, v in value.items() if v == []]:
            del value[key]
    for key, (how, inner) in struct.nested.items():
        held = value.get(key)
        if how == "one":
            _omit(held, inner)
        elif how == "list" and isinstance(held, list):
            for item in held:
                _omit(item, inner)
        elif how == "map" and isinstance(held, dict):
            for item in held.values():
                _omit(item, inner)


def omit_zero_fields(project: dict[str, Any]) -> None:
    """Remove, in place, the fields Compose's output leaves out for holding a zero value."""
    for service in (project.get("services") or {}).values():
        _omit(service, SERVICE, top=True)  # empty collections of a service: transform's rule
    for kind, struct in RESOURCES.items():
        for resource in (project.get(kind) or {}).values():
            _omit(resource, struct)
