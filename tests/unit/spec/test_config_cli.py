"""`stack config` flags, compared with `docker compose config` where Compose defines the answer."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st

from stack.cli.main import cli, main
from stack.plan.hash import service_config_hash
from stack.spec.loader import LoadOptions, load_project
from stack.spec.serialize import dump_yaml

PROJECT = """\
services:
  web:
    image: nginx:1.25
    depends_on: [api]
    networks: [front]
    environment:
      PRICE: "$$5"
  api:
    build: ./api
    depends_on: [db]
    networks: [front, back]
    volumes: [api-data:/data]
  db:
    image: postgres:16
    networks: [back]
    volumes: [db-data:/var/lib/postgresql/data]
  debug:
    image: busybox
    profiles: [debug, tools]
  admin:
    image: adminer
    profiles: [admin]
networks:
  front: {}
  back: {}
volumes:
  api-data: {}
  db-data: {}
"""


@pytest.fixture
def project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "shop"
    directory.mkdir()
    (directory / "compose.yaml").write_text(PROJECT)
    for key in list(os.environ):
        if key.startswith(("STACK_", "COMPOSE_")):
            monkeypatch.delenv(key)
    monkeypatch.chdir(directory)
    return directory


def stack(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The console entry point (with its error handling): exit code, stdout, stderr."""
    with pytest.raises(SystemExit) as info:
        main(list(args))
    captured = capsys.readouterr()
    return int(info.value.code or 0), captured.out, captured.err


def compose(binary: Path, directory: Path, *args: str) -> str:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root")}
    result = subprocess.run(
        [str(binary), *args], cwd=directory, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["config", "--services"],
        ["config", "--volumes"],
        ["config", "--networks"],
        ["config", "--profiles"],
        ["config", "--images"],
        ["--profile", "debug", "config", "--services"],
        ["--profile", "*", "config", "--images"],
    ],
    ids=" ".join,
)
def test_listing_flags_print_what_compose_prints(args: list[str], project_dir: Path, compose_bin: Path) -> None:
    result = stack(*args)
    assert result.exit_code == 0, result.output
    # Compose's order varies from run to run (Go map iteration): compare the lines as sets.
    assert sorted(result.stdout.splitlines()) == sorted(compose(compose_bin, project_dir, *args).splitlines())
    assert result.stdout.endswith("\n")


def test_services_are_listed_dependencies_first(project_dir: Path) -> None:
    assert stack("--profile", "*", "config", "--services").stdout.split() == [
        "admin",
        "db",
        "api",
        "debug",
        "web",
    ]


def test_yaml_output_reads_back_as_compose_yaml(project_dir: Path, compose_bin: Path) -> None:
    result = stack("config")
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout) == yaml.safe_load(compose(compose_bin, project_dir, "config"))
    assert result.stdout.startswith("name: shop\nservices:\n")
    assert "PRICE: $$5" in result.stdout  # a literal $ prints escaped, as Compose does


def test_named_services_print_with_their_dependencies(project_dir: Path, compose_bin: Path) -> None:
    result = stack("config", "--format", "json", "api")
    assert result.exit_code == 0, result.output
    ours = json.loads(result.stdout)
    assert sorted(ours["services"]) == ["api", "db"]
    assert ours == json.loads(compose(compose_bin, project_dir, "config", "--format", "json", "api"))


def test_unknown_named_service_is_a_usage_error(project_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_main(capsys, "config", "nope")
    assert (code, out) == (2, "")
    assert "no such service" in err and "nope" in err


def test_quiet_prints_nothing_and_succeeds(project_dir: Path) -> None:
    result = stack("config", "-q")
    assert (result.exit_code, result.output) == (0, "")


def test_quiet_on_a_bad_file_exits_2_with_a_located_message(
    project_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project_dir / "compose.yaml").write_text("services:\n  web:\n    image: x\n    prots: ['80']\n")
    code, out, err = run_main(capsys, "config", "-q")
    assert (code, out) == (2, "")
    assert "compose.yaml:4:5: services.web.prots: unknown key 'prots'" in err
    assert "did you mean 'ports'?" in err
    assert "Traceback" not in err


def test_output_file(project_dir: Path) -> None:
    result = stack("config", "--format", "json", "-o", "resolved.json")
    assert (result.exit_code, result.output) == (0, "")
    written = json.loads((project_dir / "resolved.json").read_text())
    assert sorted(written["services"]) == ["api", "db", "web"]


def test_hash_lines_use_the_plan_hash(project_dir: Path) -> None:
    result = stack("config", "--hash", "web,db")
    assert result.exit_code == 0, result.output
    project = load_project(LoadOptions(cwd=str(project_dir)))
    assert result.stdout.splitlines() == [
        f"web {service_config_hash(project.services['web'])}",
        f"db {service_config_hash(project.services['db'])}",
    ]
    every = stack("config", "--hash", "*").stdout.splitlines()
    assert [line.split()[0] for line in every] == ["api", "db", "web"]
    assert all(re.fullmatch(r"[a-z]+ [0-9a-f]{64}", line) for line in every)


def test_no_interpolate_keeps_variables(project_dir: Path) -> None:
    (project_dir / "compose.yaml").write_text(
        "services:\n  web:\n    image: ${IMAGE:-nginx}\n    ports: ['${PORT:-80}:80']\n"
    )
    result = stack("config", "--no-interpolate", "--format", "json")
    assert result.exit_code == 0, result.output
    web = json.loads(result.stdout)["services"]["web"]
    assert web["image"] == "${IMAGE:-nginx}"
    assert web["ports"] == ["${PORT:-80}:80"]


def test_config_imports_neither_docker_nor_anyio(project_dir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[3])}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "stack", "config", "-q"],
        cwd=project_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines() if "|" in line}
    assert "stack" in imported
    assert not {"docker", "anyio", "rich", "requests"} & imported


# --- the YAML writer ---------------------------------------------------------------------------

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.text(max_size=30),
    st.sampled_from(
        ["yes", "on", "1.5", "0x1f", "2024-01-01", "- x", "a: b", "#c", "'q'", "::1", "-c", "a\nb\n", " lead"]
    ),
)
_documents = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(min_size=1, max_size=10), inner, max_size=4),
    max_leaves=25,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.text(min_size=1, max_size=10), _documents, min_size=1, max_size=5))
def test_yaml_output_reads_back_to_the_same_data(data: dict[str, object]) -> None:
    assert yaml.safe_load(dump_yaml(data)) == data


def test_yaml_quotes_strings_that_would_read_back_as_other_types() -> None:
    text = dump_yaml({"a": ["80", "true", "yes", "", "null", "1.5", "plain", "-c", "multi\nline"]})
    assert text == (
        'a:\n  - "80"\n  - "true"\n  - "yes"\n  - ""\n  - "null"\n  - "1.5"\n  - plain\n  - -c\n'
        "  - |-\n    multi\n    line\n"
    )
