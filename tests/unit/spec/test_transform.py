"""Short syntax -> canonical long form (stack.spec.transform), tested on plain data.

The conformance tests compare whole files with Docker Compose; these pin single rules and
the error paths, which Compose's output cannot show.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stack.errors import StackFileError
from stack.spec.sourcemap import SourceMap
from stack.spec.transform import TransformContext, canonicalize_file, finalize
from stack.spec.yamlpos import load_yaml, load_yaml_stream

ENV = {"HOME": "/home/me", "FROM_ENV": "shell"}


def _ctx(tmp_path: Path, smap: SourceMap, file: str = "compose.yaml") -> TransformContext:
    return TransformContext("proj", str(tmp_path), str(tmp_path / file), smap, ENV.get)


def canonical(text: str, tmp_path: Path) -> dict[str, Any]:
    smap = SourceMap()
    doc = load_yaml(text, str(tmp_path / "compose.yaml"), smap)
    return canonicalize_file(doc.data, _ctx(tmp_path, smap))


def service(text: str, tmp_path: Path, name: str = "web") -> dict[str, Any]:
    result: dict[str, Any] = canonical(text, tmp_path)["services"][name]
    return result


def project(text: str, tmp_path: Path) -> dict[str, Any]:
    smap = SourceMap()
    doc = load_yaml(text, str(tmp_path / "compose.yaml"), smap)
    ctx = _ctx(tmp_path, smap)
    return finalize(canonicalize_file(doc.data, ctx), ctx)


def error(text: str, tmp_path: Path, *, final: bool = False) -> StackFileError:
    with pytest.raises(StackFileError) as info:
        project(text, tmp_path) if final else canonical(text, tmp_path)
    return info.value


# --- ports -----------------------------------------------------------------------------------


def test_port_range_expands_to_one_entry_per_port(tmp_path: Path) -> None:
    ports = service("services:\n  web:\n    image: x\n    ports: ['8000-8001:80-81/udp']\n", tmp_path)["ports"]
    assert ports == [
        {"mode": "ingress", "target": 80, "published": "8000", "protocol": "udp"},
        {"mode": "ingress", "target": 81, "published": "8001", "protocol": "udp"},
    ]


def test_port_with_bracketed_ipv6_host_ip(tmp_path: Path) -> None:
    ports = service("services:\n  web:\n    image: x\n    ports: ['[::1]:8080:80']\n", tmp_path)["ports"]
    assert ports == [{"mode": "ingress", "host_ip": "::1", "target": 80, "published": "8080", "protocol": "tcp"}]


def test_single_number_port_has_no_published_port(tmp_path: Path) -> None:
    ports = service("services:\n  web:\n    image: x\n    ports: [80]\n", tmp_path)["ports"]
    assert ports == [{"mode": "ingress", "target": 80, "protocol": "tcp"}]


def test_invalid_port_names_file_line_and_path(tmp_path: Path) -> None:
    err = error("services:\n  web:\n    image: x\n    ports:\n      - '80:80'\n      - 'http:80'\n", tmp_path)
    assert err.path == "services.web.ports[1]"
    assert err.location is not None and err.location.line == 6
    assert err.location.file.endswith("compose.yaml")
    assert "http" in err.message
    assert err.hint and "CONTAINER_PORT" in err.hint


def test_port_ranges_of_different_sizes_are_rejected(tmp_path: Path) -> None:
    err = error("services:\n  web:\n    image: x\n    ports: ['9090-9091:80-82']\n", tmp_path)
    assert err.path == "services.web.ports[0]"
    assert "differ in size" in err.message


# --- volumes ---------------------------------------------------------------------------------


def test_relative_bind_is_resolved_against_the_file_directory(tmp_path: Path) -> None:
    volumes = service("services:\n  web:\n    image: x\n    volumes: ['./data:/data:ro']\n", tmp_path)["volumes"]
    assert volumes == [
        {
            "type": "bind",
            "source": str(tmp_path / "data"),
            "target": "/data",
            "read_only": True,
            "bind": {"create_host_path": True},
        }
    ]


def test_home_relative_bind_uses_home_from_the_environment(tmp_path: Path) -> None:
    volumes = service("services:\n  web:\n    image: x\n    volumes: ['~/cfg:/cfg']\n", tmp_path)["volumes"]
    assert volumes[0]["source"] == "/home/me/cfg"


def test_named_anonymous_and_option_volumes(tmp_path: Path) -> None:
    text = "services:\n  web:\n    image: x\n    volumes: ['db:/var/db:nocopy', '/cache', 'db:/z:Z']\n"
    assert service(text, tmp_path)["volumes"] == [
        {"type": "volume", "source": "db", "target": "/var/db", "volume": {"nocopy": True}},
        {"type": "volume", "target": "/cache", "volume": {}},
        {"type": "volume", "source": "db", "target": "/z", "bind": {"selinux": "Z"}, "volume": {}},
    ]


def test_a_later_volume_on_the_same_target_replaces_the_earlier(tmp_path: Path) -> None:
    text = "services:\n  web:\n    image: x\n    volumes: ['./a:/data', 'other:/x', 'named:/data']\n"
    targets = [(v.get("source"), v["target"]) for v in service(text, tmp_path)["volumes"]]
    assert targets == [("named", "/data"), ("other", "/x")]


def test_volume_with_too_many_colons_is_located(tmp_path: Path) -> None:
    err = error("services:\n  web:\n    image: x\n    volumes: ['/a:/b:ro:extra']\n", tmp_path)
    assert err.path == "services.web.volumes[0]"
    assert "too many colons" in err.message


# --- environment, labels, hosts --------------------------------------------------------------


def test_environment_name_without_value_comes_from_the_environment(tmp_path: Path) -> None:
    env = service("services:\n  web:\n    image: x\n    environment: [A=1, FROM_ENV, UNSET, 'E=']\n", tmp_path)
    assert env["environment"] == {"A": "1", "FROM_ENV": "shell", "UNSET": None, "E": ""}


def test_environment_mapping_values_become_strings(tmp_path: Path) -> None:
    text = "services:\n  web:\n    image: x\n    environment: {N: 1, F: 1.5, B: true, Z: null}\n"
    assert service(text, tmp_path)["environment"] == {"N": "1", "F": "1.5", "B": "true", "Z": None}


def test_build_args_missing_from_the_environment_are_dropped(tmp_path: Path) -> None:
    text = "services:\n  web:\n    build:\n      context: .\n      args: [A=1, FROM_ENV, NOT_THERE]\n"
    build = project(text, tmp_path)["services"]["web"]["build"]
    assert build == {"context": str(tmp_path), "dockerfile": "Dockerfile", "args": {"A": "1", "FROM_ENV": "shell"}}


def test_extra_hosts_list_and_map_become_sorted_host_equals_ip(tmp_path: Path) -> None:
    text = "services:\n  web:\n    image: x\n    extra_hosts: ['b:1.2.3.4', 'a:::1']\n"
    assert service(text, tmp_path)["extra_hosts"] == ["a=::1", "b=1.2.3.4"]
    text = "services:\n  web:\n    image: x\n    extra_hosts: {z: 1.1.1.1, m: [2.2.2.2, 3.3.3.3]}\n"
    assert service(text, tmp_path)["extra_hosts"] == ["m=2.2.2.2", "m=3.3.3.3", "z=1.1.1.1"]


def test_labels_list_without_value_is_empty_string(tmp_path: Path) -> None:
    assert service("services:\n  web:\n    image: x\n    labels: [a=b, c]\n", tmp_path)["labels"] == {"a": "b", "c": ""}


# --- command, healthcheck, durations, sizes --------------------------------------------------


def test_command_string_is_split_like_a_shell(tmp_path: Path) -> None:
    text = "services:\n  web:\n    image: x\n    command: sh -c 'echo \"a b\"' c\\ d\n"
    assert service(text, tmp_path)["command"] == ["sh", "-c", 'echo "a b"', "c d"]


def test_unbalanced_quote_in_command_is_located(tmp_path: Path) -> None:
    err = error("services:\n  web:\n    image: x\n    command: echo 'oops\n", tmp_path)
    assert err.path == "services.web.command"
    assert err.location is not None and err.location.line == 4


def test_healthcheck_string_becomes_cmd_shell_and_durations_go_format(tmp_path: Path) -> None:
    text = "services:\n  web:\n    image: x\n    healthcheck:\n      test: curl -f x\n      interval: 90s\n"
    assert service(text, tmp_path)["healthcheck"] == {"test": ["CMD-SHELL", "curl -f x"], "interval": "1m30s"}


def test_invalid_duration_is_located_with_accepted_forms(tmp_path: Path) -> None:
    err = error("services:\n  web:\n    image: x\n    stop_grace_period: 10 seconds\n", tmp_path)
    assert err.path == "services.web.stop_grace_period"
    assert err.hint and "1m30s" in err.hint


def test_byte_sizes_print_as_byte_counts(tmp_path: Path) -> None:
    text = "services:\n  web:\n    image: x\n    shm_size: 512m\n    mem_limit: 1g\n"
    svc = service(text, tmp_path)
    assert (svc["shm_size"], svc["mem_limit"]) == ("536870912", "1073741824")


# --- build, depends_on, secrets ----------------------------------------------------------------


def test_build_string_becomes_context_and_default_dockerfile(tmp_path: Path) -> None:
    assert project("services:\n  web:\n    build: ./app\n", tmp_path)["services"]["web"]["build"] == {
        "context": str(tmp_path / "app"),
        "dockerfile": "Dockerfile",
    }


def test_remote_build_context_is_not_made_a_path(tmp_path: Path) -> None:
    url = "https://github.com/docker/rootfs.git#master"
    assert service(f"services:\n  web:\n    build: {url}\n", tmp_path)["build"]["context"] == url


def test_depends_on_defaults(tmp_path: Path) -> None:
    db = "  db:\n    image: y\n"
    text = "services:\n  web:\n    image: x\n    depends_on:\n      db:\n        condition: service_healthy\n" + db
    web = project(text, tmp_path)["services"]["web"]
    assert web["depends_on"] == {"db": {"condition": "service_healthy", "required": True}}
    text = "services:\n  web:\n    image: x\n    depends_on: [db]\n" + db
    web = project(text, tmp_path)["services"]["web"]
    assert web["depends_on"] == {"db": {"condition": "service_started", "required": True}}


def test_mapping_defaults_wait_for_the_merge(tmp_path: Path) -> None:
    """An override file that only adds build args or a restart flag must not reset what the
    file it overrides says (context, dockerfile, condition): no defaults per file."""
    text = "services:\n  web:\n    build:\n      args: {A: 1}\n    depends_on:\n      db:\n        restart: true\n"
    web = service(text, tmp_path)
    assert web["build"] == {"args": {"A": "1"}}
    assert web["depends_on"] == {"db": {"restart": True}}


def test_dependency_without_condition_after_the_merge_is_located(tmp_path: Path) -> None:
    text = "services:\n  web:\n    image: x\n    depends_on:\n      db:\n        restart: true\n  db:\n    image: y\n"
    err = error(text, tmp_path, final=True)
    assert err.path == "services.web.depends_on.db"
    assert "condition" in err.message


def test_secret_short_form_targets_run_secrets_and_config_does_not(tmp_path: Path) -> None:
    svc = service("services:\n  web:\n    image: x\n    secrets: [s]\n    configs: [c]\n", tmp_path)
    assert svc["secrets"] == [{"source": "s", "target": "/run/secrets/s"}]
    assert svc["configs"] == [{"source": "c"}]


def test_file_mode_prints_as_octal_text(tmp_path: Path) -> None:
    svc = service("services:\n  web:\n    image: x\n    secrets: [{source: s, mode: 0440}]\n", tmp_path)
    assert svc["secrets"][0]["mode"] == "0440"


def test_top_level_secret_file_is_made_absolute(tmp_path: Path) -> None:
    data = canonical("services: {}\nsecrets:\n  s:\n    file: ./s.txt\n", tmp_path)
    assert data["secrets"]["s"]["file"] == str(tmp_path / "s.txt")


def test_key_paths_are_kept_for_merge_tags(tmp_path: Path) -> None:
    data = canonical("x-a: 1\nservices:\n  web:\n    image: x\n    ports: ['80']\n", tmp_path)
    assert list(data) == ["x-a", "services"]
    assert list(data["services"]["web"]) == ["image", "ports"]


# --- finalize --------------------------------------------------------------------------------


def test_finalize_adds_default_network_names_and_null_command(tmp_path: Path) -> None:
    text = "services:\n  web:\n    image: x\n    volumes: ['data:/d']\nvolumes:\n  data: {}\n  unused: {}\n"
    out = project(text, tmp_path)
    assert out["name"] == "proj"
    assert out["networks"] == {"default": {"name": "proj_default", "ipam": {}}}
    assert out["volumes"] == {"data": {"name": "proj_data"}}  # unused volumes are dropped
    web = out["services"]["web"]
    assert (web["command"], web["entrypoint"], web["networks"]) == (None, None, {"default": None})


def test_external_resources_keep_their_key_as_name(tmp_path: Path) -> None:
    text = "services:\n  web:\n    image: x\n    networks: [n]\nnetworks:\n  n:\n    external: true\n"
    assert project(text, tmp_path)["networks"] == {"n": {"name": "n", "external": True, "ipam": {}}}


def test_env_file_is_folded_into_environment_which_wins(tmp_path: Path) -> None:
    (tmp_path / "app.env").write_text("A=from-file\nB=from-file\n")
    text = "services:\n  web:\n    image: x\n    env_file: app.env\n    environment: {B: explicit}\n"
    web = project(text, tmp_path)["services"]["web"]
    assert web["environment"] == {"A": "from-file", "B": "explicit"}
    assert "env_file" not in web


def test_missing_required_env_file_is_located(tmp_path: Path) -> None:
    err = error("services:\n  web:\n    image: x\n    env_file: [missing.env]\n", tmp_path, final=True)
    assert err.path == "services.web.env_file[0]"
    assert "missing.env" in err.message


def test_missing_optional_env_file_is_skipped(tmp_path: Path) -> None:
    text = "services:\n  web:\n    image: x\n    env_file:\n      - path: missing.env\n        required: false\n"
    assert "environment" not in project(text, tmp_path)["services"]["web"]


def test_network_mode_service_implies_a_dependency(tmp_path: Path) -> None:
    text = "services:\n  app:\n    image: x\n  side:\n    image: x\n    network_mode: service:app\n"
    side = project(text, tmp_path)["services"]["side"]
    assert side["depends_on"] == {"app": {"condition": "service_started", "restart": True, "required": True}}
    assert "networks" not in side


def test_false_flags_and_empty_lists_are_omitted_after_merge(tmp_path: Path) -> None:
    text = "services:\n  web:\n    image: x\n    privileged: false\n    ports: []\n    command: []\n"
    web = project(text, tmp_path)["services"]["web"]
    assert "privileged" not in web and "ports" not in web
    assert web["command"] == []


# --- robustness: whatever the data, only StackFileError comes out ------------------------------

CASE_FILES = sorted((Path(__file__).parent / "cases").glob("*/compose.yaml"))
_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 70000)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(["", "x", "80:80", "./a:/b:ro", "1m", "512m", "a=b", "${X}", "-1", "service:x", "true"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "target", "x-y"]), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            out += _paths(value, (*prefix, index))
    return out


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(CASE_FILES), st.data())
def test_mutated_files_raise_only_stack_file_errors(file: Path, data: st.DataObject) -> None:
    doc, smap = load_yaml_stream(file.read_text(), str(file))[0]  # a case file may hold several documents
    path = data.draw(st.sampled_from(_paths(doc.data)))
    target = doc.data
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = data.draw(_values)
    ctx = TransformContext("proj", str(file.parent), str(file), smap, ENV.get)
    try:
        finalize(canonicalize_file(doc.data, ctx), ctx)
    except StackFileError as e:
        assert e.render()
