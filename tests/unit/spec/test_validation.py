"""Every validation error names file, line, column, key path, what is wrong and what is accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from stack.errors import DependencyCycleError, StackFileError
from stack.spec.graph import find_cycle
from stack.spec.sourcemap import SourceMap
from stack.spec.transform import TransformContext, canonicalize_file, finalize
from stack.spec.yamlpos import load_yaml


def load_error(text: str, tmp_path: Path) -> StackFileError:
    file = tmp_path / "compose.yaml"
    smap = SourceMap()
    doc = load_yaml(text, str(file), smap)
    ctx = TransformContext("proj", str(tmp_path), str(file), smap, lambda _name: None)
    with pytest.raises(StackFileError) as info:
        finalize(canonicalize_file(doc.data, ctx), ctx)
    return info.value


def where(err: StackFileError) -> tuple[int | None, int | None]:
    assert err.location is not None
    assert err.location.file.endswith("compose.yaml")
    return err.location.line, err.location.column


# --- unknown keys and types (schema) ---------------------------------------------------------


def test_unknown_service_key_suggests_the_close_one(tmp_path: Path) -> None:
    err = load_error("services:\n  api:\n    image: x\n    enviroment:\n      A: 1\n", tmp_path)
    assert err.path == "services.api.enviroment"
    assert where(err) == (4, 5)
    assert "unknown key 'enviroment'" in err.message
    assert err.hint is not None and "did you mean 'environment'?" in err.hint
    assert "x-" in err.hint  # says what is accepted for custom keys


def test_unknown_top_level_key(tmp_path: Path) -> None:
    err = load_error("services:\n  api:\n    image: x\nvolumnes: {}\n", tmp_path)
    assert err.path == "volumnes"
    assert where(err) == (4, 1)
    assert err.hint is not None and "'volumes'" in err.hint


def test_x_keys_are_accepted_anywhere_extensions_are(tmp_path: Path) -> None:
    text = "x-top: 1\nservices:\n  api:\n    image: x\n    x-mine: {a: 1}\n    enviroment: {}\n"
    # The only error is the misspelt key, not the x- ones.
    assert load_error(text, tmp_path).path == "services.api.enviroment"


def test_wrong_type_says_what_is_accepted(tmp_path: Path) -> None:
    err = load_error("services:\n  api:\n    image: x\n    ports:\n      http: 80\n", tmp_path)
    assert err.path == "services.api.ports"
    assert where(err)[0] == 5 or where(err)[0] == 4
    assert "must be a list" in err.message


def test_replicas_as_a_word_is_a_type_error(tmp_path: Path) -> None:
    err = load_error("services:\n  api:\n    image: x\n    deploy:\n      replicas: two\n", tmp_path)
    assert err.path == "services.api.deploy.replicas"
    assert where(err)[0] == 5
    assert "must be an integer" in err.message and "'two'" in err.message


def test_invalid_depends_on_condition_lists_the_accepted_values(tmp_path: Path) -> None:
    text = (
        "services:\n  api:\n    image: x\n    depends_on:\n      db:\n        condition: healthy\n  db:\n    image: y\n"
    )
    err = load_error(text, tmp_path)
    assert err.path == "services.api.depends_on.db.condition"
    assert where(err)[0] == 6
    assert err.hint is not None and "service_healthy" in err.hint


def test_duration_must_be_a_string(tmp_path: Path) -> None:
    err = load_error("services:\n  api:\n    image: x\n    healthcheck:\n      interval: 30\n", tmp_path)
    assert err.path == "services.api.healthcheck.interval"
    assert "must be a string" in err.message


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    err = load_error("- just\n- a list\n", tmp_path)
    assert "mapping" in err.message


def test_invalid_service_name(tmp_path: Path) -> None:
    err = load_error("services:\n  'my app':\n    image: x\n", tmp_path)
    assert err.path == "services.my app"
    assert err.hint is not None and "letters, digits" in err.hint


# --- references ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "path", "what"),
    [
        (
            "services:\n  a:\n    image: x\n    depends_on: [dbb]\n  db:\n    image: y\n",
            "services.a.depends_on.dbb",
            "service 'dbb'",
        ),
        ("services:\n  a:\n    image: x\n    networks: [front]\n", "services.a.networks.front", "network 'front'"),
        ("services:\n  a:\n    image: x\n    volumes: ['data:/d']\n", "services.a.volumes[0]", "volume 'data'"),
        ("services:\n  a:\n    image: x\n    secrets: [token]\n", "services.a.secrets[0]", "secret 'token'"),
        ("services:\n  a:\n    image: x\n    configs: [conf]\n", "services.a.configs[0]", "config 'conf'"),
    ],
)
def test_reference_to_something_undefined(text: str, path: str, what: str, tmp_path: Path) -> None:
    err = load_error(text, tmp_path)
    assert err.path == path
    assert f"undefined {what}" in err.message
    assert where(err)[0] == 4
    assert err.hint


def test_undefined_dependency_suggests_the_close_name(tmp_path: Path) -> None:
    err = load_error("services:\n  a:\n    image: x\n    depends_on: [dbb]\n  db:\n    image: y\n", tmp_path)
    assert err.hint == "did you mean 'db'?"


def test_dependency_cycle_names_the_cycle(tmp_path: Path) -> None:
    text = (
        "services:\n  a:\n    image: x\n    depends_on: [b]\n"
        "  b:\n    image: x\n    depends_on: [c]\n  c:\n    image: x\n    depends_on: [a]\n"
    )
    err = load_error(text, tmp_path)
    assert isinstance(err, DependencyCycleError)
    assert "a -> b -> c -> a" in err.message
    assert err.path == "services.a.depends_on"
    assert where(err)[0] == 4


def test_container_name_with_replicas(tmp_path: Path) -> None:
    text = "services:\n  a:\n    image: x\n    container_name: fixed\n    deploy:\n      replicas: 2\n"
    err = load_error(text, tmp_path)
    assert err.path == "services.a.container_name"
    assert where(err)[0] == 4
    assert "2 replicas" in err.message


def test_scale_and_replicas_disagree(tmp_path: Path) -> None:
    text = "services:\n  a:\n    image: x\n    scale: 2\n    deploy:\n      replicas: 3\n"
    err = load_error(text, tmp_path)
    assert err.path == "services.a.scale"
    assert "scale (2)" in err.message and "deploy.replicas (3)" in err.message


def test_service_without_image_or_build(tmp_path: Path) -> None:
    err = load_error("services:\n  a:\n    command: echo\n", tmp_path)
    assert err.path == "services.a"
    assert where(err)[0] == 2
    assert "neither an image nor a build" in err.message


def test_mem_limit_and_deploy_memory_disagree(tmp_path: Path) -> None:
    text = (
        "services:\n  a:\n    image: x\n    mem_limit: 1g\n"
        "    deploy:\n      resources:\n        limits:\n          memory: 512m\n"
    )
    err = load_error(text, tmp_path)
    assert err.path == "services.a.mem_limit"
    assert "1073741824" in err.message and "536870912" in err.message


def test_required_dependency_on_a_profile_disabled_service(tmp_path: Path) -> None:
    file = tmp_path / "compose.yaml"
    smap = SourceMap()
    doc = load_yaml("services:\n  a:\n    image: x\n    depends_on: [dbg]\n", str(file), smap)
    ctx = TransformContext("proj", str(tmp_path), str(file), smap, lambda _name: None)
    with pytest.raises(StackFileError) as info:
        finalize(canonicalize_file(doc.data, ctx), ctx, disabled={"dbg"})
    assert "disabled by its profiles" in info.value.message
    assert info.value.hint is not None and "--profile" in info.value.hint


# --- graph -----------------------------------------------------------------------------------


def test_find_cycle() -> None:
    assert find_cycle({"a": ["b"], "b": ["c"], "c": []}) is None
    assert find_cycle({"a": ["a"]}) == ["a", "a"]
    assert find_cycle({"web": ["db"], "db": ["cache"], "cache": ["db"]}) == ["cache", "db", "cache"]
    assert find_cycle({"a": ["missing"]}) is None


def test_find_cycle_is_deterministic_and_handles_deep_chains() -> None:
    chain = {f"s{i}": [f"s{i + 1}"] for i in range(5000)}
    chain["s5000"] = ["s0"]
    cycle = find_cycle(chain)
    assert cycle is not None and cycle[0] == cycle[-1] == "s0" and len(cycle) == 5002


def test_invalid_restart_policy_is_caught_before_the_daemon(tmp_path: Path) -> None:
    err = load_error("services:\n  api:\n    image: x\n    restart: sometimes\n", tmp_path)
    assert err.path == "services.api.restart"
    assert where(err) == (4, 5)
    assert err.hint is not None and "unless-stopped" in err.hint


def test_value_outside_the_schema_pattern(tmp_path: Path) -> None:
    err = load_error("services:\n  api:\n    image: x\n    pull_policy: sometimes\n", tmp_path)
    assert err.path == "services.api.pull_policy"
    assert err.hint is not None and "if_not_present" in err.hint


def test_missing_required_key_says_what_to_add(tmp_path: Path) -> None:
    text = "services:\n  api:\n    image: x\n    depends_on:\n      db:\n        required: false\n"
    err = load_error(text, tmp_path)
    assert err.path == "services.api.depends_on.db"
    assert err.hint is not None and "condition" in err.hint and "service_healthy" in err.hint


def test_string_flags_and_counts_become_booleans_and_integers(tmp_path: Path) -> None:
    file = tmp_path / "compose.yaml"
    smap = SourceMap()
    text = "services:\n  api:\n    image: x\n    privileged: 'true'\n    scale: '2'\n    init: 'false'\n"
    doc = load_yaml(text, str(file), smap)
    ctx = TransformContext("proj", str(tmp_path), str(file), smap, lambda _name: None)
    api = canonicalize_file(doc.data, ctx)["services"]["api"]
    assert (api["privileged"], api["scale"], api["init"]) == (True, 2, False)


def test_string_that_is_not_a_boolean_is_located(tmp_path: Path) -> None:
    err = load_error("services:\n  api:\n    image: x\n    privileged: maybe\n", tmp_path)
    assert err.path == "services.api.privileged"
    assert "must be a boolean" in err.message
