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

import functools
import json
import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stack.spec.loader import LoadOptions
    from stack.spec.models import Project

__all__ = ["config_text", "dump_json", "dump_yaml", "selected_raw", "to_config_dict"]

_TOP_ORDER = ("name", "services", "networks", "volumes", "secrets", "configs", "models")
_RESOURCE_KINDS = ("networks", "volumes", "secrets", "configs", "models")
# Struct fields Compose omits in YAML when empty.
_YAML_OMIT_EMPTY = frozenset({"ipam", "placement", "resources"})


def _positions(words: str) -> dict[str, int]:
    return {word: index for index, word in enumerate(words.split())}


# compose-go's ServiceConfig field order: Compose prints service keys in this order.
_SERVICE_ORDER = _positions(
    """
name profiles annotations attach build develop blkio_config cap_add cap_drop cgroup_parent cgroup
cpu_count cpu_percent cpu_period cpu_quota cpu_rt_period cpu_rt_runtime cpus cpuset cpu_shares
command configs container_name credential_spec depends_on deploy device_cgroup_rules devices dns
dns_opt dns_search dockerfile domainname entrypoint provider environment env_file expose extends
external_links extra_hosts group_add gpus hostname healthcheck image init ipc isolation labels
label_file links logging mem_limit mem_reservation mem_swappiness memswap_limit mac_address models
network_mode networks oom_kill_disable oom_score_adj pid pids_limit platform ports privileged
pull_policy read_only restart runtime scale secrets security_opt shm_size stdin_open
stop_grace_period stop_signal storage_opt sysctls tmpfs tty ulimits use_api_socket user userns_mode
uts volume_driver volumes volumes_from working_dir post_start pre_stop
"""
)
_BUILD_ORDER = _positions(
    """
context dockerfile dockerfile_inline entitlements args provenance sbom ssh labels cache_from cache_to
no_cache no_cache_filter additional_contexts pull extra_hosts isolation network target secrets shm_size
tags ulimits platforms privileged
"""
)
# Other compose-go structs, by the key that holds them.
_DEPLOY_ORDER = _positions(
    "mode replicas labels update_config rollback_config resources restart_policy placement endpoint_mode"
)
_UPDATE_ORDER = _positions("parallelism delay failure_action monitor max_failure_ratio order")
_RESTART_POLICY_ORDER = _positions("condition delay max_attempts window")
_MOUNT_ORDER = _positions("type source target read_only consistency bind volume tmpfs image")
_MOUNT_OPTION_ORDERS = {
    "bind": _positions("selinux propagation create_host_path recursive"),
    "volume": _positions("labels nocopy subpath"),
    "tmpfs": _positions("size mode"),
}
_PORT_ORDER = _positions("name mode host_ip target published protocol app_protocol")
_SERVICE_NETWORK_ORDER = _positions(
    "aliases driver_opts gw_priority interface_name ipv4_address ipv6_address link_local_ips mac_address priority"
)
_NETWORK_ORDER = _positions("name driver driver_opts ipam external internal attachable labels enable_ipv4 enable_ipv6")
_IPAM_POOL_ORDER = _positions("subnet gateway ip_range aux_addresses")
_DEPENDS_ORDER = _positions("condition restart required")
_FILE_REF_ORDER = _positions("source target uid gid mode")
_WATCH_ORDER = _positions("path action target exec include ignore initial_sync")
_HOOK_ORDER = _positions("command user privileged working_dir environment")
_MODEL_ORDER = _positions("name model context_size runtime_flags")
_DEVICE_REQUEST_ORDER = _positions("capabilities driver count device_ids options")
_PROVIDER_ORDER = _positions("type options")


_HEALTHCHECK_ORDER = _positions(
    """
test timeout interval retries start_period start_interval disable
"""
)
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
        "models",
    }
)


SortKey = Callable[[str], Any] | None


def _go_yaml_cmp(a: str, b: str) -> int:
    """go-yaml v3's map key order (keyList.Less): letters by code point, digit runs by value."""
    digits = False
    for ca, cb in zip(a, b, strict=False):
        if ca == cb:
            digits = ca.isdigit()
            continue
        al, bl = ca.isalpha(), cb.isalpha()
        if al and bl:
            return -1 if ca < cb else 1
        if al or bl:
            return (-1 if al else 1) if digits else (-1 if bl else 1)
        break
    else:
        return (len(a) > len(b)) - (len(a) < len(b))
    return _go_yaml_digits(a, b)


def _go_yaml_digits(a: str, b: str) -> int:
    """The digit-run comparison of go-yaml's keyList.Less, from the first differing rune."""
    i = next(k for k, (x, y) in enumerate(zip(a, b, strict=False)) if x != y)
    an = bn = 0
    if a[i] == "0" or b[i] == "0":
        j = i - 1
        while j >= 0 and a[j].isdigit():
            if a[j] != "0":
                an = bn = 1
                break
            j -= 1
    ai = i
    while ai < len(a) and a[ai].isdigit():
        an = an * 10 + int(a[ai])
        ai += 1
    bi = i
    while bi < len(b) and b[bi].isdigit():
        bn = bn * 10 + int(b[bi])
        bi += 1
    if an != bn:
        return -1 if an < bn else 1
    if ai != bi:
        return -1 if ai < bi else 1
    return -1 if a[i] < b[i] else 1


_YAML_KEY = functools.cmp_to_key(_go_yaml_cmp)


def _sort_maps(value: Any, key: SortKey = None) -> Any:
    """Sort the keys of every mapping that Compose holds as a Go map (found by its key)."""
    if isinstance(value, list):
        return [_sort_maps(v, key) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for name, item in value.items():
        if name in _SORTED_MAPS and isinstance(item, dict):
            item = {k: _sort_maps(item[k], key) for k in sorted(item, key=key)}
        else:
            item = _sort_maps(item, key)
        out[name] = item
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
    """The project dict with Compose's key order (and, for JSON, without service `x-` keys).

    Go maps print sorted: bytewise in JSON, in go-yaml's natural order (`svc2` < `svc10`) in YAML.
    """
    key: SortKey = None if for_json else _YAML_KEY
    services = data.get("services") or {}
    out_services: dict[str, Any] = {}
    for name in sorted(services, key=key):
        service = _without_extensions(services[name]) if for_json else services[name]
        service = _sort_maps(_by(_SERVICE_ORDER, service), key)
        if isinstance(service.get("build"), dict):
            service["build"] = _by(_BUILD_ORDER, service["build"])
        if isinstance(service.get("healthcheck"), dict):
            service["healthcheck"] = _by(_HEALTHCHECK_ORDER, service["healthcheck"])
        _order_structs(service)
        out_services[name] = service
    out: dict[str, Any] = {}
    top_keys = sorted(data) if for_json else [k for k in _TOP_ORDER if k in data] + sorted(set(data) - set(_TOP_ORDER))
    for top in top_keys:
        if top == "models" and for_json:
            continue  # compose-go's Project leaves its models out of JSON (`json:"-"`)
        value = out_services if top == "services" else data[top]
        if top in _RESOURCE_KINDS and isinstance(value, dict):
            strip = _without_extensions if for_json else _identity
            value = {k: _sort_maps(strip(value[k]), key) for k in sorted(value, key=key)}
            if top == "networks":
                value = {k: _order_network(v) for k, v in value.items()}
            elif top == "models":
                value = {k: _by(_MODEL_ORDER, v) if isinstance(v, dict) else v for k, v in value.items()}
        elif top.startswith("x-"):
            value = _sort_all(value, key)  # extensions are plain maps to Compose
        out[top] = value
    return out if for_json else _omit_empty(out)


def _identity(value: Any) -> Any:
    return value


def _sort_all(value: Any, key: SortKey) -> Any:
    if isinstance(value, dict):
        return {k: _sort_all(value[k], key) for k in sorted(value, key=key)}
    if isinstance(value, list):
        return [_sort_all(v, key) for v in value]
    return value


def _each(items: Any, order: dict[str, int]) -> Any:
    """Each mapping of a list in struct order (other items as they are)."""
    if not isinstance(items, list):
        return items
    return [_by(order, item) if isinstance(item, dict) else item for item in items]


def _order_structs(service: dict[str, Any]) -> None:
    """Struct-typed values of a service in compose-go's field order (in place)."""
    deploy = service.get("deploy")
    if isinstance(deploy, dict):
        deploy = _by(_DEPLOY_ORDER, deploy)
        for block in ("update_config", "rollback_config"):
            if isinstance(deploy.get(block), dict):
                deploy[block] = _by(_UPDATE_ORDER, deploy[block])
        if isinstance(deploy.get("restart_policy"), dict):
            deploy["restart_policy"] = _by(_RESTART_POLICY_ORDER, deploy["restart_policy"])
        resources = deploy.get("resources")
        if isinstance(resources, dict):
            deploy["resources"] = {
                k: {**v, "devices": _each(v["devices"], _DEVICE_REQUEST_ORDER)}
                if isinstance(v, dict) and "devices" in v
                else v
                for k, v in resources.items()
            }
        service["deploy"] = deploy
    if "gpus" in service:
        service["gpus"] = _each(service["gpus"], _DEVICE_REQUEST_ORDER)
    depends_on = service.get("depends_on")
    if isinstance(depends_on, dict):
        service["depends_on"] = {k: _by(_DEPENDS_ORDER, v) if isinstance(v, dict) else v for k, v in depends_on.items()}
    if "ports" in service:
        service["ports"] = _each(service["ports"], _PORT_ORDER)
    if isinstance(service.get("volumes"), list):
        service["volumes"] = [_order_mount(m) for m in service["volumes"]]
    for kind in ("secrets", "configs"):
        if kind in service:
            service[kind] = _each(service[kind], _FILE_REF_ORDER)
    networks = service.get("networks")
    if isinstance(networks, dict):
        service["networks"] = {
            k: _by(_SERVICE_NETWORK_ORDER, v) if isinstance(v, dict) else v for k, v in networks.items()
        }
    develop = service.get("develop")
    if isinstance(develop, dict) and "watch" in develop:
        rules = _each(develop["watch"], _WATCH_ORDER)
        for rule in rules:
            if isinstance(rule, dict) and isinstance(rule.get("exec"), dict):
                rule["exec"] = _by(_HOOK_ORDER, rule["exec"])
        service["develop"] = {**develop, "watch": rules}
    if isinstance(service.get("provider"), dict):
        service["provider"] = _by(_PROVIDER_ORDER, service["provider"])


def _order_mount(mount: Any) -> Any:
    if not isinstance(mount, dict):
        return mount
    mount = _by(_MOUNT_ORDER, mount)
    for key, order in _MOUNT_OPTION_ORDERS.items():
        if isinstance(mount.get(key), dict):
            mount[key] = _by(order, mount[key])
    return mount


def _order_network(network: Any) -> Any:
    if not isinstance(network, dict):
        return network
    network = _by(_NETWORK_ORDER, network)
    ipam = network.get("ipam")
    if isinstance(ipam, dict) and "config" in ipam:
        network["ipam"] = {**ipam, "config": _each(ipam["config"], _IPAM_POOL_ORDER)}
    return network


def _without_extensions(value: Any) -> Any:
    """Compose's JSON keeps `x-` keys only at the top level."""
    if isinstance(value, dict):
        return {k: _without_extensions(v) for k, v in value.items() if not str(k).startswith("x-")}
    if isinstance(value, list):
        return [_without_extensions(v) for v in value]
    return value


def dump_json(data: Any) -> str:
    """JSON as Compose prints it: two-space indent, non-ASCII kept, `<>&` escaped as Go does,
    numbers as Go prints them (`1.0` is `1`)."""
    floats: dict[str, str] = {}
    text = json.dumps(_go_numbers(data, floats), indent=2, ensure_ascii=False)
    for placeholder, number in floats.items():
        text = text.replace(json.dumps(placeholder), number)
    if any(c in text for c in "<>&\u2028\u2029"):
        for char in "<>&\u2028\u2029":
            text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def _go_numbers(value: Any, floats: dict[str, str]) -> Any:
    """`value` with each float Python would print otherwise than Go's encoding/json: a whole
    number becomes an int; any other (`1e-05`, `-0`) a placeholder string put in `floats`."""
    if isinstance(value, float):
        text = go_float(value, for_json=True)
        if text == repr(value):
            return value
        if "e" not in text and "." not in text and text != "-0":
            return int(value)
        placeholder = f"\x00float{len(floats)}\x00"
        floats[placeholder] = text
        return placeholder
    if isinstance(value, dict):
        return {k: _go_numbers(v, floats) for k, v in value.items()}
    if isinstance(value, list):
        return [_go_numbers(v, floats) for v in value]
    return value


def go_float(value: float, *, for_json: bool) -> str:
    """A float as Go prints it: encoding/json (plain digits from 1e-6 to 1e21, else exponent
    `1e+21`, `1e-7`) or go-yaml (strconv's shortest 'g': exponent from 1e6 up and below 1e-4,
    `1e+06`, `1e-07`; `.inf`, `.nan`)."""
    if math.isinf(value) or math.isnan(value):
        return ("-.inf" if value < 0 else ".inf") if math.isinf(value) else ".nan"
    from decimal import Decimal  # floats are rare in stack files: not imported up front

    number = Decimal(repr(value)).normalize()
    sign, digit_tuple, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digit_tuple))
    exp = len(digits) + exponent - 1  # of the first digit
    scientific = (not 1e-6 <= abs(value) < 1e21) if for_json else (exp < -4 or exp >= 6)
    if value == 0 or not scientific:
        return format(number, "f")
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    power = f"{abs(exp):02d}" if exp > 0 or not for_json else str(abs(exp))
    return f"{'-' if sign else ''}{mantissa}e{'-' if exp < 0 else '+'}{power}"


# ---------------------------------------------------------------------------------------------
# YAML

# Plain scalars that a YAML reader (1.1 or 1.2) would not read back as a string.
_NON_STRING = re.compile(
    r"""^(?:~|<<|=|null|Null|NULL|true|True|TRUE|false|False|FALSE
    |y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF
    |[-+]?(?:0|[1-9][0-9_]*)(?::[0-5]?[0-9])*
    |0o?[0-7_]+|0x[0-9a-fA-F_]+|0b[01_]+
    |[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)
    |\d{4}-\d\d?-\d\d?.*)$""",
    re.VERBOSE,
)


# Characters that may not start a plain scalar, and sequences that may not appear in one.
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
# Nothing non-printable, no YAML line break (NEL, U+2028/9), no byte order mark (a reader
# drops it): those go double-quoted, escaped.
_PLAIN_SAFE = re.compile("^[^\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]*$")


def _scalar(value: Any) -> str:
    """One scalar in go-yaml's style: plain when it reads back as the same string, else quoted."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return go_float(value, for_json=False)
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if text == "" or _NON_STRING.fullmatch(text):
        return json.dumps(text)
    if (
        (text[0] in _INDICATORS and not (text[0] in "-?:" and len(text) > 1 and text[1] != " "))
        or text[0] == " "
        or text[-1] in " :"
        or ": " in text
        or " #" in text
        or "\t" in text
        or not _PLAIN_SAFE.fullmatch(text)
    ):
        if _PLAIN_SAFE.fullmatch(text):
            return "'" + text.replace("'", "''") + "'"
        return _double_quoted(text)
    return text


def _double_quoted(text: str) -> str:
    """A YAML double-quoted scalar; characters YAML cannot hold raw are escaped."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif _PLAIN_SAFE.fullmatch(char):
            out.append(char)
        elif ord(char) <= 0xFF:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) <= 0xFFFF:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return '"' + "".join(out) + '"'


def _block(text: str, indent: str) -> str | None:
    """A multi-line string as a literal block (`|-`), or None when one cannot hold it."""
    if text[0] in " \t" or not _PLAIN_SAFE.fullmatch(text.replace("\n", "")) or "\r" in text:
        return None
    body = text[:-1] if text.endswith("\n") else text
    if not body or body.endswith(("\n", " ")):
        return None
    chomp = "|" if text.endswith("\n") else "|-"
    lines = [indent + line if line else "" for line in body.split("\n")]
    return chomp + "\n" + "\n".join(lines)


def _emit(value: Any, indent: int, out: list[str]) -> None:
    """Append block-style YAML lines for a mapping or sequence at `indent` spaces."""
    pad = " " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            head = f"{pad}{_scalar(key)}:"
            _emit_entry(head, item, indent, out)
    else:
        for item in value:
            if isinstance(item, dict) and item:
                # "- first: x" then the other keys aligned under "first".
                inner: list[str] = []
                _emit(item, indent + 2, inner)
                inner[0] = f"{pad}- " + inner[0][indent + 2 :]
                out.extend(inner)
            else:
                _emit_entry(f"{pad}-", item, indent, out)


def _emit_entry(head: str, item: Any, indent: int, out: list[str]) -> None:
    if isinstance(item, dict | list):
        if not item:
            out.append(f"{head} {'{}' if isinstance(item, dict) else '[]'}")
            return
        out.append(head)
        _emit(item, indent + 2, out)
        return
    if isinstance(item, str) and "\n" in item:
        block = _block(item, " " * (indent + 2))
        if block is not None:
            out.append(f"{head} {block}")
            return
    out.append(f"{head} {_scalar(item)}")


def _omit_empty(data: dict[str, Any]) -> dict[str, Any]:
    """Compose's YAML (not its JSON) leaves out empty structs and the null command/entrypoint."""
    out = dict(data)
    services: dict[str, Any] = {}
    for service_name, service in (out.get("services") or {}).items():
        if not isinstance(service, dict):
            services[service_name] = service
            continue
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
            service["volumes"] = [_strip_empty_structs(v) if isinstance(v, dict) else v for v in service["volumes"]]
        services[service_name] = service
    if "services" in out:
        out["services"] = services
    for kind in _RESOURCE_KINDS:
        if isinstance(out.get(kind), dict):
            out[kind] = {k: _strip_empty_structs(v) if isinstance(v, dict) else v for k, v in out[kind].items()}
    return out


def _strip_empty_structs(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not (k in _YAML_OMIT_EMPTY and v == {})}


def dump_yaml(data: Any) -> str:
    """YAML as Compose prints it: block style, lists indented, go-yaml's quoting. Any data
    reads back equal; give it `ordered(project, for_json=False)` for Compose's shape."""
    if not isinstance(data, dict | list):
        return _scalar(data) + "\n"
    if not data:
        return "{}\n" if isinstance(data, dict) else "[]\n"
    out: list[str] = []
    _emit(data, 0, out)
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------
# `stack config`


def selected_raw(options: LoadOptions) -> dict[str, Any]:
    """The finalized project; with services named in `options`, only those and their
    dependencies (`config web`)."""
    from stack.errors import unknown_service
    from stack.spec.loader import load_raw
    from stack.spec.transform import select_services

    data = load_raw(options)
    if options.services:
        try:
            data = select_services(data, options.services)
        except KeyError as e:
            raise unknown_service(str(e.args[0]), data.get("services") or {}) from None
    return data


def config_text(options: LoadOptions, output_format: str) -> str:
    """What `stack config --format FORMAT` prints (`yaml` or `json`), final newline included.

    With interpolation on, every literal `$` prints as `$$` (as Compose does), so the output
    is itself a valid stack file that reads back to the same values.
    """
    data = selected_raw(options)
    if output_format == "json":
        text = dump_json(ordered(data, for_json=True)) + "\n"
    else:
        text = dump_yaml(ordered(data, for_json=False))
    if options.interpolate:
        text = text.replace("$", "$$")
    return text if text.endswith("\n") else text + "\n"
